import { buildPortsFromEnv } from '../runtime/build-ports.js';
import { createStageHandler } from '../runtime/stage-handler.js';
import { rcaCore } from './core.js';

/** Lambda entry of stage `rca`: the poller hands it batches of `signal` events. */
export const handler = createStageHandler(
  { stage: 'rca', accepts: ['signal'], core: rcaCore },
  buildPortsFromEnv,
);
