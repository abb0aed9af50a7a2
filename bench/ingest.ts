/**
 * Ingest benchmark (issue "Sensors"): the whole local system in this process, on real Redis,
 * Postgres and a DynamoDB Local this script starts, driven over HTTP on loopback.
 *
 *   npm run bench:ingest                 readable summary
 *   npm run bench:ingest -- --json       one JSON object
 *   npm run bench:ingest -- --items 10000 --rate 200 --duration 10 --rounds 5
 *   npm run bench:ingest -- --phases push          only some of ceiling,push,load,signal
 *
 * Three measurements, every figure measured, after a same-run baseline (`ceiling_*`): what
 * DynamoDB Local alone sustains through the system's KeyValue adapter for the three request kinds
 * the push path sends (conditional replaces, batched puts, batched reads).
 * - `items_per_s`: a signed `--items`-item push (the seed catalog with a changed price and a fresh
 *   `updated_at`, after one warm-up push of the same SKUs so every item has a snapshot and a
 *   record) POSTed to `/webhooks/catalog`, timed from the POST until the ingest's
 *   `catalog.delta` for that push is on `catalog.deltas` AND the validator's trace step for it is
 *   on `traces`. The warm-up push (mostly new SKUs) is reported as `first_push_*`. Beside it:
 *   each stage's own duration from its trace step, and the CPU time this process, DynamoDB Local
 *   and every other process (Redis, Postgres, anything else on a shared machine) used meanwhile.
 * - `webhook_p99_ms`: `--rate` single-item signed pushes per second for `--duration` seconds,
 *   each sent at its scheduled time whatever the earlier ones are doing (no coordinated
 *   omission); latency from the scheduled time to the 202.
 * - `delta_to_signal_ms`: release R2 active, `--rounds` pushes of the clearance items with a
 *   changed return policy; from the `committed_at` of the sync's `target.write` to the moment
 *   the validator's SchemaMismatch signal is read off `signals` (a blocking XREAD on its own
 *   connection). Both clocks are this process's `Date`; the signal's own `occurred_at` is
 *   reported beside it.
 *
 * Everything is removed at the end: the system is stopped, its Postgres schema dropped, its
 * Redis keys deleted and DynamoDB Local stopped. Exits 1 with a message when a server is missing.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { type EventOf, type EventType, parseEvent } from '../events/index.js';
import { BODY_FIELD } from '../functions/adapters/bus/stream-entry.js';
import { type Config, parseConfig } from '../functions/runtime/config.js';
import { createLogger } from '../functions/runtime/logger.js';
import type { CatalogItem } from '../functions/shop/catalog.js';
import { seedCatalog } from '../functions/shop/seed.js';
import { standardWebhookHeaders } from '../functions/webhooks/standard-webhooks.js';
import { type LocalSystem, startLocalSystem } from '../infra/local/system.js';
import { streams, topology } from '../infra/topology.js';
import { type DynamoDbLocal, startDynamoDbLocal } from '../test/support/dynamodb-local.js';
import { freePort } from '../test/support/runtime.js';
import { percentile, redisOrExit, round } from './support.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    items: { type: 'string', default: '10000' },
    rate: { type: 'string', default: '200' },
    duration: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '5' },
    'timeout-s': { type: 'string', default: '300' },
    phases: { type: 'string', default: 'ceiling,push,load,signal' },
  },
});

const positive = (name: string, raw: string | undefined): number => {
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    console.error(`bench:ingest: --${name} must be a positive integer, got '${raw}'`);
    process.exit(2);
  }
  return value;
};

const itemCount = positive('items', args.items);
const rate = positive('rate', args.rate);
const durationS = positive('duration', args.duration);
const rounds = positive('rounds', args.rounds);
const timeoutMs = positive('timeout-s', args['timeout-s']) * 1000;
const phases = new Set((args.phases ?? '').split(',').map((phase) => phase.trim()));
const cores = availableParallelism();
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const runId = `${process.pid}_${Date.now().toString(36)}`;
const streamPrefix = `bench-ingest-${runId}:`;
const schema = `bench_ingest_${runId}`.toLowerCase();
const log = (line: string) => {
  if (!args.json) console.log(line);
};

// ---------------------------------------------------------------------------------------------
// Servers

async function postgresOrExit(): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (error) {
    fail(`Postgres is not answering at ${databaseUrl}: ${(error as Error).message}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function dynamoOrExit(): Promise<DynamoDbLocal> {
  try {
    return await startDynamoDbLocal();
  } catch (error) {
    fail(`DynamoDB Local could not start: ${(error as Error).message}`);
  }
}

function fail(message: string): never {
  console.error(`bench:ingest: ${message}`);
  process.exit(1);
}

// ---------------------------------------------------------------------------------------------
// Watching streams

/** Reads a stream forward from where it last stopped, keeping the events of the given types. */
class StreamWatcher<T extends EventType> {
  readonly events: EventOf<T>[] = [];
  #cursor = '0-0';

