/**
 * What the browser build sees for `node:crypto`. The shared event registry (`events/`) imports
 * it to derive and create event ids, which only the server does; the dashboard only parses.
 * Aliased in `web/vite.config.ts`, so the registry stays one module for both sides.
 */
export function randomUUID(): string {
  return globalThis.crypto.randomUUID();
}

/** Hashing is server-side only: deriving event ids never happens in the dashboard. */
export function createHash(): never {
  throw new Error('createHash is not available in the browser');
}
