import { itemsOf, skusOf, without } from '../catalog.js';
import { defineScenario } from '../types.js';

const items = () => itemsOf('outdoor', { offset: 40, count: 40 });

export const scenario = defineScenario({
  id: 'stock-renamed-to-quantity',
  name: 'Stock renamed to quantity upstream',
  description:
    'A new warehouse feed sends the stock level of 40 outdoor items as quantity instead of stock. The sync stores them with no stock, so they can neither be shown as available nor checked for returns.',
  class: 'renamed-field',
  expected: 'healed',
  diagnoses: [{ fault_class: 'renamed-field', field: 'stock' }],
  pushes: () => [
    { items: items(), fault: (item) => ({ ...without(item, 'stock'), quantity: item.stock }) },
  ],
  affected: () => skusOf(items()),
});
