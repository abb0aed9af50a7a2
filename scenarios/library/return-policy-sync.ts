import { FLAGSHIP_ORDER_ID } from '../../functions/shop/orders.js';
import { FLAGSHIP_SKU } from '../../functions/shop/seed.js';
import { itemsOf, skusOf } from '../catalog.js';
import { defineScenario } from '../types.js';

const items = () =>
  itemsOf('clearance').map((item) => ({
    ...item,
    return_policy: { type: 'final_sale' as const, window_days: 0 },
  }));

export const scenario = defineScenario({
  id: 'return-policy-sync',
  name: 'Return policy dropped by a sync refactor',
  description:
    'Release R2 of the catalog sync, a refactor, stops mapping return_policy; the nightly push then makes every clearance item final sale. Records lose their return policy and the returns eligibility check fails for shoppers.',
  class: 'dropped-field',
  expected: 'healed',
  diagnoses: [{ fault_class: 'dropped-field', field: 'return_policy' }],
  release: 'R2',
  pushes: () => [{ items: items() }],
  calls: [{ order_id: FLAGSHIP_ORDER_ID, sku: FLAGSHIP_SKU }],
  affected: () => skusOf(items()),
});
