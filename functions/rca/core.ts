import type { StageCore } from '../runtime/stage-handler.js';

/**
 * Stage `rca`: joins signals, deltas and releases into a diagnosis. This release consumes and traces its input without acting on it; the
 * step is recorded as `skipped` so the timeline says so instead of pretending.
 */
export const rcaCore: StageCore<'signal'> = async (event) => ({
  status: 'skipped',
  outputs: [],
  detail: { reason: 'stage not implemented in this release', type: event.type },
});
