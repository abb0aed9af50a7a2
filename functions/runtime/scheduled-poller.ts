import { telemetry } from '../../infra/telemetry.js';
import type { StageSpec } from '../../infra/topology.js';
import { deadLetterStreamOf } from '../ports/bus.js';
import type { LambdaContextLike } from '../stream/lambda-streaming.js';
import { buildPortsFromEnv } from './build-ports.js';
import {
  addCount,
  createObservability,
  type Observability,
  observe,
  pollerLoggerOf,
} from './lambda-observability.js';
import { loadSecretsIntoEnv } from './lambda-secrets.js';
import { type PollerStats, runPoller } from './poller.js';
import { getPorts, type Ports } from './ports.js';
import type { StreamBatchHandler } from './stream-batch.js';

export interface ScheduledPollerOptions {
  /** Builds the ports at cold start (default: from the environment). */
  readonly ports?: () => Promise<Ports>;
  /** Resolves `SELFHEAL_SECRETS` before the ports are built (default: the secrets extension). */
  readonly loadSecrets?: () => Promise<void>;
  /** Default: Powertools with the `stage` dimension. */
  readonly observability?: Observability;
}

/**
 * The Lambda entry of one stage in AWS, invoked every minute by EventBridge Scheduler. Lambda has
 * no Redis Streams trigger, so this is the stage's event-source mapping: it runs the same
 * {@link runPoller} as the local runtime, with the invocation's request id as the consumer name,
 * until less than one batch budget (`stage.timeoutMs`) is left before the Lambda deadline. The
 * function's timeout is longer than the schedule's period, so consecutive pollers overlap and
 * the stream is never left unread; entries a poller could not finish are reclaimed by the next
 * one (`XAUTOCLAIM`).
 *
 * After each poll it publishes the stage's record counts, its dead letters and the length of its
 * dead-letter stream (the metric the dead-letter alarm watches).
 *
 * @example
 * ```ts
 * // infra/aws/handlers/stage-rca.ts
 * export const handler = createScheduledPoller(stageNamed('rca'), rcaHandler);
 * ```
 */
export function createScheduledPoller(
  stage: StageSpec,
  batchHandler: StreamBatchHandler,
  options: ScheduledPollerOptions = {},
) {
  const observability =
    options.observability ??
    createObservability({ dimensions: { [telemetry.dimensions.stage]: stage.name } });
  const { logger, metrics } = observability;
  const loadSecrets = options.loadSecrets ?? (() => loadSecretsIntoEnv());
  const portsFactory = options.ports ?? buildPortsFromEnv;

  return observe(observability, async (_event: unknown, context: LambdaContextLike) => {
    await loadSecrets();
    const ports = await getPorts(portsFactory);
    const stats: PollerStats = await runPoller({
      bus: ports.bus,
      stage,
      handler: batchHandler,
      consumer: context.awsRequestId,
      remainingTimeMs: () => context.getRemainingTimeInMillis(),
      blockMs: ports.config.POLLER_BLOCK_MS,
      claimIdleMs: ports.config.POLLER_CLAIM_IDLE_MS,
      logger: pollerLoggerOf(logger),
    });
    addCount(metrics, telemetry.metrics.recordsProcessed, stats.processed);
    addCount(metrics, telemetry.metrics.recordsFailed, stats.failed);
    addCount(metrics, telemetry.metrics.deadLettered, stats.deadLettered, true);
    try {
      const backlog = await ports.bus.length(deadLetterStreamOf(stage.input));
      addCount(metrics, telemetry.metrics.deadLetterBacklog, backlog, true);
    } catch (error) {
      // The counts above are already known; a failed gauge read must not fail the poll.
      logger.warn('could not read the dead-letter stream length', { error });
    }
    return stats;
  });
}