  constructor(
    private readonly system: LocalSystem,
    private readonly stream: string,
    private readonly types: readonly T[],
  ) {}

  /** Reads what arrived since the last call. */
  async poll(): Promise<void> {
    for (;;) {
      const entries = await this.system.ports.bus.range(this.stream, this.#cursor, 1_000);
      for (const { id, body } of entries) {
        this.#cursor = id;
        const parsed = parseEvent(body, this.types);
        if (parsed.ok) this.events.push(parsed.event);
      }
      if (entries.length < 1_000) return;
    }
  }

  /** Polls every `intervalMs` until `find` returns something; the time it was first seen. */
  async waitFor<R>(
    what: string,
    find: (events: readonly EventOf<T>[]) => R | undefined,
    intervalMs = 5,
  ): Promise<{ value: R; seenAt: number }> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      await this.poll();
      const value = find(this.events);
      if (value !== undefined) return { value, seenAt: performance.now() };
      if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(intervalMs);
    }
  }
}

/**
 * Waits until every stage's consumer group has nothing pending and nothing undelivered, so one
 * measurement does not pay for the backlog of the previous one; returns the seconds it took.
 */
async function drain(system: LocalSystem): Promise<number> {
  const started = performance.now();
  const deadline = started + timeoutMs;
  for (;;) {
    const stats = await Promise.all(
      topology.map((stage) => system.ports.bus.stats(stage.input, stage.name)),
    );
    if (stats.every((stat) => stat.pending === 0 && stat.lag === 0)) break;
    if (performance.now() > deadline) throw new Error('the pipeline did not drain in time');
    await sleep(50);
  }
  return (performance.now() - started) / 1000;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// HTTP

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

interface Response {
  readonly status: number;
  readonly body: string;
}

function post(url: string, body: string, headers: Record<string, string>): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function signedPush(
  system: LocalSystem,
  config: Config,
  id: string,
  body: string,
): Promise<{ pushId: string; status: number }> {
  const headers = standardWebhookHeaders(config.SELFHEAL_WEBHOOK_SECRET, { id, body });
  const response = await post(`${system.url}/webhooks/catalog`, body, headers);
  if (response.status !== 202) {
    throw new Error(`push ${id} answered ${response.status}: ${response.body.slice(0, 300)}`);
  }
  const { push_id: pushId } = JSON.parse(response.body) as { push_id: string };
  return { pushId, status: response.status };
}

// ---------------------------------------------------------------------------------------------
// Measurements

const pushBody = (items: readonly CatalogItem[], version: string, at: Date): string =>
  JSON.stringify({ catalog_version: version, pushed_at: at.toISOString(), items });

interface PushTiming extends CpuUse {
  readonly items: number;
  readonly seconds: number;
  readonly items_per_s: number;
  /** When the delta was seen, seconds after the POST. */
  readonly delta_s: number;
  /** When the validator's step was seen, seconds after the POST. */
  readonly validator_s: number;
  /** Each stage's measured duration for this push, from its trace step. */
  readonly stage_ms: Record<string, number>;
  /** What the ingest did: snapshots written and items found stale. */
  readonly ingest: { written: unknown; stale: unknown; changed_skus: unknown };
  readonly post_ms: number;
}

async function timedPush(
  system: LocalSystem,
  config: Config,
  items: readonly CatalogItem[],
  label: string,
  deltas: StreamWatcher<'catalog.delta'>,
  traces: StreamWatcher<'trace.step'>,
): Promise<PushTiming> {
  const at = new Date();
  const body = pushBody(items, `${label}-${at.getTime()}`, at);
  const meter = cpuMeter();
  const started = performance.now();
  const { pushId } = await signedPush(system, config, `msg_${label}_${runId}`, body);
  const posted = performance.now();
  const [delta, validator] = await Promise.all([
    deltas.waitFor(`the catalog.delta of ${label}`, (events) =>
      events.find((event) => event.data.push_id === pushId),
    ),
    traces.waitFor(`the validator step of ${label}`, (events) =>
      events.find(
        (event) => event.data.stage === 'validator' && event.data.detail.push_id === pushId,
      ),
    ),
  ]);
  const seconds = (Math.max(delta.seenAt, validator.seenAt) - started) / 1000;
  const cpu = meter();
  // The ingest's own step lands just after its delta; the rest of the pipeline follows.
  await drain(system);
  await traces.poll();
  const steps = traces.events.filter((step) => step.data.detail.push_id === pushId);
  const stageMs: Record<string, number> = {};
  for (const step of steps) stageMs[step.data.stage] = round(step.data.duration_ms, 1);
  const ingest = steps.find((step) => step.data.stage === 'ingest')?.data.detail ?? {};
  return {
    items: items.length,
    seconds: round(seconds, 3),
    items_per_s: Math.round(items.length / seconds),
    delta_s: round((delta.seenAt - started) / 1000, 3),
    validator_s: round((validator.seenAt - started) / 1000, 3),
    stage_ms: stageMs,
    ingest: { written: ingest.written, stale: ingest.stale, changed_skus: ingest.changed_skus },
    post_ms: round(posted - started, 1),
    ...cpu,
  };
}

/** CPU seconds used since the meter started: this process, DynamoDB Local, everything else. */
interface CpuUse {
  readonly node_cpu_s: number;
  readonly dynamodb_cpu_s: number | null;
  readonly other_cpu_s: number | null;
}

/** Starts counting CPU time; the returned function reads what was used since. */
function cpuMeter(): () => CpuUse {
  const node = process.cpuUsage();
  const dynamo = dynamoCpuMs();
  const machine = machineBusyMs();
  return () => {
    const used = process.cpuUsage(node);
    const nodeMs = (used.user + used.system) / 1000;
    const dynamoNow = dynamoCpuMs();
    const machineNow = machineBusyMs();
    const dynamoMs = dynamo === null || dynamoNow === null ? null : dynamoNow - dynamo;
    const otherMs =
      machine === null || machineNow === null || dynamoMs === null
        ? null
        : Math.max(0, machineNow - machine - nodeMs - dynamoMs);
    return {
      node_cpu_s: round(nodeMs / 1000, 2),
      dynamodb_cpu_s: dynamoMs === null ? null : round(dynamoMs / 1000, 2),
      other_cpu_s: otherMs === null ? null : round(otherMs / 1000, 2),
    };
  };
}

/** Busy CPU time of the whole machine so far (all processes, all cores), in ms; null off Linux. */
function machineBusyMs(): number | null {
  try {
    const [cpu] = readFileSync('/proc/stat', 'utf8').split('\n');
    const ticks = (cpu ?? '').trim().split(/\s+/).slice(1).map(Number);
    const total = ticks.reduce((sum, value) => sum + value, 0);
    // idle and iowait are the 4th and 5th columns.
    return (total - (ticks[3] ?? 0) - (ticks[4] ?? 0)) * 10;
  } catch {
    return null;
  }
}

/** The DynamoDB Local JVM, found by its port in /proc (Linux); undefined elsewhere. */
let dynamoPid: string | undefined;

/** CPU time DynamoDB Local has used so far, in ms; null when it cannot be read. */
function dynamoCpuMs(): number | null {
  try {
    if (!dynamoPid) return null;
    const stat = readFileSync(`/proc/${dynamoPid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime, in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

function findDynamoPid(endpoint: string): string | undefined {
  const port = new URL(endpoint).port;
  try {
    return readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .find((pid) => {
        try {
          const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\u0000');
          return args.some((arg) => arg.endsWith('java')) && args.includes(port);
        } catch {
          return false;
        }
      });
  } catch {
    return undefined;
  }
}

interface Ceiling {
  /** Conditional single-item puts returning the old item (what the ingest sends per item). */
  readonly replace_per_s: number;
  /** Items written unconditionally through BatchWriteItem (what the product store sends). */
  readonly batch_put_items_per_s: number;
  /** Items read through BatchGetItem (what the validator sends). */
  readonly batch_get_items_per_s: number;
}

/**
 * What this machine's DynamoDB Local (through the system's own KeyValue adapter) manages alone,
 * measured in the same run: the ceiling the ingest and the sync run up against.
 */
async function ceiling(system: LocalSystem, count: number): Promise<Ceiling> {
  const { kv, tables } = system.ports;
  const items = seedCatalog({ count }).map((item, index) => ({
    pk: `bench-ceiling#${item.sku}`,
    sk: 'latest',
    sku: item.sku,
    updated_at_ms: index,
    item,
  }));
  const rate = (n: number, started: number) =>
    Math.round(n / ((performance.now() - started) / 1000));

  let started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < items.length) {
        const item = items[next++] as (typeof items)[number];
        await kv.replace(tables.snapshots, item, {
          ifVersion: { attr: 'updated_at_ms', lessThan: item.updated_at_ms },
        });
      }
    }),
  );
  const replacePerS = rate(items.length, started);

  const rewritten = items.map((item) => ({ ...item, updated_at_ms: item.updated_at_ms + count }));
  started = performance.now();
  await kv.putMany(tables.snapshots, rewritten);
  const batchPutPerS = rate(items.length, started);

  started = performance.now();
  await kv.getMany(
    tables.snapshots,
    items.map(({ pk, sk }) => ({ pk, sk })),
  );
  const batchGetPerS = rate(items.length, started);

  await kv.deleteMany(
    tables.snapshots,
    items.map(({ pk, sk }) => ({ pk, sk })),
  );
  return {
    replace_per_s: replacePerS,
    batch_put_items_per_s: batchPutPerS,
    batch_get_items_per_s: batchGetPerS,
  };
}

