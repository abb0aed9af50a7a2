import http from 'node:http';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createEvent, parseEvent } from '../events/index.js';
import { parseConfig } from '../functions/runtime/config.js';
import { createLogger } from '../functions/runtime/logger.js';
import { DEFAULT_STREAM_SETTINGS } from '../functions/stream/settings.js';
import { type LocalSystem, startLocalSystem } from '../infra/local/system.js';
import { streams } from '../infra/topology.js';
import { freePort } from './support/runtime.js';
import { requireService, uniqueName } from './support/services.js';
import { startTestSystem } from './support/system.js';

const redisUp = await requireService('redis');
const postgresUp = await requireService('postgres');
const dynamodbLocal = inject('dynamodbLocalEndpoint');

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** One SSE block as the client parsed it. */
interface SseFrame {
  readonly id?: string;
  readonly event?: string;
  readonly data?: string;
  readonly retry?: number;
  readonly comments: readonly string[];
}

/** A minimal SSE client over node:http: parses blocks as they arrive, or holds them unread. */
class SseClient {
  readonly frames: SseFrame[] = [];
  readonly ended: Promise<'end' | 'aborted'>;
  #buffer = '';
  #waiters = new Set<() => void>();

  private constructor(
    readonly response: http.IncomingMessage,
    readonly request: http.ClientRequest,
    read: boolean,
  ) {
    this.ended = new Promise((done) => {
      response.once('end', () => done('end'));
      response.once('aborted', () => done('aborted'));
      response.once('error', () => done('aborted'));
      response.once('close', () => done(response.complete ? 'end' : 'aborted'));
    });
    void this.ended.then(() => this.#wake());
    if (read) this.read();
    else response.pause();
  }

  static connect(
    url: string,
    options: { headers?: Record<string, string>; read?: boolean } = {},
  ): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      const request = http.get(url, { headers: options.headers ?? {}, agent: false });
      request.once('error', reject);
      request.once('response', (response) =>
        resolve(new SseClient(response, request, options.read ?? true)),
      );
    });
  }

  get status(): number {
    return this.response.statusCode ?? 0;
  }

  /** Starts (or resumes) reading the body. */
  read(): void {
    this.response.setEncoding('utf8');
    this.response.on('data', (chunk: string) => this.#parse(chunk));
    this.response.resume();
  }

  /** Frames with data: the events. */
  get events(): Array<SseFrame & { id: string; event: string; data: string }> {
    return this.frames.filter(
      (frame): frame is SseFrame & { id: string; event: string; data: string } =>
        frame.data !== undefined,
    );
  }

  /** The last id the client saw, as an `EventSource` would keep it. */
  get lastEventId(): string | undefined {
    return this.frames.findLast((frame) => frame.id !== undefined)?.id;
  }

  /** Events carrying the marker in their trace step's detail. */
  marked(marker: string) {
    return this.events.filter((frame) => {
      const parsed = parseEvent(frame.data, ['trace.step']);
      return parsed.ok && parsed.event.data.detail.marker === marker;
    });
  }

  async waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((done) => {
        const timer = setTimeout(done, Math.min(left, 200));
        this.#waiters.add(() => {
          clearTimeout(timer);
          done();
        });
      });
    }
  }

  close(): void {
    this.request.destroy();
  }

  #parse(chunk: string): void {
    this.#buffer += chunk;
    let at = this.#buffer.indexOf('\n\n');
    while (at >= 0) {
      const block = this.#buffer.slice(0, at);
      this.#buffer = this.#buffer.slice(at + 2);
      const frame: { -readonly [K in keyof SseFrame]: SseFrame[K] } = { comments: [] };
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) {
          frame.comments = [...frame.comments, line.slice(1).trim()];
          continue;
        }
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') frame.id = value;
        else if (field === 'event') frame.event = value;
        else if (field === 'data')
          frame.data = frame.data === undefined ? value : `${frame.data}\n${value}`;
        else if (field === 'retry') frame.retry = Number(value);
      }
      this.frames.push(frame);
      at = this.#buffer.indexOf('\n\n');
    }
    this.#wake();
  }

  #wake(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }
}

