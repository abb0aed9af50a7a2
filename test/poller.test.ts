import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBus } from '../functions/adapters/bus/memory-bus.js';
import { RedisStreamsBus } from '../functions/adapters/bus/redis-streams-bus.js';
import type { Bus } from '../functions/ports/bus.js';
import {
  type DeadLetterInfo,
  type PollerOptions,
  processStreamBatch,
  runPoller,
} from '../functions/runtime/poller.js';
import type {
  StreamBatchEvent,
  StreamBatchHandler,
  StreamRecord,
} from '../functions/runtime/stream-batch.js';
import type { StageSpec } from '../infra/topology.js';
import { requireService, TEST_REDIS_URL, uniqueName } from './support/services.js';

const redisUp = await requireService('redis');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const stageOn = (input: string, overrides: Partial<StageSpec> = {}): StageSpec => ({
  name: 'test-stage',
  input,
  outputs: [],
  handler: 'test/poller.test.ts',
  batchSize: 10,
  maxDeliveries: 3,
  timeoutMs: 1_000,
  ...overrides,
});

/** Parses the test bodies: JSON objects `{ n, fail? }`; anything else is poison. */
const parseJob = (body: string) => {
  try {
    const value: unknown = JSON.parse(body);
    if (typeof value === 'object' && value !== null && 'n' in value) {
      return { ok: true as const, value: value as { n: number; fail?: number } };
    }
    return { ok: false as const, reason: 'missing n' };
  } catch {
    return { ok: false as const, reason: 'body is not JSON' };
  }
};

const job = (n: number, fail?: number) => JSON.stringify(fail === undefined ? { n } : { n, fail });

/**
 * Runs a poller until `until` aborts it; a 10 s guard turns a poller that never stops into a
 * failed assertion instead of a hung test.
 */
function startPoller(
  options: Omit<PollerOptions, 'signal'>,
  until: AbortController = new AbortController(),
) {
  // A plain timer rather than AbortSignal.timeout, which AbortSignal.any may let be collected.
  const guard = setTimeout(() => until.abort(), 10_000);
  const done = runPoller({ blockMs: 50, ...options, signal: until.signal }).finally(() =>
    clearTimeout(guard),
  );
  return { stop: until, done };
}

