import { itemsOf, skusOf, without } from '../catalog.js';
import { defineScenario } from '../types.js';

const items = () => itemsOf('clearance', { offset: 50, count: 40 });

export const scenario = defineScenario({
  id: 'rename-and-retype-in-one-push',
  name: 'Two faults in one push',
  description:
    'One upstream push carries two faults for 40 clearance items: title is renamed to name and stock arrives as text. Both must be diagnosed separately and both fixed.',
  class: 'multiple',
  expected: 'healed',
  diagnoses: [
    { fault_class: 'renamed-field', field: 'title' },
    { fault_class: 'type-drift', field: 'stock' },
  ],
  pushes: () => [
    {
      items: items(),
      fault: (item) => ({ ...without(item, 'title'), name: item.title, stock: String(item.stock) }),
    },
  ],
  affected: () => skusOf(items()),
});
