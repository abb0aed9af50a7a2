import { itemsOf } from '../catalog.js';
import { defineScenario } from '../types.js';

export const scenario = defineScenario({
  id: 'control-optional-field',
  name: 'Control: new optional fields',
  description:
    'No fault. The upstream starts sending a brand and tags for every home item, fields the shop does not use. Extra data the contract does not need must not be treated as a fault.',
  class: 'none',
  expected: 'none',
  diagnoses: [],
  pushes: () => [
    {
      items: itemsOf('home').map((item) => ({
        ...item,
        brand: `Brand ${item.sku.slice(-2)}`,
        tags: ['new-season'],
      })),
    },
  ],
  affected: () => [],
});
