import type { StageCore } from '../runtime/stage-handler.js';

/**
 * Stage `validator`: validates records the target wrote against its contract. This release consumes and traces its input without acting on it; the
 * step is recorded as `skipped` so the timeline says so instead of pretending.
 */
export const validatorCore: StageCore<'target.write'> = async (event) => ({
  status: 'skipped',
  outputs: [],
  detail: { reason: 'stage not implemented in this release', type: event.type },
});