/** A trace step carrying a marker, the way a stage publishes one. */
function traceStep(marker: string, i: number, options: { incident?: string; pad?: number } = {}) {
  const at = new Date().toISOString();
  return JSON.stringify(
    createEvent(
      'trace.step',
      {
        stage: 'sse-test',
        status: 'ok',
        started_at: at,
        ended_at: at,
        duration_ms: 0,
        detail: { marker, i, ...(options.pad ? { pad: 'x'.repeat(options.pad) } : {}) },
      },
      { source: 'sse-test', ...(options.incident ? { incidentId: options.incident } : {}) },
    ),
  );
}

/**
 * The live trace stream against a running local system: the same tests on Redis + Postgres +
 * DynamoDB Local and (a subset) on the embedded stores.
 */
function sseSuite(
  label: string,
  start: () => Promise<{ system: LocalSystem; shutdown: () => Promise<void> }>,
  full: boolean,
) {
  describe(`GET /api/stream: ${label}`, () => {
    let system: LocalSystem;
    let shutdown: () => Promise<void>;
    let stopped = false;
    const clients: SseClient[] = [];
    const url = (query = '') => `${system.url}/api/stream${query}`;
    const connect = async (query = '', options: Parameters<typeof SseClient.connect>[1] = {}) => {
      const client = await SseClient.connect(url(query), options);
      clients.push(client);
      return client;
    };
    const publish = (body: string) => system.ports.bus.publish(streams.traces, body);
    const publishSteps = async (marker: string, n: number, options?: { incident?: string }) => {
      const ids: string[] = [];
      for (let i = 0; i < n; i += 1) ids.push(await publish(traceStep(marker, i, options)));
      return ids;
    };
    const ids = (frames: ReadonlyArray<{ id: string }>) => frames.map((frame) => frame.id);

    beforeAll(async () => {
      ({ system, shutdown } = await start());
    });
    afterAll(async () => {
      for (const client of clients) client.close();
      if (!stopped) await shutdown();
    });

    it('answers an event stream whose frames carry the entry id, the envelope type and the envelope', async () => {
      const client = await connect();
      const marker = uniqueName('frames');

      const published = await publishSteps(marker, 3, { incident: 'inc_frames' });
      await client.waitFor('3 events', () => client.marked(marker).length === 3);

      expect(client.status).toBe(200);
      expect(client.response.headers['content-type']).toBe('text/event-stream');
      expect(client.response.headers['cache-control']).toBe('no-cache');
      expect(client.response.headers['content-encoding']).toBeUndefined();
      // The opening frame: the retry hint and, for a fresh client, where it starts.
      expect(client.frames[0]).toMatchObject({ retry: DEFAULT_STREAM_SETTINGS.retryMs });
      expect(client.frames[0]?.id).toMatch(/^\d+-\d+$/);
      const events = client.marked(marker);
      expect(ids(events)).toEqual(published);
      for (const frame of events) {
        expect(frame.event).toBe('trace.step');
        const parsed = parseEvent(frame.data);
        expect(parsed.ok).toBe(true);
        if (parsed.ok) expect(parsed.event.incident_id).toBe('inc_frames');
      }
      client.close();
    });

    it('delivers what is published while clients are connected, in order, to each from where it joined', async () => {
      const marker = uniqueName('order');
      const first = await connect();
      const published: string[] = [];
      let late: SseClient | undefined;
      for (let i = 0; i < 60; i += 1) {
        if (i % 3 === 0) {
          published.push(
            ...(await system.ports.bus.publishMany(streams.traces, [
              traceStep(marker, i),
              traceStep(marker, i + 0.5),
            ])),
          );
        } else {
          published.push(await publish(traceStep(marker, i)));
        }
        if (i === 25) late = await connect();
        if (i % 10 === 0) await sleep(5);
      }
      if (!late) throw new Error('the late client did not connect');
      const lateClient = late;
      await first.waitFor('every event', () => first.marked(marker).length === published.length);
      const lateFrom = lateClient.frames[0]?.id ?? '';
      const expectedLate = published.slice(published.indexOf(lateFrom) + 1);
      await lateClient.waitFor(
        'the events after it joined',
        () => lateClient.marked(marker).length === expectedLate.length,
      );

      expect(ids(first.marked(marker))).toEqual(published);
      // The late client started at the id of its opening frame: exactly what came after it.
      expect(published).toContain(lateFrom);
      expect(ids(lateClient.marked(marker))).toEqual(expectedLate);
      first.close();
      lateClient.close();
    });

    it('resumes after Last-Event-ID with exactly the entries after it, then live ones', async () => {
      const marker = uniqueName('resume');
      const before = await publishSteps(marker, 30);

      const byHeader = await connect('', { headers: { 'last-event-id': before[9] ?? '' } });
      const byQuery = await connect(`?lastEventId=${before[19]}`);
      // The header (a browser's reconnect) wins over the query (the URL of the first connect).
      const both = await connect(`?lastEventId=${before[0]}`, {
        headers: { 'last-event-id': before[24] ?? '' },
      });
      const live = await publishSteps(marker, 5);
      const all = [...before, ...live];
      await byHeader.waitFor('replay and live', () => byHeader.marked(marker).length === 25);
      await byQuery.waitFor('replay and live', () => byQuery.marked(marker).length === 15);
      await both.waitFor('replay and live', () => both.marked(marker).length === 10);
      await sleep(100);

      expect(ids(byHeader.marked(marker))).toEqual(all.slice(10));
      expect(ids(byQuery.marked(marker))).toEqual(all.slice(20));
      expect(ids(both.marked(marker))).toEqual(all.slice(25));
      // A reconnecting client is not told where it started: it knows.
      expect(byHeader.frames[0]?.id).toBeUndefined();
      for (const client of [byHeader, byQuery, both]) client.close();
    });

    it('hands over from replay to live without a gap or a duplicate while publishing goes on', async () => {
      const marker = uniqueName('handover');
      const published: string[] = [];
      let publishing = true;
      const publisher = (async () => {
        for (let i = 0; publishing || i < 50; i += 1) {
          published.push(await publish(traceStep(marker, i)));
          if (i % 4 === 0) await sleep(1);
        }
      })();
      const resumed: Array<{ client: SseClient; after: string }> = [];
      for (let round = 0; round < 5; round += 1) {
        await sleep(30);
        const after = published[Math.floor(published.length / 2)] ?? '0-0';
        resumed.push({ client: await connect('', { headers: { 'last-event-id': after } }), after });
      }
      publishing = false;
      await publisher;

      for (const { client, after } of resumed) {
        const expected = published.slice(published.indexOf(after) + 1);
        await client.waitFor(
          'every entry after its id',
          () => client.marked(marker).length >= expected.length,
        );
        await sleep(50);
        expect(ids(client.marked(marker))).toEqual(expected);
        client.close();
      }
    });

    it('answers 400 for a malformed Last-Event-ID or incident', async () => {
      const badHeader = await fetch(url(), { headers: { 'last-event-id': 'yesterday' } });
      const badQuery = await fetch(url('?lastEventId=12-ab'));
      const badIncident = await fetch(url('?incident='));

      expect(badHeader.status).toBe(400);
      expect(await badHeader.json()).toMatchObject({
        error: 'bad_request',
        field: 'Last-Event-ID',
      });
      expect(badQuery.status).toBe(400);
      expect(badIncident.status).toBe(400);
      expect((await fetch(url(), { method: 'POST' })).status).toBe(405);
    });

    if (full) fullTests();

    it('ends open stream connections promptly when the system stops', async () => {
      const open = [
        await connect(),
        await connect('?incident=inc_x'),
        await connect('', { read: false }),
      ];

      const started = performance.now();
      stopped = true;
      await shutdown();
      const took = performance.now() - started;
      const endings = await Promise.all(open.slice(0, 2).map((client) => client.ended));

      expect(took).toBeLessThan(5_000);
      expect(endings).toEqual(['end', 'end']);
      expect(system.stream.stats().connections).toBe(0);
    });

    function fullTests() {
      it('filters by ?incident=, in order, and moves the client past what it was not sent', async () => {
        const marker = uniqueName('filter');
        const client = await connect('?incident=inc_a');
        const published: Array<{ id: string; incident: string }> = [];
        for (let i = 0; i < 20; i += 1) {
          const incident = i % 3 === 0 ? 'inc_a' : 'inc_b';
          published.push({ id: await publish(traceStep(marker, i, { incident })), incident });
        }
        const wanted = published.filter((entry) => entry.incident === 'inc_a').map((e) => e.id);
        await client.waitFor('inc_a events', () => client.marked(marker).length === wanted.length);
        await sleep(100);

        expect(ids(client.marked(marker))).toEqual(wanted);
        for (const frame of client.marked(marker)) {
          const parsed = parseEvent(frame.data);
          expect(parsed.ok && parsed.event.incident_id).toBe('inc_a');
        }
        // Replay applies the filter too.
        const replay = await connect(`?incident=inc_a&lastEventId=${published[0]?.id}`);
        await replay.waitFor(
          'replayed inc_a',
          () => replay.marked(marker).length === wanted.length - 1,
        );
        expect(ids(replay.marked(marker))).toEqual(wanted.slice(1));
        client.close();
        replay.close();
      });

      it('skips an entry that fails validation, counts it, and keeps streaming', async () => {
        const marker = uniqueName('malformed');
        const client = await connect();
        const invalidBefore = system.stream.stats().invalid;

        const good1 = await publish(traceStep(marker, 1));
        const notJson = await publish('{"type": "trace.step", ');
        const badEnvelope = await publish(
          JSON.stringify({ id: 'x', type: 'trace.step', version: 1, source: 's', data: {} }),
        );
        const unknownType = await publish(
          JSON.stringify({
            id: 'y',
            type: 'no.such.event',
            version: 1,
            occurred_at: new Date().toISOString(),
            source: 's',
            data: {},
          }),
        );
        const good2 = await publish(traceStep(marker, 2));
        await client.waitFor('both good events', () => client.marked(marker).length === 2);

        expect(ids(client.marked(marker))).toEqual([good1, good2]);
        const sent = new Set(client.frames.map((frame) => frame.id));
        for (const bad of [notJson, badEnvelope, unknownType]) expect(sent.has(bad)).toBe(false);
        for (const frame of client.events) expect(parseEvent(frame.data).ok).toBe(true);
        expect(system.stream.stats().invalid - invalidBefore).toBe(3);

        // The replay path skips them as well.
        const replay = await connect('', { headers: { 'last-event-id': good1 } });
        await replay.waitFor('the second good event', () => replay.marked(marker).length === 1);
        expect(ids(replay.marked(marker))).toEqual([good2]);
        expect(system.stream.stats().invalid - invalidBefore).toBe(6);
        client.close();
        replay.close();
      });

      it('one tailer per process reads each entry once for every client', async () => {
        const marker = uniqueName('fanout');
        const many = await Promise.all(Array.from({ length: 25 }, () => connect()));
        const before = system.stream.stats();

        await publishSteps(marker, 40);
        for (const client of many) {
          await client.waitFor('40 events', () => client.marked(marker).length === 40);
        }
        const after = system.stream.stats();

        expect(after.subscribers).toBeGreaterThanOrEqual(25);
        // 40 entries for 25 clients: about one read per entry (plus the read in flight and a
        // timed-out one or two), never one per client (1,000).
        expect(after.tailReads - before.tailReads).toBeLessThanOrEqual(45);
        expect(after.tailEntries - before.tailEntries).toBeGreaterThanOrEqual(40);
        expect(after.tailEntries - before.tailEntries).toBeLessThan(40 * 2);
        for (const client of many) client.close();
      });

      it('sends heartbeats and ends the connection after the maximum time, cleanly', async () => {
        system.stream.configure({ heartbeatMs: 100, maxConnectionMs: 900 });
        try {
          const marker = uniqueName('deadline');
          const started = performance.now();
          const client = await connect('?incident=inc_nobody');
          await sleep(200);
          // Published for another incident: filtered out, but the client moves past it.
          const skipped = await publish(traceStep(marker, 0, { incident: 'inc_other' }));

          const ending = await client.ended;
          const lasted = performance.now() - started;

          expect(ending).toBe('end');
          expect(lasted).toBeGreaterThanOrEqual(850);
          expect(lasted).toBeLessThan(5_000);
          const beats = client.frames.filter((frame) => frame.comments.includes('hb'));
          expect(beats.length).toBeGreaterThanOrEqual(5);
          expect(client.events).toEqual([]);
          // The clean end names how far the client got, so its reconnect does not replay it.
          expect(client.lastEventId).toBe(skipped);
        } finally {
          system.stream.configure({
            heartbeatMs: DEFAULT_STREAM_SETTINGS.heartbeatMs,
            maxConnectionMs: DEFAULT_STREAM_SETTINGS.maxConnectionMs,
          });
        }
      });

      // 15 MB through loopback: the time limits are generous for a CI run in which CDK bundling
      // shares the two cores.
      it('drops a client that does not read without holding back one that does', async () => {
        const limit = 256 * 1024;
        system.stream.configure({ clientBufferBytes: limit });
        try {
          const marker = uniqueName('slow');
          const droppedBefore = system.stream.stats().dropped;
          const slow = await connect('', { read: false });
          const fast = await connect();
          const count = 150;
          const published: string[] = [];
          const bodies = Array.from({ length: count }, (_, i) =>
            traceStep(marker, i, { pad: 100_000 }),
          );
          // Two entries (200 KB, under the limit) at a time, each pair read by the fast client
          // before the next is sent: on a loaded machine the fast client shares this process
          // with the server, and a burst it had no time to read would drop it too, rightly.
          for (let i = 0; i < count; i += 2) {
            published.push(
              ...(await system.ports.bus.publishMany(streams.traces, bodies.slice(i, i + 2))),
            );
            const sent = published.length;
            await fast.waitFor(`${sent} events`, () => fast.marked(marker).length >= sent, 60_000);
          }

          expect(fast.marked(marker)).toHaveLength(count);
          expect(ids(fast.marked(marker))).toEqual(published);
          await fast.waitFor(
            'the slow client dropped',
            () => system.stream.stats().dropped > droppedBefore,
          );
          expect(system.stream.stats().dropped - droppedBefore).toBe(1);

          // The dropped client finds its connection cut after what was already in flight...
          slow.read();
          expect(await slow.ended).toBe('aborted');
          const received = slow.marked(marker);
          expect(received.length).toBeLessThan(count);
          expect(ids(received)).toEqual(published.slice(0, received.length));
          // ...and resumes from its last id with exactly the rest.
          const resumed = await connect('', {
            headers: { 'last-event-id': slow.lastEventId ?? '0-0' },
          });
          await resumed.waitFor(
            'the rest',
            () => resumed.marked(marker).length === count - received.length,
            60_000,
          );
          expect(ids(resumed.marked(marker))).toEqual(published.slice(received.length));
          fast.close();
          resumed.close();
        } finally {
          system.stream.configure({ clientBufferBytes: DEFAULT_STREAM_SETTINGS.clientBufferBytes });
        }
      }, 150_000);
    }
  });
}

describe.skipIf(!redisUp || !postgresUp || !dynamodbLocal)('live trace stream', () => {
  sseSuite(
    'Redis + Postgres + DynamoDB Local',
    async () => {
      const system = await startTestSystem(dynamodbLocal);
      // dispose() stops the system, then removes its Redis keys and Postgres schema.
      return { system, shutdown: () => system.dispose() };
    },
    true,
  );
});

sseSuite(
  'embedded stores',
  async () => {
    const system = await startLocalSystem(
      parseConfig({
        PORT: String(await freePort()),
        PROBE_INTERVAL_MS: '3600000',
        POLLER_BLOCK_MS: '50',
      }),
      createLogger('silent'),
    );
    return { system, shutdown: () => system.stop().then(() => undefined) };
  },
  false,
);
