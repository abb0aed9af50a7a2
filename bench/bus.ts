/**
 * Bus benchmark: events through RedisStreamsBus and the poller, end to end, against raw
 * pipelined XADD on the same Redis.
 *
 *   npm run bench:bus                 readable summary
 *   npm run bench:bus -- --json       one JSON object
 *   npm run bench:bus -- --events 20000 --chunk 1000 --batch 1000 --window 4000 --pipeline 16
 *
 * A producer publishes `--events` bodies with `publishMany` in chunks of `--chunk`, staying at
 * most `--window` (default 2 × batch) events ahead of the consumer, so latency measures the bus
 * rather than a backlog; a poller (`runPoller`, batches of `--batch`) hands them to a handler
 * that only records the latency from the publish timestamp in the body. Then `--raw-xadds`
 * (100,000) raw XADDs go through ioredis pipelines of `--pipeline` commands, 32 in flight
 * (`redis-benchmark -P 16` style), on another stream. Every figure printed is measured; the
 * streams are deleted at the end. Exits 1 when Redis does not answer.
 */
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { RedisStreamsBus } from '../functions/adapters/bus/redis-streams-bus.js';
import { deadLetterStreamOf } from '../functions/ports/bus.js';
import { runPoller } from '../functions/runtime/poller.js';
import type { StreamBatchHandler } from '../functions/runtime/stream-batch.js';
import type { StageSpec } from '../infra/topology.js';
import { percentile, redisOrExit, round } from './support.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    events: { type: 'string', default: '100000' },
    chunk: { type: 'string', default: '500' },
    batch: { type: 'string', default: '500' },
    window: { type: 'string' },
    'raw-xadds': { type: 'string', default: '100000' },
    pipeline: { type: 'string', default: '16' },
  },
});

const positive = (name: string, raw: string | undefined): number => {
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    console.error(`--${name} must be a positive integer, got '${raw}'`);
    process.exit(2);
  }
  return value;
};

const events = positive('events', args.events);
const chunk = positive('chunk', args.chunk);
const batch = positive('batch', args.batch);
const window = args.window === undefined ? 2 * batch : positive('window', args.window);
const rawXadds = positive('raw-xadds', args['raw-xadds']);
const pipelineDepth = positive('pipeline', args.pipeline);
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const runId = `${process.pid}-${Date.now().toString(36)}`;
const e2eStream = `bench:bus:${runId}`;
const rawStream = `bench:bus-raw:${runId}`;

/** Epoch milliseconds with sub-millisecond resolution, comparable across the process. */
const nowMs = (): number => performance.timeOrigin + performance.now();

/** `redis-benchmark -P n` for XADD: `total` XADDs sent in pipelines of `depth` commands. */
async function rawXaddPerSecond(redis: Redis, total: number, depth: number): Promise<number> {
  // Several pipelines in flight, as redis-benchmark keeps 50 clients busy; one connection.
  const inFlight = 32;
  const body = JSON.stringify({ i: 0, t: nowMs() });
  let sent = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (sent < total) {
      const size = Math.min(depth, total - sent);
      sent += size;
      const pipeline = redis.pipeline();
      for (let i = 0; i < size; i += 1) pipeline.call('XADD', [rawStream, '*', 'b', body]);
      const results = await pipeline.exec();
      const failed = results?.find(([error]) => error);
      if (failed?.[0]) throw failed[0];
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return total / ((performance.now() - started) / 1000);
}

interface E2eResult {
  seconds: number;
  latencies: Float64Array;
}

async function endToEnd(): Promise<E2eResult> {
  const bus = new RedisStreamsBus({ url, connectionName: `bench-bus-${runId}` });
  const stage: StageSpec = {
    name: 'bench',
    input: e2eStream,
    outputs: [],
    handler: 'bench/bus.ts',
    batchSize: batch,
    maxDeliveries: 3,
    timeoutMs: 30_000,
  };
  await bus.ensureGroup(stage.input, stage.name);

  const latencies = new Float64Array(events).fill(Number.NaN);
  let received = 0;
  let lastAt = 0;
  let progressed: () => void = () => {};
  const done = new AbortController();
  const handler: StreamBatchHandler = async (event) => {
    const at = nowMs();
    for (const record of event.records) {
      const { i, t } = JSON.parse(record.body) as { i: number; t: number };
      if (Number.isNaN(latencies[i])) received += 1;
      latencies[i] = at - t;
    }
    lastAt = performance.now();
    progressed();
    if (received >= events) done.abort();
    return { batchItemFailures: [] };
  };

  const started = performance.now();
  const polling = runPoller({
    bus,
    stage,
    handler,
    consumer: 'bench-1',
    signal: done.signal,
    blockMs: 100,
  });
  for (let next = 0; next < events; next += chunk) {
    // Backpressure: a producer far ahead of the consumer would measure queueing, not the bus.
    while (next - received > window) {
      await new Promise<void>((resolve) => {
        progressed = resolve;
      });
    }
    const bodies: string[] = [];
    const end = Math.min(next + chunk, events);
    for (let i = next; i < end; i += 1) bodies.push(JSON.stringify({ i, t: nowMs() }));
    await bus.publishMany(e2eStream, bodies);
  }
  const stats = await polling;
  await bus.close();
  if (received < events || stats.acked < events) {
    throw new Error(`only ${received} of ${events} events reached the handler`);
  }
  return { seconds: (lastAt - started) / 1000, latencies };
}

const redis = await redisOrExit(url, 'bench:bus');
try {
  const e2e = await endToEnd();
  const rawPerSecond = await rawXaddPerSecond(redis, rawXadds, pipelineDepth);
  const sorted = e2e.latencies.slice().sort();
  const eventsPerSecond = events / e2e.seconds;
  const result = {
    events,
    seconds: round(e2e.seconds, 3),
    events_per_s: Math.round(eventsPerSecond),
    e2e_p50_ms: round(percentile(sorted, 0.5), 2),
    e2e_p99_ms: round(percentile(sorted, 0.99), 2),
    raw_xadd_per_s: Math.round(rawPerSecond),
    ratio: round(eventsPerSecond / rawPerSecond, 3),
  };
  if (args.json) {
    console.log(JSON.stringify(result));
  } else {
    console.log(
      [
        `bus bench on ${url} (publish chunks of ${chunk}, poller batches of ${batch}, window ${window})`,
        `  end to end: ${result.events} events in ${result.seconds} s = ${result.events_per_s} events/s`,
        `  latency publish -> handler: p50 ${result.e2e_p50_ms} ms, p99 ${result.e2e_p99_ms} ms`,
        `  raw XADD (pipelines of ${pipelineDepth}): ${result.raw_xadd_per_s} /s`,
        `  ratio end to end / raw: ${result.ratio}`,
      ].join('\n'),
    );
  }
} finally {
  await redis.del(e2eStream, rawStream, deadLetterStreamOf(e2eStream));
  await redis.quit();
}
