import { itemsOf, skusOf } from '../catalog.js';
import { defineScenario } from '../types.js';

const items = () => itemsOf('apparel', { offset: 60, count: 30 });

export const scenario = defineScenario({
  id: 'return-policy-exchange-only',
  name: 'Unknown return policy: exchange only',
  description:
    'A regional catalog sends an exchange_only return policy for 30 apparel items, a type outside the contract. The right mapping is a policy decision: the fault must be raised for a person and nothing patched.',
  class: 'enum-drift',
  expected: 'escalated',
  diagnoses: [{ fault_class: 'enum-drift', field: 'return_policy' }],
  pushes: () => [
    {
      items: items(),
      fault: (item) => ({
        ...item,
        return_policy: { type: 'exchange_only', window_days: item.return_policy.window_days },
      }),
    },
  ],
  affected: () => skusOf(items()),
});
