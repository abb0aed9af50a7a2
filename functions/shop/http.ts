import { Hono } from 'hono';
import { z } from 'zod';
import type { RecordIssue } from './contract.js';
import { findOrder, type Order } from './orders.js';
import type { ProductStore } from './product-store.js';
import { checkReturnEligibility, EligibilityRequestSchema, eligibilityAnswer } from './returns.js';

/** What the shop's API reports when a stored record breaks the contract. */
export interface SchemaMismatchReport {
  readonly sku: string;
  readonly field: string;
  readonly issues: readonly RecordIssue[];
  readonly request: { method: 'POST'; path: string; body: unknown };
  readonly release_id: string | undefined;
  readonly status: number;
}

export interface ShopApiHooks {
  /** Called for every 5xx caused by a broken record, with the request captured for replay. */
  readonly onSchemaMismatch?: (report: SchemaMismatchReport) => Promise<void>;
  readonly now?: () => Date;
}

/**
 * What the shop's API reads: its records, its orders and the id of the active release (for
 * reports). A `ShopService` is one; the verification sandbox passes records held in memory.
 */
export interface ShopApiBackend {
  readonly records: Pick<ProductStore, 'get' | 'list'>;
  readonly orders: readonly Order[];
  readonly deployer: {
    active(): { readonly release: { readonly id: string } } | undefined;
  };
}

const ListQuerySchema = z.object({
  category: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(1_000).default(50),
});

const badRequest = (field: string, message: string) => ({
  error: 'bad_request',
  field,
  message: `${field}: ${message}`,
});

/**
 * The demo shop's HTTP API under `/shop`: product reads and the returns eligibility check,
 * which validates the stored record against the contract before it answers.
 */
export function createShopApi(shop: ShopApiBackend, hooks: ShopApiHooks = {}): Hono {
  const app = new Hono();
  const now = hooks.now ?? (() => new Date());

  app.get('/products', async (c) => {
    const parsed = ListQuerySchema.safeParse(c.req.query());
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return c.json(
        badRequest(String(issue?.path[0] ?? 'query'), issue?.message ?? 'invalid'),
        400,
      );
    }
    const products = await shop.records.list(parsed.data);
    return c.json({ products: products.map((p) => p.record) });
  });

  app.get('/products/:sku', async (c) => {
    const sku = c.req.param('sku');
    const product = await shop.records.get(sku);
    if (!product) return c.json({ error: 'ProductNotFound', sku }, 404);
    return c.json(product.record as Record<string, unknown>);
  });

  app.post('/returns/eligibility', async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return c.json(badRequest('body', 'malformed JSON'), 400);
    }
    const parsed = EligibilityRequestSchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return c.json(badRequest(String(issue?.path.join('.') || 'body'), issue?.message ?? ''), 400);
    }
    const request = parsed.data;
    const product = await shop.records.get(request.sku);
    const result = checkReturnEligibility({
      request,
      record: product?.record,
      order: findOrder(shop.orders, request.order_id),
      now: now(),
    });
    const answer = eligibilityAnswer(result);
    if (!result.ok && result.kind === 'SchemaMismatch' && hooks.onSchemaMismatch) {
      await hooks.onSchemaMismatch({
        sku: result.sku,
        field: result.field,
        issues: result.issues,
        request: { method: 'POST', path: '/shop/returns/eligibility', body: request },
        release_id: shop.deployer.active()?.release.id,
        status: answer.status,
      });
    }
    return c.json(answer.body, answer.status as 200);
  });

  return app;
}
