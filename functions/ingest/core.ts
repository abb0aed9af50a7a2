import type { StageCore } from '../runtime/stage-handler.js';

/**
 * Stage `ingest`: diffs each catalog item against its snapshot. This release consumes and traces its input without acting on it; the
 * step is recorded as `skipped` so the timeline says so instead of pretending.
 */
export const ingestCore: StageCore<'catalog.push'> = async (event) => ({
  status: 'skipped',
  outputs: [],
  detail: { reason: 'stage not implemented in this release', type: event.type },
});
