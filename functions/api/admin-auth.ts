import { timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';

const equalTokens = (given: string, expected: string): boolean => {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
};

/**
 * Admin actions need `Authorization: Bearer <SELFHEAL_ADMIN_TOKEN>`. A missing or wrong token is
 * a 401 that says which, never a silent failure.
 */
export const requireAdmin =
  (token: string): MiddlewareHandler =>
  async (c, next) => {
    const header = c.req.header('authorization');
    if (!header) {
      return c.json(
        {
          error: 'unauthorized',
          message: 'admin action: send Authorization: Bearer <admin token>',
        },
        401,
      );
    }
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (!match?.[1] || !equalTokens(match[1], token)) {
      return c.json({ error: 'unauthorized', message: 'admin token is wrong or expired' }, 401);
    }
    await next();
  };
