import { itemsOf, skusOf, without } from '../catalog.js';
import { defineScenario } from '../types.js';

const items = () => itemsOf('home', { offset: 50, count: 50 });

export const scenario = defineScenario({
  id: 'price-moved-to-pricing',
  name: 'Price moved into pricing.amount',
  description:
    'The upstream catalog moves price into a nested pricing.amount for 50 home items (a new pricing block). The sync still reads price at the top level and stores records with no price.',
  class: 'moved-field',
  expected: 'healed',
  diagnoses: [{ fault_class: 'moved-field', field: 'price' }],
  pushes: () => [
    {
      items: items(),
      fault: (item) => ({ ...without(item, 'price'), pricing: { amount: item.price } }),
    },
  ],
  affected: () => skusOf(items()),
});