function pollerSuite(label: string, makeBus: () => Bus) {
  describe(`Runtime: poller on the ${label} bus`, () => {
    let bus: Bus;
    beforeAll(() => {
      bus = makeBus();
    });
    afterAll(async () => {
      await bus.close();
    });

    it('acks the records that succeed and leaves reported failures pending', async () => {
      const stage = stageOn(uniqueName('acks'));
      await bus.publishMany(stage.input, [job(1), job(2, 99), job(3), job(4, 99), job(5)]);
      const stop = new AbortController();
      const handler: StreamBatchHandler = async (event) => {
        stop.abort();
        return processStreamBatch(event, parseJob, async (value) => {
          if (value.fail) throw new Error(`job ${value.n} failed`);
        });
      };

      const stats = await startPoller(
        { bus, stage, handler, consumer: 'p1', claimIdleMs: 60_000 },
        stop,
      ).done;

      expect(stats).toEqual({ batches: 1, processed: 5, acked: 3, failed: 2, deadLettered: 0 });
      expect(await bus.stats(stage.input, stage.name)).toEqual({ length: 5, pending: 2, lag: 0 });
    });

    it('redelivers failures after claimIdleMs and dead-letters them after maxDeliveries with the error', async () => {
      const stage = stageOn(uniqueName('redeliver'), { maxDeliveries: 3 });
      // Job 1 always fails; job 2 fails on its first delivery only; job 3 succeeds.
      const [alwaysId] = await bus.publishMany(stage.input, [job(1, 99), job(2, 1), job(3)]);
      const deliveries: Array<[number, number]> = [];
      const deadLetters: DeadLetterInfo[] = [];
      const stop = new AbortController();
      const handler: StreamBatchHandler = (event) =>
        processStreamBatch(event, parseJob, async (value, record) => {
          deliveries.push([value.n, record.deliveries]);
          if (value.fail !== undefined && record.deliveries <= value.fail) {
            throw new Error(`downstream 503 for job ${value.n}`);
          }
        });

      const stats = await startPoller(
        {
          bus,
          stage,
          handler,
          consumer: 'p1',
          claimIdleMs: 30,
          onDeadLetter: (info) => {
            deadLetters.push(info);
            stop.abort();
          },
        },
        stop,
      ).done;

      expect(deliveries).toEqual([
        [1, 1],
        [2, 1],
        [3, 1],
        [1, 2],
        [2, 2],
        [1, 3],
      ]);
      expect(deadLetters).toEqual([
        expect.objectContaining({ id: alwaysId, deliveries: 3, body: job(1, 99) }),
      ]);
      expect(await bus.readDeadLetters(stage.input)).toEqual([
        expect.objectContaining({
          originalId: alwaysId,
          body: job(1, 99),
          deliveries: 3,
          reason: 'Error: downstream 503 for job 1',
        }),
      ]);
      expect(stats).toMatchObject({ processed: 6, acked: 2, failed: 3, deadLettered: 1 });
      expect(await bus.stats(stage.input, stage.name)).toEqual({ length: 3, pending: 0, lag: 0 });
    });

    it('dead-letters poison items at once with their reason while the rest of the batch proceeds', async () => {
      const stage = stageOn(uniqueName('poison'));
      const [, poisonId] = await bus.publishMany(stage.input, [job(1), 'not json', job(3)]);
      const handled: number[] = [];
      const stop = new AbortController();
      const handler: StreamBatchHandler = async (event) => {
        stop.abort();
        return processStreamBatch(event, parseJob, async (value) => {
          handled.push(value.n);
        });
      };

      const stats = await startPoller(
        { bus, stage, handler, consumer: 'p1', claimIdleMs: 60_000 },
        stop,
      ).done;

      expect(handled).toEqual([1, 3]);
      expect(stats).toEqual({ batches: 1, processed: 3, acked: 2, failed: 0, deadLettered: 1 });
      expect(await bus.readDeadLetters(stage.input)).toEqual([
        expect.objectContaining({
          originalId: poisonId,
          body: 'not json',
          reason: 'body is not JSON',
          deliveries: 1,
          group: stage.name,
        }),
      ]);
      expect(await bus.stats(stage.input, stage.name)).toEqual({ length: 3, pending: 0, lag: 0 });
    });

    it('leaves the whole batch pending when the handler throws, for a later delivery', async () => {
      const stage = stageOn(uniqueName('throws'));
      await bus.publishMany(stage.input, [job(1), job(2), job(3)]);
      const stop = new AbortController();
      const throwing: StreamBatchHandler = async () => {
        stop.abort();
        throw new Error('database unavailable');
      };

      const failedRun = await startPoller(
        { bus, stage, handler: throwing, consumer: 'p1', claimIdleMs: 60_000 },
        stop,
      ).done;
      const pendingAfterThrow = await bus.stats(stage.input, stage.name);

      const redelivered: StreamRecord[] = [];
      const stopAgain = new AbortController();
      const succeeding: StreamBatchHandler = async (event) => {
        redelivered.push(...event.records);
        stopAgain.abort();
        return { batchItemFailures: [] };
      };
      await startPoller(
        { bus, stage, handler: succeeding, consumer: 'p2', claimIdleMs: 0 },
        stopAgain,
      ).done;

      expect(failedRun).toEqual({ batches: 1, processed: 3, acked: 0, failed: 3, deadLettered: 0 });
      expect(pendingAfterThrow).toEqual({ length: 3, pending: 3, lag: 0 });
      expect(redelivered.map((record) => [record.body, record.deliveries])).toEqual([
        [job(1), 2],
        [job(2), 2],
        [job(3), 2],
      ]);
      expect(await bus.stats(stage.input, stage.name)).toEqual({ length: 3, pending: 0, lag: 0 });
    });

    it('dead-letters entries a crashed consumer left past maxDeliveries without calling the handler', async () => {
      const stage = stageOn(uniqueName('crashed'), { maxDeliveries: 2 });
      await bus.ensureGroup(stage.input, stage.name);
      const [id] = await bus.publishMany(stage.input, [job(1)]);
      await bus.read(stage.input, stage.name, 'crashed', { count: 1 });
      await bus.claimIdle(stage.input, stage.name, 'crashed', { minIdleMs: 0, count: 1 });
      const handled: StreamBatchEvent[] = [];
      const stop = new AbortController();

      const stats = await startPoller(
        {
          bus,
          stage,
          handler: async (event) => {
            handled.push(event);
            return { batchItemFailures: [] };
          },
          consumer: 'p1',
          claimIdleMs: 0,
          onDeadLetter: () => stop.abort(),
        },
        stop,
      ).done;

      expect(handled).toEqual([]);
      expect(stats).toEqual({ batches: 0, processed: 0, acked: 0, failed: 0, deadLettered: 1 });
      expect(await bus.readDeadLetters(stage.input)).toEqual([
        expect.objectContaining({
          originalId: id,
          deliveries: 3,
          reason: 'exceeded max deliveries',
        }),
      ]);
    });

    it('stops on abort after finishing and acking the batch in flight', async () => {
      const stage = stageOn(uniqueName('abort'), { batchSize: 10 });
      await bus.publishMany(
        stage.input,
        Array.from({ length: 25 }, (_, i) => job(i)),
      );
      const stop = new AbortController();
      const handler: StreamBatchHandler = async () => {
        stop.abort();
        // Work still in progress when the abort arrives.
        await sleep(30);
        return { batchItemFailures: [] };
      };

      const stats = await startPoller({ bus, stage, handler, consumer: 'p1' }, stop).done;

      expect(stats).toEqual({ batches: 1, processed: 10, acked: 10, failed: 0, deadLettered: 0 });
      expect(await bus.stats(stage.input, stage.name)).toEqual({ length: 25, pending: 0, lag: 15 });
    });

    it('starts no batch once less than the deadline margin remains', async () => {
      const stage = stageOn(uniqueName('deadline'), { batchSize: 10 });
      await bus.publishMany(
        stage.input,
        Array.from({ length: 30 }, (_, i) => job(i)),
      );
      // A Lambda clock that each batch advances by 2 s: 5 s left, stop below a 1 s margin.
      let remaining = 5_000;
      const seenRemaining: Array<number | undefined> = [];
      const handler: StreamBatchHandler = async (_event, context) => {
        seenRemaining.push(context?.getRemainingTimeInMillis?.());
        remaining -= 2_000;
        return { batchItemFailures: [] };
      };

      const stats = await startPoller({
        bus,
        stage,
        handler,
        consumer: 'p1',
        remainingTimeMs: () => remaining,
        deadlineMarginMs: 1_000,
      }).done;
      const tooLate = await startPoller({
        bus,
        stage,
        handler,
        consumer: 'p2',
        remainingTimeMs: () => 500,
        deadlineMarginMs: 1_000,
      }).done;

      expect(seenRemaining).toEqual([5_000, 3_000]);
      expect(stats).toEqual({ batches: 2, processed: 20, acked: 20, failed: 0, deadLettered: 0 });
      expect(tooLate.batches).toBe(0);
      expect(await bus.stats(stage.input, stage.name)).toEqual({ length: 30, pending: 0, lag: 10 });
    });
  });
}

