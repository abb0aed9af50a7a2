import { newItems } from '../catalog.js';
import { defineScenario } from '../types.js';

export const scenario = defineScenario({
  id: 'control-new-skus',
  name: 'Control: 200 new SKUs',
  description:
    'No fault. The catalog launches 200 new SKUs across every category. New products are not damage: nothing must be raised or patched.',
  class: 'none',
  expected: 'none',
  diagnoses: [],
  pushes: () => [{ items: newItems(200) }],
  affected: () => [],
});
