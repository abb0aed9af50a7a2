import { buildPortsFromEnv } from '../runtime/build-ports.js';
import { createStageHandler } from '../runtime/stage-handler.js';
import { verifyCore } from './core.js';

/** Lambda entry of stage `verify`: the poller hands it batches of `guard.decision` events. */
export const handler = createStageHandler(
  { stage: 'verify', accepts: ['guard.decision'], core: verifyCore },
  buildPortsFromEnv,
);
