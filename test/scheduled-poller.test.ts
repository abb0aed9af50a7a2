import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { deadLetterStreamOf } from '../functions/ports/bus.js';
import { buildPorts } from '../functions/runtime/build-ports.js';
import { parseConfig } from '../functions/runtime/config.js';
import { createObservability } from '../functions/runtime/lambda-observability.js';
import { createLogger } from '../functions/runtime/logger.js';
import { type Ports, resetPorts } from '../functions/runtime/ports.js';
import { createScheduledPoller } from '../functions/runtime/scheduled-poller.js';
import type { StreamBatchEvent, StreamBatchResponse } from '../functions/runtime/stream-batch.js';
import { telemetry } from '../infra/telemetry.js';
import type { StageSpec } from '../infra/topology.js';

const stage: StageSpec = {
  name: 'probe-test',
  input: 'poller.test.in',
  outputs: [],
  handler: 'test',
  batchSize: 4,
  maxDeliveries: 2,
  timeoutMs: 1_000,
};

/** The Lambda context of one invocation with `windowMs` to poll before its batch budget. */
const contextFor = (windowMs: number) => {
  const deadline = Date.now() + stage.timeoutMs + windowMs;
  return {
    awsRequestId: `req-${Math.random().toString(36).slice(2)}`,
    functionName: 'selfheal-probe-test',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:selfheal-probe-test',
    memoryLimitInMB: '512',
    logGroupName: '/aws/lambda/selfheal-probe-test',
    logStreamName: 'test',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
};

/** Powertools with its metrics kept in memory instead of printed, to look at what was added. */
const recordedObservability = () => {
  const observability = createObservability();
  const added: Array<[string, number]> = [];
  vi.spyOn(observability.metrics, 'addMetric').mockImplementation((name, _unit, value) => {
    added.push([name, value]);
    return observability.metrics;
  });
  vi.spyOn(observability.metrics, 'publishStoredMetrics').mockImplementation(
    () => observability.metrics,
  );
  return { observability, added };
};

describe('createScheduledPoller', () => {
  let ports: Ports;

  beforeAll(async () => {
    resetPorts();
    ports = await buildPorts(parseConfig({ POLLER_BLOCK_MS: '50' }), createLogger('silent'));
  });

  afterAll(async () => {
    resetPorts();
    await ports.close();
  });

  it('polls until one batch budget before the deadline, acks successes and reports dead letters', async () => {
    for (const body of ['ok-1', 'poison', 'ok-2']) await ports.bus.publish(stage.input, body);
    const seen: string[] = [];
    const handler = async (event: StreamBatchEvent): Promise<StreamBatchResponse> => {
      seen.push(...event.records.map((record) => record.body));
      return {
        batchItemFailures: [],
        poisonItems: event.records
          .filter((record) => record.body === 'poison')
          .map((record) => ({ itemIdentifier: record.id, reason: 'unreadable' })),
      };
    };
    const { observability, added } = recordedObservability();
    const loadSecrets = vi.fn(async () => {});
    const poll = createScheduledPoller(stage, handler, {
      ports: async () => ports,
      loadSecrets,
      observability,
    });

    const started = performance.now();
    const stats = await poll({ source: 'selfheal.poller' }, contextFor(300) as never);
    const elapsed = performance.now() - started;

    expect(loadSecrets).toHaveBeenCalledOnce();
    expect(seen).toEqual(['ok-1', 'poison', 'ok-2']);
    expect(stats).toMatchObject({ processed: 3, acked: 2, deadLettered: 1, failed: 0 });
    // It kept reading for its window, and stopped with a batch budget to spare.
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(stage.timeoutMs);
    expect(await ports.bus.stats(stage.input, stage.name)).toMatchObject({ pending: 0, lag: 0 });
    expect(await ports.bus.length(deadLetterStreamOf(stage.input))).toBe(1);
    expect(added).toEqual(
      expect.arrayContaining([
        [telemetry.metrics.recordsProcessed, 3],
        [telemetry.metrics.deadLettered, 1],
        [telemetry.metrics.deadLetterBacklog, 1],
      ]),
    );
  });

  it('reports zero dead letters when none happened, so the alarm sees a quiet stage', async () => {
    const { observability, added } = recordedObservability();
    const poll = createScheduledPoller(stage, async () => ({ batchItemFailures: [] }), {
      ports: async () => ports,
      loadSecrets: async () => {},
      observability,
    });
    const stats = await poll({}, contextFor(100) as never);
    expect(stats).toMatchObject({ processed: 0, deadLettered: 0 });
    expect(added).toContainEqual([telemetry.metrics.deadLettered, 0]);
    expect(added.some(([name]) => name === telemetry.metrics.recordsProcessed)).toBe(false);
  });
});