interface WebhookLoad extends CpuUse {
  readonly requests: number;
  readonly errors: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly max_ms: number;
  readonly achieved_rps: number;
}

/**
 * `rate` single-item pushes per second for `seconds`, each fired at its scheduled time; the
 * latency runs from the schedule (not from when the event loop got round to sending it).
 */
async function webhookLoad(
  system: LocalSystem,
  config: Config,
  catalog: readonly CatalogItem[],
  requestsPerSecond: number,
  seconds: number,
): Promise<WebhookLoad> {
  const total = requestsPerSecond * seconds;
  const intervalMs = 1000 / requestsPerSecond;
  const url = `${system.url}/webhooks/catalog`;
  const base = Date.now();
  const requests = Array.from({ length: total }, (_, index) => {
    const item = catalog[index % catalog.length] as CatalogItem;
    const at = new Date(base + index);
    const body = pushBody(
      [{ ...item, price: round(item.price + 1 + index / 100, 2), updated_at: at.toISOString() }],
      `single-${runId}-${index}`,
      at,
    );
    const headers = standardWebhookHeaders(config.SELFHEAL_WEBHOOK_SECRET, {
      id: `msg_single_${runId}_${index}`,
      body,
    });
    return { body, headers };
  });

  const latencies = new Float64Array(total).fill(Number.NaN);
  let errors = 0;
  const inFlight: Promise<void>[] = [];
  const meter = cpuMeter();
  const started = performance.now();
  let next = 0;
  while (next < total) {
    const now = performance.now();
    // Fire everything due, even if the loop woke up late: the schedule, not the completions,
    // decides when a request goes out.
    while (next < total && started + next * intervalMs <= now) {
      const index = next++;
      const scheduled = started + index * intervalMs;
      const { body, headers } = requests[index] as (typeof requests)[number];
      inFlight.push(
        post(url, body, headers).then(
          (response) => {
            if (response.status === 202) latencies[index] = performance.now() - scheduled;
            else errors += 1;
          },
          () => {
            errors += 1;
          },
        ),
      );
    }
    const wait = started + next * intervalMs - performance.now();
    if (wait > 0) await sleep(wait);
    else await new Promise<void>((resolve) => setImmediate(resolve));
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - started) / 1000;
  const ok = latencies.filter((value) => !Number.isNaN(value)).sort();
  return {
    requests: total,
    errors,
    p50_ms: round(percentile(ok, 0.5), 1),
    p99_ms: round(percentile(ok, 0.99), 1),
    max_ms: round(ok.at(-1) ?? Number.NaN, 1),
    achieved_rps: Math.round(total / elapsed),
    ...meter(),
  };
}

