/**
 * `npm run bench:sse -- --json [--clients 200] [--events 1000] [--rate 200] [--embedded]`: the
 * live trace stream under many clients. Starts the local system (Redis, Postgres and DynamoDB
 * Local; `--embedded`: the embedded stores), connects `--clients` SSE clients to
 * `GET /api/stream` over loopback from a child process (so clients and server each have a
 * core), then publishes `--events` `trace.step` envelopes on the traces stream at `--rate` per
 * second (0: all at once), each carrying its publish time in `detail`. Every client must
 * receive every event once, in order; latency runs from the publish call to the moment the
 * client parsed the frame.
 *
 * Same-run baseline: the same events at the same rate on another stream, read by one raw
 * `Bus.tail` (`XREAD BLOCK` on Redis) in the server process: what the bus alone costs from
 * publish to read. `tailer_reads` counts the shared tailer's round trips to the bus: one
 * reader for all clients, not one per client.
 *
 * Prints `{ clients, events, delivered, missing, p50_ms, p95_ms, ... }`; exits 1 when an event
 * is missing or duplicated. Stops by itself and removes its Redis keys, Postgres schema and
 * DynamoDB Local.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createEvent } from '../events/index.js';
import type { Bus } from '../functions/ports/bus.js';
import { streams } from '../infra/topology.js';
import { type IsolatedSystem, startIsolatedSystem } from './isolated-system.js';
import { percentile, round } from './support.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    embedded: { type: 'boolean', default: false },
    clients: { type: 'string', default: '200' },
    events: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '200' },
    // Internal: this file run as the client process.
    'client-process': { type: 'boolean', default: false },
    url: { type: 'string' },
    marker: { type: 'string' },
  },
});

const count = (name: string, raw: string | undefined, min = 1): number => {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    console.error(`bench:sse: --${name} must be an integer ≥ ${min}, got '${raw}'`);
    process.exit(2);
  }
  return value;
};

const clients = count('clients', args.clients);
const events = count('events', args.events);
const rate = count('rate', args.rate, 0);

/** Epoch milliseconds with sub-millisecond resolution. */
const nowMs = (): number => performance.timeOrigin + performance.now();

/** What the client process reports. */
interface ClientReport {
  readonly connected: number;
  readonly delivered: number;
  readonly duplicates: number;
  readonly outOfOrder: number;
  readonly invalid: number;
  /** CPU the client process spent from the first publish to the report, in ms. */
  readonly cpuMs: number;
  /** Publish-to-receipt latency per delivered event and client. */
  readonly latencies: Float64Array;
}

type ParentMessage = { type: 'published'; count: number };
type ChildMessage = { type: 'ready'; connected: number } | { type: 'report'; report: ClientReport };

// ---------------------------------------------------------------------------------------------
// The client process: `--clients` SSE connections, each parsing every frame it receives.

