import { createScheduledPoller } from '../../../functions/runtime/scheduled-poller.js';
import { handler as batchHandler } from '../../../functions/validator/handler.js';
import { stageNamed } from '../../topology.js';

/** Lambda entry of stage `validator` in AWS: the scheduled poller around the stage's batch handler. */
export const handler = createScheduledPoller(stageNamed('validator'), batchHandler);