interface SignalLatency {
  readonly samples_ms: number[];
  readonly occurred_samples_ms: number[];
}

/**
 * With R2 active, pushes the clearance items with a changed return policy `count` times and
 * measures from the sync's commit to the signal being read.
 */
async function deltaToSignal(
  system: LocalSystem,
  config: Config,
  catalog: readonly CatalogItem[],
  count: number,
  writes: StreamWatcher<'target.write'>,
): Promise<SignalLatency> {
  await system.shop.activateBuiltIn('R2');
  const clearance = catalog.filter((item) => item.category === 'clearance').slice(0, 100);
  // A dedicated connection blocks on the signals stream, so a signal is seen when it lands.
  const reader = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const signalsKey = `${streamPrefix}${streams.signals}`;
  let lastId = '$';
  const samples: number[] = [];
  const occurredSamples: number[] = [];
  try {
    for (let index = 0; index < count; index++) {
      const at = new Date();
      const items = clearance.map((item) => ({
        ...item,
        return_policy: { type: 'extended' as const, window_days: 60 + index },
        updated_at: at.toISOString(),
      }));
      // Read the stream's tail id first so the blocking read sees only what comes after.
      const tail = (await reader.call('XREVRANGE', [signalsKey, '+', '-', 'COUNT', '1'])) as Array<
        [string, string[]]
      >;
      lastId = tail[0]?.[0] ?? '0-0';
      const { pushId } = await signedPush(
        system,
        config,
        `msg_r2_${runId}_${index}`,
        pushBody(items, `r2-${runId}-${index}`, at),
      );
      let signal: { event: EventOf<'signal'>; seenAt: number } | undefined;
      const deadline = Date.now() + timeoutMs;
      while (!signal && Date.now() < deadline) {
        const reply = (await reader.call('XREAD', [
          'BLOCK',
          '1000',
          'STREAMS',
          signalsKey,
          lastId,
        ])) as Array<[string, Array<[string, string[]]>]> | null;
        const seenAt = Date.now();
        for (const [, entries] of reply ?? []) {
          for (const [id, fields] of entries) {
            lastId = id;
            const body = fields[fields.indexOf(BODY_FIELD) + 1] ?? '';
            const parsed = parseEvent(body, ['signal']);
            if (
              parsed.ok &&
              parsed.event.source === 'validator' &&
              parsed.event.data.kind === 'SchemaMismatch' &&
              parsed.event.data.push_id === pushId
            ) {
              signal ??= { event: parsed.event, seenAt };
            }
          }
        }
      }
      if (!signal) throw new Error(`no SchemaMismatch signal for ${pushId}`);
      const write = await writes.waitFor(`the target.write of ${pushId}`, (events) =>
        events.find((event) => event.data.push_id === pushId),
      );
      const committed = Date.parse(write.value.data.committed_at);
      samples.push(signal.seenAt - committed);
      occurredSamples.push(Date.parse(signal.event.occurred_at) - committed);
      // Let the probe and the rest of the pipeline settle before the next round.
      await drain(system);
    }
  } finally {
    reader.disconnect();
    await system.shop.activateBuiltIn('R1');
  }
  return { samples_ms: samples, occurred_samples_ms: occurredSamples };
}

