import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoTraceMirror } from '../../../functions/adapters/bus/dynamo-trace-mirror.js';
import { RedisStreamsBus } from '../../../functions/adapters/bus/redis-streams-bus.js';
import { createDynamoClients } from '../../../functions/adapters/kv/dynamodb-client.js';
import { parseConfig } from '../../../functions/runtime/config.js';
import {
  addCount,
  createObservability,
  observe,
} from '../../../functions/runtime/lambda-observability.js';
import type { LambdaContextLike } from '../../../functions/stream/lambda-streaming.js';
import {
  type CopyStats,
  copyTraceStream,
  type StepOutcome,
} from '../../../functions/stream/trace-mirror.js';
import { telemetry } from '../../telemetry.js';
import { streams } from '../../topology.js';

/** The copy stops this long before the Lambda deadline, so the last writes finish. */
const STOP_MARGIN_MS = 10_000;

const observability = createObservability();
const { logger, metrics } = observability;

interface Resources {
  readonly bus: RedisStreamsBus;
  readonly mirror: DynamoTraceMirror;
  readonly blockMs: number;
}

let resources: Promise<Resources> | undefined;

const open = async (): Promise<Resources> => {
  const config = parseConfig();
  if (!config.REDIS_URL) throw new Error('REDIS_URL is required: the copier reads the bus');
  if (!config.SELFHEAL_TRACE_MIRROR_TABLE) {
    throw new Error('SELFHEAL_TRACE_MIRROR_TABLE is required: the copier writes there');
  }
  const bus = new RedisStreamsBus({
    url: config.REDIS_URL,
    keyPrefix: config.SELFHEAL_STREAM_PREFIX,
    onConnectionError: (error, role) => logger.warn('redis connection error', { error, role }),
  });
  const { doc } = createDynamoClients();
  return {
    bus,
    mirror: new DynamoTraceMirror({ doc, table: config.SELFHEAL_TRACE_MIRROR_TABLE }),
    blockMs: config.POLLER_BLOCK_MS,
  };
};

/** Counts how copied steps ended: the heal outcomes and failed steps the alarms watch. */
const countOutcome = (outcome: StepOutcome | undefined): void => {
  if (!outcome) return;
  if (outcome.status === 'failed') {
    metrics
      .singleMetric()
      .addDimension(telemetry.dimensions.stage, outcome.stage)
      .addMetric(telemetry.metrics.stepFailed, MetricUnit.Count, 1);
  }
  if (outcome.stage !== 'heal') return;
  if (outcome.status === 'ok') addCount(metrics, telemetry.metrics.healed, 1);
  if (outcome.status === 'failed') addCount(metrics, telemetry.metrics.healFailed, 1);
  if (outcome.status === 'rolled_back') addCount(metrics, telemetry.metrics.healRolledBack, 1);
};

/**
 * Lambda entry of the trace copier in AWS, invoked every minute by EventBridge Scheduler: copies
 * the `traces` stream from ElastiCache into the DynamoDB table the SSE function tails (the SSE
 * function cannot run in the VPC, see `DynamoTraceMirror`), and publishes the heal outcomes and
 * failed steps it sees as metrics. Overlapping copiers are safe: each entry is counted by the
 * copier that wrote it first.
 */
export const handler = observe(
  observability,
  async (_event: unknown, context: LambdaContextLike): Promise<CopyStats> => {
    resources ??= open().catch((error: unknown) => {
      resources = undefined;
      throw error;
    });
    const { bus, mirror, blockMs } = await resources;
    const stats = await copyTraceStream({
      source: bus,
      target: mirror,
      stream: streams.traces,
      blockMs,
      shouldStop: () => context.getRemainingTimeInMillis() < STOP_MARGIN_MS,
      onCopied: (_entry, outcome) => countOutcome(outcome),
    });
    addCount(metrics, telemetry.metrics.traceEntriesCopied, stats.written, true);
    logger.info('trace copy finished', { ...stats });
    return stats;
  },
);
