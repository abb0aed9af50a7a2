import { Hono } from 'hono';
import type { SandboxTarget, TargetRequest, TargetResponse } from '../target/define-target.js';
import { createShopApi } from './http.js';
import { shopTarget } from './manifest.js';
import { MemoryProductStore } from './memory-product-store.js';
import { seedOrders } from './orders.js';

/**
 * The demo shop inside the verification sandbox: its real API (the same Hono routes, mounted
 * under `/shop` as the local app mounts them) answering from records held in memory, with the
 * orders fixture and the clock fixed at the run's `now`.
 *
 * It is bundled alone into the sandbox harness, so it imports no esbuild, database, file system,
 * child process or healing-system module.
 *
 * @example
 * ```ts
 * const handle = shopSandbox.serve({ records: new Map([['SKU-1001', record]]), now });
 * const { status, body } = await handle({ method: 'GET', path: '/shop/products/SKU-1001' });
 * ```
 */
export const shopSandbox: SandboxTarget = {
  manifest: shopTarget,
  serve({ records, now }) {
    const store = new MemoryProductStore();
    const filled = store.put([...records].map(([sku, record]) => ({ sku, record })));
    const api = createShopApi(
      { records: store, orders: seedOrders({ now }), deployer: { active: () => undefined } },
      { now: () => now },
    );
    const app = new Hono().route('/shop', api);

    return async (request: TargetRequest): Promise<TargetResponse> => {
      await filled;
      const hasBody = request.body !== undefined;
      const response = await app.request(request.path, {
        method: request.method,
        ...(hasBody
          ? {
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify(request.body),
            }
          : {}),
      });
      return { status: response.status, body: parseBody(await response.text()) };
    };
  },
};

/** The response body as JSON, or as text when it is not JSON; `undefined` when empty. */
function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
