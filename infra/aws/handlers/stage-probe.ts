import { handler as batchHandler } from '../../../functions/probe/handler.js';
import { createScheduledPoller } from '../../../functions/runtime/scheduled-poller.js';
import { stageNamed } from '../../topology.js';

/** Lambda entry of stage `probe` in AWS: the scheduled poller around the stage's batch handler. */
export const handler = createScheduledPoller(stageNamed('probe'), batchHandler);
