import { itemsOf, skusOf } from '../catalog.js';
import { defineScenario } from '../types.js';

const items = () =>
  itemsOf('home', { count: 50 }).map((item) => ({
    ...item,
    price: Math.round(item.price * 1.1 * 100) / 100,
  }));

export const scenario = defineScenario({
  id: 'currency-dropped-by-release',
  name: 'Currency dropped by a sync release',
  description:
    'Release R3 of the catalog sync stops copying currency ("the storefront shows its own currency"). A routine price update for 50 home items then stores records without a currency, which product pages and the returns check reject.',
  class: 'dropped-field',
  expected: 'healed',
  diagnoses: [{ fault_class: 'dropped-field', field: 'currency' }],
  release: 'R3',
  pushes: () => [{ items: items() }],
  affected: () => skusOf(items()),
});
