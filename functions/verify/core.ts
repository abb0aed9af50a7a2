import type { StageCore } from '../runtime/stage-handler.js';

/**
 * Stage `verify`: verifies a candidate release in a sandbox. This release consumes and traces its input without acting on it; the
 * step is recorded as `skipped` so the timeline says so instead of pretending.
 */
export const verifyCore: StageCore<'guard.decision'> = async (event) => ({
  status: 'skipped',
  outputs: [],
  detail: { reason: 'stage not implemented in this release', type: event.type },
});