async function runClients(url: string, marker: string): Promise<void> {
  const send = (message: ChildMessage) => process.send?.(message);
  const seen = Array.from({ length: clients }, () => new Uint8Array(events));
  const lastSeq = new Int32Array(clients).fill(-1);
  const latencies = new Float64Array(clients * events);
  let delivered = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  let invalid = 0;
  let expected = Number.POSITIVE_INFINITY;
  let finished: () => void = () => {};
  const allDelivered = new Promise<void>((done) => {
    finished = done;
  });
  const requests: http.ClientRequest[] = [];

  const onFrame = (client: number, block: string) => {
    const dataAt = block.indexOf('\ndata: ');
    if (dataAt < 0) return;
    const at = nowMs();
    let seq: number;
    let publishedAt: number;
    try {
      const envelope = JSON.parse(block.slice(dataAt + 7)) as {
        data: { detail: { marker?: string; seq: number; published_at: number } };
      };
      if (envelope.data.detail.marker !== marker) return;
      seq = envelope.data.detail.seq;
      publishedAt = envelope.data.detail.published_at;
    } catch {
      invalid += 1;
      return;
    }
    const flags = seen[client];
    if (!flags || seq < 0 || seq >= events) return;
    if (flags[seq]) {
      duplicates += 1;
      return;
    }
    flags[seq] = 1;
    if (seq < (lastSeq[client] ?? -1)) outOfOrder += 1;
    lastSeq[client] = seq;
    latencies[delivered] = at - publishedAt;
    delivered += 1;
    if (delivered >= expected) finished();
  };

  const connected = await Promise.all(
    Array.from(
      { length: clients },
      (_, client) =>
        new Promise<boolean>((resolve) => {
          const request = http.get(url, { agent: false }, (response) => {
            if (response.statusCode !== 200) {
              response.resume();
              resolve(false);
              return;
            }
            response.setEncoding('utf8');
            let buffer = '';
            let opened = false;
            response.on('data', (chunk: string) => {
              buffer += chunk;
              let end = buffer.indexOf('\n\n');
              while (end >= 0) {
                const block = buffer.slice(0, end);
                buffer = buffer.slice(end + 2);
                if (!opened) {
                  // The opening frame (retry hint and start id): subscribed from here on.
                  opened = true;
                  resolve(true);
                } else {
                  onFrame(client, block);
                }
                end = buffer.indexOf('\n\n');
              }
            });
            response.once('error', () => resolve(false));
          });
          request.once('error', () => resolve(false));
          requests.push(request);
        }),
    ),
  );
  send({ type: 'ready', connected: connected.filter(Boolean).length });
  const cpuBefore = process.cpuUsage();

  await new Promise<void>((done) => {
    process.on('message', (message: ParentMessage) => {
      if (message.type !== 'published') return;
      expected = message.count * connected.filter(Boolean).length;
      if (delivered >= expected) finished();
      done();
    });
  });
  // Whatever has not arrived 10 s after the last publish is missing.
  await Promise.race([allDelivered, new Promise((done) => setTimeout(done, 10_000))]);
  const cpu = process.cpuUsage(cpuBefore);
  for (const request of requests) request.destroy();
  const report: ChildMessage = {
    type: 'report',
    report: {
      connected: connected.filter(Boolean).length,
      delivered,
      duplicates,
      outOfOrder,
      invalid,
      cpuMs: (cpu.user + cpu.system) / 1000,
      latencies: latencies.slice(0, delivered),
    },
  };
  // Disconnect only once the report is written: the channel would drop it otherwise.
  process.send?.(report, undefined, {}, () => process.disconnect?.());
}

// ---------------------------------------------------------------------------------------------
// The server process.

function traceStep(marker: string, seq: number): string {
  const at = new Date().toISOString();
  return JSON.stringify(
    createEvent(
      'trace.step',
      {
        stage: 'bench',
        status: 'ok',
        started_at: at,
        ended_at: at,
        duration_ms: 0,
        detail: { marker, seq, published_at: nowMs() },
      },
      { source: 'bench/sse' },
    ),
  );
}

/** Publishes `events` envelopes at `rate` per second (all at once for 0); resolves the count. */
async function publishPaced(bus: Bus, stream: string, marker: string): Promise<number> {
  const started = performance.now();
  let next = 0;
  while (next < events) {
    const due =
      rate === 0
        ? events
        : Math.min(events, Math.floor(((performance.now() - started) * rate) / 1000) + 1);
    if (due > next) {
      const bodies: string[] = [];
      for (; next < due; next += 1) bodies.push(traceStep(marker, next));
      if (bodies.length === 1) await bus.publish(stream, bodies[0] ?? '');
      else await bus.publishMany(stream, bodies);
    } else {
      const wait = (next * 1000) / rate - (performance.now() - started);
      await new Promise((done) => setTimeout(done, Math.max(0, wait)));
    }
  }
  return next;
}

/** The raw bus: the same events at the same rate, read by one `Bus.tail` loop. */
async function baseline(bus: Bus): Promise<Float64Array> {
  const stream = 'bench.sse.baseline';
  const marker = `baseline-${process.pid}`;
  const latencies = new Float64Array(events).fill(Number.NaN);
  let received = 0;
  let position = await bus.lastId(stream);
  let publishing = true;
  const reading = (async () => {
    while (received < events) {
      const entries = await bus.tail(stream, position, { count: 1_000, blockMs: 1_000 });
      const at = nowMs();
      if (entries.length === 0 && !publishing) break;
      for (const entry of entries) {
        position = entry.id;
        const { data } = JSON.parse(entry.body) as {
          data: { detail: { seq: number; published_at: number } };
        };
        if (Number.isNaN(latencies[data.detail.seq])) received += 1;
        latencies[data.detail.seq] = at - data.detail.published_at;
      }
    }
  })();
  await publishPaced(bus, stream, marker);
  publishing = false;
  await reading;
  return latencies.filter((value) => !Number.isNaN(value));
}

