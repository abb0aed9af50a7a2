import { itemsOf, skusOf } from '../catalog.js';
import { defineScenario } from '../types.js';

const items = () => itemsOf('electronics', { offset: 45, count: 30 });

export const scenario = defineScenario({
  id: 'price-as-string',
  name: 'Price sent as text',
  description:
    'A currency-formatting change upstream sends price as text ("19.99") for 30 electronics items. Stored as text, the price breaks the contract and every check that compares amounts.',
  class: 'type-drift',
  expected: 'healed',
  diagnoses: [{ fault_class: 'type-drift', field: 'price' }],
  pushes: () => [{ items: items(), fault: (item) => ({ ...item, price: String(item.price) }) }],
  affected: () => skusOf(items()),
});
