import { defineTarget } from '../target/define-target.js';
import { resyncThroughMapper } from '../target/resync.js';
import { CatalogItemSchema } from './catalog.js';
import { ProductRecordSchema } from './contract.js';
import { SHOP_MAPPER_FILE } from './mapper-file.js';
import { FLAGSHIP_ORDER_ID, ordersContaining, seedOrders } from './orders.js';
import { EligibilityResponseSchema } from './returns.js';
import { FLAGSHIP_SKU } from './seed.js';

/** The orders fixture at one clock reading; probes for many SKUs at one moment share it. */
let ordersAt: { readonly at: number; readonly orders: ReturnType<typeof seedOrders> } | undefined;
const ordersOf = (now: Date) => {
  if (ordersAt?.at !== now.getTime()) {
    ordersAt = { at: now.getTime(), orders: seedOrders({ now }) };
  }
  return ordersAt.orders;
};

/**
 * The demo shop as the healing system sees it.
 *
 * Its API, served under `/shop`: `GET /shop/products/:sku` answers the stored record itself, and
 * `POST /shop/returns/eligibility {order_id, sku}` answers `{ eligible, reason, window_days }`
 * (see `eligibilityAnswer` in `returns.ts` for every status).
 */
export const shopTarget = defineTarget({
  name: 'demo-shop',
  sourceRoot: 'functions/shop',
  patchable: [SHOP_MAPPER_FILE],
  // The thermometer, not the fever: what decides a record is broken must never be patched.
  protectedFiles: [
    'functions/shop/contract.ts',
    'functions/shop/catalog.ts',
    'functions/shop/returns.ts',
    'functions/shop/manifest.ts',
    'functions/validator/**',
    'test/**',
    '**/*.test.ts',
  ],
  sandbox: { file: 'functions/shop/sandbox.ts', export: 'shopSandbox' },
  mapper: { file: SHOP_MAPPER_FILE, export: 'toProductRecord' },
  recordContract: ProductRecordSchema,
  catalogItemContract: CatalogItemSchema,
  probes: [
    {
      name: 'returns-eligibility',
      // Only a SKU someone ordered can be asked about; the first such order is enough.
      request: (sku, ctx) => {
        const order = ordersContaining(ordersOf(ctx.now), sku)[0];
        if (!order) return undefined;
        return {
          method: 'POST',
          path: '/shop/returns/eligibility',
          body: { order_id: order.order_id, sku },
        };
      },
      responseContract: EligibilityResponseSchema,
      expectStatus: 200,
    },
    {
      name: 'product-read',
      request: (sku) => ({ method: 'GET', path: `/shop/products/${encodeURIComponent(sku)}` }),
      responseContract: ProductRecordSchema,
      expectStatus: 200,
    },
  ],
  smokeCases: [
    {
      name: 'reads the flagship product',
      skus: [FLAGSHIP_SKU],
      request: { method: 'GET', path: `/shop/products/${FLAGSHIP_SKU}` },
      expect: { status: 200, contract: ProductRecordSchema },
    },
    {
      // Whatever the flagship item's policy is today, the check must answer within contract.
      name: 'answers the flagship eligibility check within contract',
      skus: [FLAGSHIP_SKU],
      request: {
        method: 'POST',
        path: '/shop/returns/eligibility',
        body: { order_id: FLAGSHIP_ORDER_ID, sku: FLAGSHIP_SKU },
      },
      expect: { status: 200, contract: EligibilityResponseSchema },
    },
    {
      name: 'answers 404 for an unknown order',
      skus: [FLAGSHIP_SKU],
      request: {
        method: 'POST',
        path: '/shop/returns/eligibility',
        body: { order_id: 'no-such-order', sku: FLAGSHIP_SKU },
      },
      expect: { status: 404 },
    },
  ],
  resync: resyncThroughMapper(ProductRecordSchema),
  deployer: 'local',
});