async function runServer(): Promise<number> {
  const runId = `${Date.now().toString(36)}${process.pid}`;
  let isolated: IsolatedSystem | undefined;
  let child: ChildProcess | undefined;
  let exitCode = 0;
  try {
    isolated = await startIsolatedSystem({ name: 'bench:sse', embedded: args.embedded });
    const { system } = isolated;
    const marker = `bench-${runId}`;
    const script = fileURLToPath(import.meta.url);
    const spawned = spawn(
      process.execPath,
      [
        ...process.execArgv,
        script,
        '--client-process',
        '--url',
        `${system.url}/api/stream`,
        '--marker',
        marker,
        '--clients',
        String(clients),
        '--events',
        String(events),
      ],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' },
    );
    child = spawned;
    const messages: ChildMessage[] = [];
    let wake: () => void = () => {};
    spawned.on('message', (message: ChildMessage) => {
      messages.push(message);
      wake();
    });
    const exited = new Promise<void>((done) => spawned.once('close', () => done()));
    const next = async <T extends ChildMessage['type']>(type: T) => {
      for (;;) {
        const found = messages.find((message) => message.type === type);
        if (found) return found as Extract<ChildMessage, { type: T }>;
        const woken = new Promise<void>((done) => {
          wake = done;
        });
        if (
          (await Promise.race([woken.then(() => 'message'), exited.then(() => 'exit')])) === 'exit'
        ) {
          const late = messages.find((message) => message.type === type);
          if (late) return late as Extract<ChildMessage, { type: T }>;
          throw new Error(`the client process exited before sending '${type}'`);
        }
      }
    };

    const ready = await next('ready');
    if (ready.connected !== clients) {
      throw new Error(`only ${ready.connected} of ${clients} clients connected`);
    }
    const before = system.stream.stats();
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const published = await publishPaced(system.ports.bus, streams.traces, marker);
    const publishSeconds = (performance.now() - started) / 1000;
    spawned.send({ type: 'published', count: published } satisfies ParentMessage);
    const { report } = await next('report');
    const cpu = process.cpuUsage(cpuBefore);
    const seconds = (performance.now() - started) / 1000;
    const after = system.stream.stats();
    const base = await baseline(system.ports.bus);

    const sorted = report.latencies.slice().sort();
    const baseSorted = base.slice().sort();
    const expected = published * clients;
    const result = {
      clients,
      events: published,
      delivered: report.delivered,
      missing: expected - report.delivered,
      duplicates: report.duplicates,
      out_of_order: report.outOfOrder,
      p50_ms: round(percentile(sorted, 0.5), 2),
      p95_ms: round(percentile(sorted, 0.95), 2),
      p99_ms: round(percentile(sorted, 0.99), 2),
      max_ms: round(sorted.at(-1) ?? Number.NaN, 2),
      baseline_bus_p50_ms: round(percentile(baseSorted, 0.5), 2),
      baseline_bus_p95_ms: round(percentile(baseSorted, 0.95), 2),
      tailer_reads: after.tailReads - before.tailReads,
      tailer_entries: after.tailEntries - before.tailEntries,
      dropped_clients: after.dropped - before.dropped,
      server_cpu_pct: round((cpu.user + cpu.system) / 10_000 / seconds, 1),
      client_cpu_pct: round(report.cpuMs / 10 / seconds, 1),
      rate_per_s: rate,
      publish_seconds: round(publishSeconds, 2),
      stores: isolated.stores,
      targets: { missing: 0, p95_ms: 100 },
    };
    if (args.json) {
      console.log(JSON.stringify(result));
    } else {
      console.log(JSON.stringify(result, null, 2));
    }
    if (result.missing !== 0 || result.duplicates !== 0 || result.out_of_order !== 0) exitCode = 1;
  } catch (error) {
    console.error(`bench:sse: ${(error as Error).message}`);
    exitCode = 1;
  } finally {
    if (child && child.exitCode === null) child.kill('SIGTERM');
    await isolated?.dispose().catch(() => undefined);
  }
  return exitCode;
}

if (args['client-process']) {
  if (!args.url || !args.marker) {
    console.error('bench:sse: the client process needs --url and --marker');
    process.exit(2);
  }
  await runClients(args.url, args.marker);
} else {
  process.exit(await runServer());
}
