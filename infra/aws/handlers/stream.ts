import { DynamoTraceMirror } from '../../../functions/adapters/bus/dynamo-trace-mirror.js';
import { createDynamoClients } from '../../../functions/adapters/kv/dynamodb-client.js';
import { parseConfig } from '../../../functions/runtime/config.js';
import { createLogger } from '../../../functions/runtime/logger.js';
import { parseStreamSettings } from '../../../functions/stream/settings.js';
import { createTraceStream } from '../../../functions/stream/sse-handler.js';

/**
 * Lambda entry of `GET /api/stream` in AWS: the same SSE handler as locally, on a Function URL
 * in `RESPONSE_STREAM` mode. AWS does not support response streaming through Function URLs for
 * functions in a VPC, so this function runs outside the VPC and reads the trace stream from its
 * DynamoDB copy (kept by the trace copier inside the VPC) instead of from ElastiCache. The copy
 * keeps the bus's entry ids, so `Last-Event-ID` resumes exactly as against the bus.
 */
export const handler = createTraceStream({
  resources: () => {
    const config = parseConfig();
    if (!config.SELFHEAL_TRACE_MIRROR_TABLE) {
      throw new Error('SELFHEAL_TRACE_MIRROR_TABLE is required: the stream reads the trace copy');
    }
    const { doc } = createDynamoClients();
    return {
      bus: new DynamoTraceMirror({ doc, table: config.SELFHEAL_TRACE_MIRROR_TABLE }),
      logger: createLogger(config.LOG_LEVEL).child({ component: 'stream' }),
    };
  },
  settings: parseStreamSettings(),
}).handler;
