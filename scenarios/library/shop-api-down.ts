import { itemsOf } from '../catalog.js';
import { defineScenario } from '../types.js';

export const scenario = defineScenario({
  id: 'shop-api-down',
  name: 'Shop API down',
  description:
    'The shop API stops answering (its load balancer drops every connection) while a routine price update arrives. No code change can fix an outage: the system must raise it and patch nothing.',
  class: 'dependency-down',
  expected: 'escalated',
  diagnoses: [{ fault_class: 'dependency-down' }],
  dependency: 'down',
  pushes: () => [
    {
      items: itemsOf('footwear', { offset: 50, count: 30 }).map((item) => ({
        ...item,
        price: Math.round(item.price * 0.9 * 100) / 100,
      })),
    },
  ],
  affected: () => [],
});
