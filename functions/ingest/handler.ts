import { buildPortsFromEnv } from '../runtime/build-ports.js';
import { createStageHandler } from '../runtime/stage-handler.js';
import { ingestCore } from './core.js';

/** Lambda entry of stage `ingest`: the poller hands it batches of `catalog.push` events. */
export const handler = createStageHandler(
  { stage: 'ingest', accepts: ['catalog.push'], core: ingestCore },
  buildPortsFromEnv,
);
