import { buildPortsFromEnv } from '../runtime/build-ports.js';
import { createStageHandler } from '../runtime/stage-handler.js';
import { probeCore } from './core.js';

/** Lambda entry of stage `probe`: the poller hands it batches of `catalog.delta` events. */
export const handler = createStageHandler(
  { stage: 'probe', accepts: ['catalog.delta'], core: probeCore },
  buildPortsFromEnv,
);
