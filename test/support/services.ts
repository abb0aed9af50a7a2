import net from 'node:net';

/** True when the suite runs under CI, where no integration test may skip. */
export const isCI = process.env.CI === 'true';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const TEST_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const HOW_TO_START: Record<string, string> = {
  redis: "redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save '' --appendonly no",
  postgres: 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
};

function portAnswers(url: string, timeoutMs = 1000): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Resolves true when the service answers. Outside CI a missing service skips the suite (and
 * says so); under `CI=true` it throws, so a missing server is a red run, never a silent skip.
 */
export async function requireService(name: 'redis' | 'postgres'): Promise<boolean> {
  const url = name === 'redis' ? TEST_REDIS_URL : TEST_DATABASE_URL;
  if (await portAnswers(url)) return true;
  const message = `${name} is not answering at ${url}; start it with: ${HOW_TO_START[name]}`;
  if (isCI) throw new Error(`CI requires ${name}: ${message}`);
  console.warn(`[skip] integration tests for ${name} skipped outside CI: ${message}`);
  return false;
}

/** A unique, readable prefix so parallel test files never share streams, tables or keys. */
export const uniqueName = (prefix: string): string =>
  `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
