import type { StageCore } from '../runtime/stage-handler.js';

/**
 * Stage `probe`: calls the target's API for the SKUs that changed. This release consumes and traces its input without acting on it; the
 * step is recorded as `skipped` so the timeline says so instead of pretending.
 */
export const probeCore: StageCore<'catalog.delta'> = async (event) => ({
  status: 'skipped',
  outputs: [],
  detail: { reason: 'stage not implemented in this release', type: event.type },
});
