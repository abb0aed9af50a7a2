import { itemsOf, skusOf } from '../catalog.js';
import { defineScenario } from '../types.js';

const items = () => itemsOf('outdoor', { count: 40 });

export const scenario = defineScenario({
  id: 'return-policy-store-credit',
  name: 'Unknown return policy: store credit',
  description:
    'Merchandising introduces a store_credit return policy type for 40 outdoor items that the shop does not know. Which known policy it should map to is a business decision, so the system must raise it and wait for a person, not guess.',
  class: 'enum-drift',
  expected: 'escalated',
  diagnoses: [{ fault_class: 'enum-drift', field: 'return_policy' }],
  pushes: () => [
    {
      items: items(),
      fault: (item) => ({ ...item, return_policy: { type: 'store_credit', window_days: 30 } }),
    },
  ],
  affected: () => skusOf(items()),
});
