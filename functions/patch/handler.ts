import { buildPortsFromEnv } from '../runtime/build-ports.js';
import { createStageHandler } from '../runtime/stage-handler.js';
import { patchCore } from './core.js';

/** Lambda entry of stage `patch`: the poller hands it batches of `diagnosis` events. */
export const handler = createStageHandler(
  { stage: 'patch', accepts: ['diagnosis'], core: patchCore },
  buildPortsFromEnv,
);
