import { itemsOf, skusOf } from '../catalog.js';
import { defineScenario } from '../types.js';

const items = () => itemsOf('footwear', { count: 50 });

export const scenario = defineScenario({
  id: 'stock-as-string',
  name: 'Stock sent as text',
  description:
    'A CSV-based import starts sending stock as text ("12" instead of 12) for 50 footwear items. The sync copies the text, and the records break the contract that stock is a whole number.',
  class: 'type-drift',
  expected: 'healed',
  diagnoses: [{ fault_class: 'type-drift', field: 'stock' }],
  pushes: () => [{ items: items(), fault: (item) => ({ ...item, stock: String(item.stock) }) }],
  affected: () => skusOf(items()),
});
