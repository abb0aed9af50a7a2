import type { CatalogItem } from '../../functions/shop/catalog.js';
import { SEED_CATEGORIES } from '../../functions/shop/seed.js';
import { itemsOf, newItems } from '../catalog.js';
import { defineScenario } from '../types.js';

const items = (): CatalogItem[] => [
  ...SEED_CATEGORIES.flatMap((category) => itemsOf(category)).map((item) => ({
    ...item,
    stock: item.stock + 1,
  })),
  ...newItems(4_400),
];

export const scenario = defineScenario({
  id: 'control-5000-items',
  name: 'Control: 5,000-item push',
  description:
    'No fault. A full re-export of the catalog: 5,000 items, the 600 known ones with fresh stock and 4,400 new ones. Volume alone is not a fault: nothing must be raised or patched.',
  class: 'none',
  expected: 'none',
  diagnoses: [],
  pushes: () => [{ items: items() }],
  affected: () => [],
  timeoutMs: 60_000,
});
