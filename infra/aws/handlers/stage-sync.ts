import { createScheduledPoller } from '../../../functions/runtime/scheduled-poller.js';
import { handler as batchHandler } from '../../../functions/sync/handler.js';
import { stageNamed } from '../../topology.js';

/** Lambda entry of stage `sync` in AWS: the scheduled poller around the stage's batch handler. */
export const handler = createScheduledPoller(stageNamed('sync'), batchHandler);
