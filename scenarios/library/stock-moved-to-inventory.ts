import { itemsOf, skusOf, without } from '../catalog.js';
import { defineScenario } from '../types.js';

const items = () => itemsOf('electronics', { count: 45 });

export const scenario = defineScenario({
  id: 'stock-moved-to-inventory',
  name: 'Stock moved into inventory.available',
  description:
    'The upstream catalog nests the stock level of 45 electronics items under inventory.available. The sync reads the old top-level stock and stores records without it.',
  class: 'moved-field',
  expected: 'healed',
  diagnoses: [{ fault_class: 'moved-field', field: 'stock' }],
  pushes: () => [
    {
      items: items(),
      fault: (item) => ({ ...without(item, 'stock'), inventory: { available: item.stock } }),
    },
  ],
  affected: () => skusOf(items()),
});
