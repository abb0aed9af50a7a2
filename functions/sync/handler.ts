import { buildPortsFromEnv } from '../runtime/build-ports.js';
import { createStageHandler } from '../runtime/stage-handler.js';
import { syncCore } from './core.js';

/** Lambda entry of stage `sync`: the poller hands it batches of `catalog.push` events. */
export const handler = createStageHandler(
  { stage: 'sync', accepts: ['catalog.push'], core: syncCore },
  buildPortsFromEnv,
);
