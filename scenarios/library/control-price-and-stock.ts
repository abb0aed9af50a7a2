import { itemsOf } from '../catalog.js';
import { defineScenario } from '../types.js';

export const scenario = defineScenario({
  id: 'control-price-and-stock',
  name: 'Control: price and stock changes',
  description:
    'No fault. A daily update changes prices and stock levels of every electronics and footwear item. Values move, no contract breaks: nothing must be raised or patched.',
  class: 'none',
  expected: 'none',
  diagnoses: [],
  pushes: () => [
    {
      items: [...itemsOf('electronics'), ...itemsOf('footwear')].map((item, index) => ({
        ...item,
        price: Math.round(item.price * (index % 2 === 0 ? 1.08 : 0.95) * 100) / 100,
        stock: index % 7 === 0 ? 0 : item.stock + (index % 5),
      })),
    },
  ],
  affected: () => [],
});