const sortedCopy = (values: readonly number[]) => [...values].sort((a, b) => a - b);

// ---------------------------------------------------------------------------------------------
// Run

const redis = await redisOrExit(redisUrl, 'bench:ingest');
await postgresOrExit();
const dynamo = await dynamoOrExit();
dynamoPid = findDynamoPid(dynamo.endpoint);

// The sensors are measured, not the heal: the fault the signal phase injects is only observed,
// so R2 stays live for every round (a heal would put a fixed release live after the first).
const policyDir = mkdtempSync(path.join(tmpdir(), 'bench-ingest-'));
const policyFile = path.join(policyDir, 'policy.json');
writeFileSync(policyFile, JSON.stringify({ autonomy: { 'dropped-field': 'observe' } }));

const config = parseConfig({
  PORT: String(await freePort()),
  SELFHEAL_POLICY_FILE: policyFile,
  LOG_LEVEL: 'silent',
  REDIS_URL: redisUrl,
  DATABASE_URL: databaseUrl,
  DATABASE_SCHEMA: schema,
  AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
  SELFHEAL_STREAM_PREFIX: streamPrefix,
  SELFHEAL_TABLE_PREFIX: `bench-ingest-${runId}`,
  PROBE_INTERVAL_MS: '86400000',
});

let system: LocalSystem | undefined;
let exitCode = 0;
let cleaning: Promise<void> | undefined;
let interrupted = false;

