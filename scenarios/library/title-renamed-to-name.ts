import { itemsOf, skusOf, without } from '../catalog.js';
import { defineScenario } from '../types.js';

const items = () => itemsOf('apparel', { count: 60 });

export const scenario = defineScenario({
  id: 'title-renamed-to-name',
  name: 'Title renamed to name upstream',
  description:
    'The upstream catalog renames title to name for 60 apparel items without notice. The sync keeps reading title, so those products are stored without a title.',
  class: 'renamed-field',
  expected: 'healed',
  diagnoses: [{ fault_class: 'renamed-field', field: 'title' }],
  pushes: () => [
    { items: items(), fault: (item) => ({ ...without(item, 'title'), name: item.title }) },
  ],
  affected: () => skusOf(items()),
});
