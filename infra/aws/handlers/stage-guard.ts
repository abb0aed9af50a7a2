import { handler as batchHandler } from '../../../functions/guard/handler.js';
import { createScheduledPoller } from '../../../functions/runtime/scheduled-poller.js';
import { stageNamed } from '../../topology.js';

/** Lambda entry of stage `guard` in AWS: the scheduled poller around the stage's batch handler. */
export const handler = createScheduledPoller(stageNamed('guard'), batchHandler);
