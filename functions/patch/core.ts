import type { StageCore } from '../runtime/stage-handler.js';

/**
 * Stage `patch`: writes an edit for a diagnosis. This release consumes and traces its input without acting on it; the
 * step is recorded as `skipped` so the timeline says so instead of pretending.
 */
export const patchCore: StageCore<'diagnosis'> = async (event) => ({
  status: 'skipped',
  outputs: [],
  detail: { reason: 'stage not implemented in this release', type: event.type },
});
