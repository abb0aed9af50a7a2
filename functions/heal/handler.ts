import { buildPortsFromEnv } from '../runtime/build-ports.js';
import { createStageHandler } from '../runtime/stage-handler.js';
import { healCore } from './core.js';

/** Lambda entry of stage `heal`: the poller hands it batches of `verification` events. */
export const handler = createStageHandler(
  { stage: 'heal', accepts: ['verification'], core: healCore },
  buildPortsFromEnv,
);
