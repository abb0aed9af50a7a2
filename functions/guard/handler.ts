import { buildPortsFromEnv } from '../runtime/build-ports.js';
import { createStageHandler } from '../runtime/stage-handler.js';
import { guardCore } from './core.js';

/** Lambda entry of stage `guard`: the poller hands it batches of `patch.proposal` events. */
export const handler = createStageHandler(
  { stage: 'guard', accepts: ['patch.proposal'], core: guardCore },
  buildPortsFromEnv,
);
