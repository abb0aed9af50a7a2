import { buildPortsFromEnv } from '../runtime/build-ports.js';
import { createStageHandler } from '../runtime/stage-handler.js';
import { validatorCore } from './core.js';

/** Lambda entry of stage `validator`: the poller hands it batches of `target.write` events. */
export const handler = createStageHandler(
  { stage: 'validator', accepts: ['target.write'], core: validatorCore },
  buildPortsFromEnv,
);