describe('Runtime: processStreamBatch', () => {
  const event = (bodies: string[]): StreamBatchEvent => ({
    stage: 'test-stage',
    records: bodies.map((body, i) => ({ id: `1-${i}`, stream: 's', body, deliveries: 1 })),
  });

  it('processes records one at a time, in order', async () => {
    const order: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;

    const response = await processStreamBatch(
      event([job(1), job(2), job(3)]),
      parseJob,
      async (value) => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await sleep(1);
        order.push(`job-${value.n}`);
        inFlight -= 1;
      },
    );

    expect(order).toEqual(['job-1', 'job-2', 'job-3']);
    expect(maxInFlight).toBe(1);
    expect(response).toEqual({ batchItemFailures: [], poisonItems: [] });
  });

  it('turns parse failures into poison items and thrown errors into failures with reasons', async () => {
    const response = await processStreamBatch(
      event([job(1), '{"no":"n"}', job(3, 1), 'oops']),
      parseJob,
      async (value) => {
        if (value.fail) throw new TypeError(`cannot handle job ${value.n}`);
      },
    );

    expect(response).toMatchInlineSnapshot(`
      {
        "batchItemFailures": [
          {
            "itemIdentifier": "1-2",
            "reason": "TypeError: cannot handle job 3",
          },
        ],
        "poisonItems": [
          {
            "itemIdentifier": "1-1",
            "reason": "missing n",
          },
          {
            "itemIdentifier": "1-3",
            "reason": "body is not JSON",
          },
        ],
      }
    `);
  });
});

pollerSuite('memory', () => new MemoryBus());

const redisPrefix = `${uniqueName('poller')}:`;

describe.skipIf(!redisUp)('Runtime: poller on real Redis 7', () => {
  let admin: Redis | undefined;
  beforeAll(() => {
    admin = new Redis(TEST_REDIS_URL);
  });
  afterAll(async () => {
    if (!admin) return;
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 500);
      if (keys.length > 0) await admin.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    await admin.quit();
  });

  pollerSuite('redis', () => new RedisStreamsBus({ url: TEST_REDIS_URL, keyPrefix: redisPrefix }));
});