/** Stops the system and removes everything the run created; safe to call twice. */
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    await system?.stop().catch(() => undefined);
    agent.destroy();
    rmSync(policyDir, { recursive: true, force: true });
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${streamPrefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    await redis.quit();
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    await admin.query(`drop schema if exists "${schema}" cascade`);
    await admin.end();
    await dynamo.stop();
  })();
  return cleaning;
}

// Interrupted runs clean up too: no JVM, stream or schema left behind.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`bench:ingest: ${signal}, cleaning up`);
    cleanUp().finally(() => process.exit(130));
  });
}
try {
  const bootStarted = performance.now();
  system = await startLocalSystem(config, createLogger('silent'));
  log(`system up in ${round((performance.now() - bootStarted) / 1000, 1)} s at ${system.url}`);
  const deltas = new StreamWatcher(system, streams.catalogDeltas, ['catalog.delta']);
  const traces = new StreamWatcher(system, streams.traces, ['trace.step']);
  const writes = new StreamWatcher(system, streams.targetWrites, ['target.write']);

  const catalog = seedCatalog({ count: itemCount });
  const result: Record<string, unknown> = {};
  const lines: string[] = [
    `ingest bench: Redis ${redisUrl}, Postgres ${databaseUrl}, DynamoDB Local ${dynamo.endpoint}`,
  ];
  const stages = (timing: Record<string, number>) =>
    Object.entries(timing)
      .map(([stage, ms]) => `${stage} ${ms} ms`)
      .join(', ');

  if (phases.has('ceiling')) {
    const limits = await ceiling(system, Math.min(itemCount, 5_000));
    Object.assign(result, {
      ceiling_replace_per_s: limits.replace_per_s,
      ceiling_batch_put_items_per_s: limits.batch_put_items_per_s,
      ceiling_batch_get_items_per_s: limits.batch_get_items_per_s,
    });
    lines.push(
      `  DynamoDB Local alone, same run: ${limits.replace_per_s} conditional replaces/s, ` +
        `${limits.batch_put_items_per_s} batch-written items/s, ` +
        `${limits.batch_get_items_per_s} batch-read items/s`,
    );
    await drain(system);
  }

  if (phases.has('push')) {
    // Both pushes are newer than the seed the shop starts from, the second newer than the first.
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    const fresh = catalog.map((item) => ({ ...item, updated_at: hourAgo }));
    const first = await timedPush(system, config, fresh, 'first', deltas, traces);
    log(`first push (${first.items} items, mostly new SKUs): ${first.seconds} s`);
    const now = new Date().toISOString();
    const changed = catalog.map((item) => ({
      ...item,
      price: round(item.price * 1.05, 2),
      updated_at: now,
    }));
    const push = await timedPush(system, config, changed, 'changed', deltas, traces);
    log(`changed push (${push.items} items): ${push.seconds} s`);
    Object.assign(result, {
      items: push.items,
      seconds: push.seconds,
      items_per_s: push.items_per_s,
      delta_s: push.delta_s,
      validator_s: push.validator_s,
      post_ms: push.post_ms,
      stage_ms: push.stage_ms,
      ingest: push.ingest,
      node_cpu_s: push.node_cpu_s,
      dynamodb_cpu_s: push.dynamodb_cpu_s,
      other_cpu_s: push.other_cpu_s,
      first_push_seconds: first.seconds,
      first_push_items_per_s: first.items_per_s,
      first_push_stage_ms: first.stage_ms,
      first_push_ingest: first.ingest,
    });
    lines.push(
      `  ${push.items}-item push: ${push.seconds} s = ${push.items_per_s} items/s (target >= 5000)`,
      `    delta seen at ${push.delta_s} s, validator step at ${push.validator_s} s, POST ${push.post_ms} ms`,
      `    stages: ${stages(push.stage_ms)}; ingest wrote ${push.ingest.written}, stale ${push.ingest.stale}`,
      `    CPU meanwhile: this process ${push.node_cpu_s} s, DynamoDB Local ${push.dynamodb_cpu_s ?? '?'} s, ` +
        `other processes ${push.other_cpu_s ?? '?'} s (${cores} cores)`,
      `  first push (new SKUs): ${first.seconds} s = ${first.items_per_s} items/s; ${stages(first.stage_ms)}`,
    );
  }

  if (phases.has('load')) {
    const load = await webhookLoad(system, config, catalog, rate, durationS);
    log(`webhook load: ${load.requests} requests, p99 ${load.p99_ms} ms`);
    const drainS = await drain(system);
    Object.assign(result, {
      webhook_p99_ms: load.p99_ms,
      webhook_p50_ms: load.p50_ms,
      webhook_max_ms: load.max_ms,
      webhook_requests: load.requests,
      webhook_errors: load.errors,
      webhook_achieved_rps: load.achieved_rps,
      webhook_drain_s: round(drainS, 2),
      webhook_node_cpu_s: load.node_cpu_s,
      webhook_dynamodb_cpu_s: load.dynamodb_cpu_s,
      webhook_other_cpu_s: load.other_cpu_s,
    });
    lines.push(
      `  webhook ${load.requests} single-item pushes at ${rate}/s: p50 ${load.p50_ms} ms, ` +
        `p99 ${load.p99_ms} ms (target <= 50), max ${load.max_ms} ms, errors ${load.errors}; ` +
        `pipeline drained ${round(drainS, 2)} s after the last response`,
      `    CPU during the load: this process ${load.node_cpu_s} s, DynamoDB Local ` +
        `${load.dynamodb_cpu_s ?? '?'} s, other processes ${load.other_cpu_s ?? '?'} s`,
    );
  }

  if (phases.has('signal')) {
    const signal = await deltaToSignal(system, config, catalog, rounds, writes);
    const signalSorted = sortedCopy(signal.samples_ms);
    const occurredSorted = sortedCopy(signal.occurred_samples_ms);
    Object.assign(result, {
      delta_to_signal_ms: round(percentile(signalSorted, 0.5), 1),
      delta_to_signal_max_ms: round(signalSorted.at(-1) ?? Number.NaN, 1),
      delta_to_signal_occurred_ms: round(percentile(occurredSorted, 0.5), 1),
      delta_to_signal_samples_ms: signal.samples_ms.map((value) => round(value, 1)),
    });
    lines.push(
      `  commit -> SchemaMismatch read: p50 ${result.delta_to_signal_ms} ms, max ` +
        `${result.delta_to_signal_max_ms} ms (target <= 200); by occurred_at p50 ` +
        `${result.delta_to_signal_occurred_ms} ms; samples ${signal.samples_ms.map((v) => round(v, 1)).join(', ')}`,
    );
  }

  // The five headline figures first, in the order the issue names them.
  const headline = {
    items: result.items ?? null,
    seconds: result.seconds ?? null,
    items_per_s: result.items_per_s ?? null,
    webhook_p99_ms: result.webhook_p99_ms ?? null,
    delta_to_signal_ms: result.delta_to_signal_ms ?? null,
  };
  if (args.json) console.log(JSON.stringify({ ...headline, ...result }));
  else console.log(lines.join('\n'));
} catch (error) {
  // An interrupted run fails where it stood; that is not worth a stack trace.
  if (!interrupted) {
    console.error(`bench:ingest failed: ${error instanceof Error ? error.stack : String(error)}`);
  }
  exitCode = 1;
} finally {
  await cleanUp();
}
process.exit(exitCode);
