import { CreateTableCommand, DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createEvent } from '../events/index.js';
import { DynamoTraceMirror, mirrorSortKey } from '../functions/adapters/bus/dynamo-trace-mirror.js';
import { MemoryBus } from '../functions/adapters/bus/memory-bus.js';
import {
  createDynamoClients,
  type DynamoClients,
} from '../functions/adapters/kv/dynamodb-client.js';
import {
  type EmbeddedDynalite,
  startDynalite,
} from '../functions/adapters/kv/embedded-dynalite.js';
import { copyTraceStream, stepOutcomeOf } from '../functions/stream/trace-mirror.js';
import { uniqueName } from './support/services.js';

const dynamodbLocal = inject('dynamodbLocalEndpoint');

/** A `trace.step` body as a stage publishes it. */
const stepBody = (stage: string, status: 'ok' | 'failed' | 'rolled_back', n = 0): string =>
  JSON.stringify(
    createEvent(
      'trace.step',
      {
        stage,
        status,
        started_at: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
        ended_at: new Date(Date.UTC(2026, 0, 1, 0, 0, n, 5)).toISOString(),
        duration_ms: 5,
        detail: { n },
      },
      { source: stage, incidentId: 'inc-1' },
    ),
  );

describe('stepOutcomeOf', () => {
  it('reads the stage and status of a trace step', () => {
    expect(stepOutcomeOf(stepBody('heal', 'rolled_back'))).toEqual({
      stage: 'heal',
      status: 'rolled_back',
      incidentId: 'inc-1',
    });
  });

  it('ignores anything that is not a valid trace step', () => {
    expect(stepOutcomeOf('not json')).toBeUndefined();
    expect(stepOutcomeOf(JSON.stringify({ type: 'trace.step', version: 1 }))).toBeUndefined();
  });
});

describe('mirrorSortKey', () => {
  it('orders ids numerically, whatever their number of digits', () => {
    const ids = ['9-1', '10-0', '10-2', '10-10', '1700000000000-0', '1700000000000-11'];
    const keys = ids.map(mirrorSortKey);
    expect([...keys].sort()).toEqual(keys);
  });
});

const backends: Array<[string, () => Promise<{ endpoint: string; stop(): Promise<void> }>]> = [
  ['dynalite', async (): Promise<EmbeddedDynalite> => startDynalite()],
];
if (dynamodbLocal) {
  backends.push([
    'DynamoDB Local',
    async () => ({ endpoint: dynamodbLocal, stop: async () => {} }),
  ]);
}

describe.each(backends)('DynamoTraceMirror on %s', (_name, start) => {
  let server: { endpoint: string; stop(): Promise<void> };
  let clients: DynamoClients;
  let table: string;

  beforeAll(async () => {
    server = await start();
    clients = createDynamoClients({ endpoint: server.endpoint });
    table = uniqueName('trace-mirror');
    await clients.client.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
      }),
    );
  });

  afterAll(async () => {
    await clients.client.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
    clients.client.destroy();
    await server.stop();
  });

  /** A mirror of its own stream name, so tests do not see each other's entries. */
  const mirrorOf = (options: { pollMs?: number } = {}) =>
    new DynamoTraceMirror({ doc: clients.doc, table, pollMs: options.pollMs ?? 20 });

  it('reads what the bus holds, with the same ids, from any position', async () => {
    const bus = new MemoryBus();
    const stream = uniqueName('s');
    const ids: string[] = [];
    for (let n = 0; n < 12; n += 1) ids.push(await bus.publish(stream, stepBody('rca', 'ok', n)));
    const mirror = mirrorOf();
    const stats = await copyTraceStream({
      source: bus,
      target: mirror,
      stream,
      blockMs: 0,
      shouldStop: (() => {
        let reads = 0;
        return () => reads++ > 1;
      })(),
    });
    expect(stats).toMatchObject({ read: 12, written: 12, present: 0 });
    expect(await mirror.lastId(stream)).toBe(ids.at(-1));
    for (const after of ['0-0', ids[0], ids[5], ids.at(-1)] as string[]) {
      expect(await mirror.range(stream, after, 100)).toEqual(await bus.range(stream, after, 100));
    }
    expect(await mirror.range(stream, '0-0', 3)).toEqual(await bus.range(stream, '0-0', 3));
    expect(await mirror.lastId(uniqueName('empty'))).toBe('0-0');
  });

  it('waits in tail for the next entry, and answers empty when none comes in time', async () => {
    const mirror = mirrorOf();
    const stream = uniqueName('s');
    const started = performance.now();
    expect(await mirror.tail(stream, '0-0', { count: 10, blockMs: 120 })).toEqual([]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(100);

    const waiting = mirror.tail(stream, '0-0', { count: 10, blockMs: 5_000 });
    await new Promise((done) => setTimeout(done, 50));
    await mirror.write(stream, { id: '5-1', body: 'late' });
    expect(await waiting).toEqual([{ id: '5-1', body: 'late' }]);
  });

  it('counts each entry once when two copiers overlap, and leaves no gap', async () => {
    const bus = new MemoryBus();
    const stream = uniqueName('s');
    const bodies = [
      stepBody('heal', 'rolled_back', 1),
      stepBody('rca', 'failed', 2),
      stepBody('heal', 'ok', 3),
      'not an event',
    ];
    for (const body of bodies) await bus.publish(stream, body);
    const counted: Array<string | undefined> = [];
    const copier = () => {
      let reads = 0;
      return copyTraceStream({
        source: bus,
        target: mirrorOf(),
        stream,
        blockMs: 0,
        shouldStop: () => reads++ > 2,
        onCopied: (_entry, outcome) =>
          counted.push(outcome ? `${outcome.stage}:${outcome.status}` : undefined),
      });
    };
    const [first, second] = await Promise.all([copier(), copier()]);
    expect((first?.written ?? 0) + (second?.written ?? 0)).toBe(bodies.length);
    expect(counted.sort()).toEqual(['heal:ok', 'heal:rolled_back', 'rca:failed', undefined].sort());
    expect((await mirrorOf().range(stream, '0-0', 10)).map((e) => e.body)).toEqual(bodies);

    // A later copier resumes from the end of the copy: nothing is written twice.
    await bus.publish(stream, stepBody('heal', 'failed', 4));
    const third = await copier();
    expect(third).toMatchObject({ written: 1, present: 0 });
    expect(counted).toContain('heal:failed');
  });

  it('refuses to write an entry twice', async () => {
    const mirror = mirrorOf();
    const stream = uniqueName('s');
    expect(await mirror.write(stream, { id: '1-0', body: 'a' })).toBe('written');
    expect(await mirror.write(stream, { id: '1-0', body: 'a' })).toBe('present');
  });

  it('stops waiting when closed', async () => {
    const mirror = mirrorOf({ pollMs: 30 });
    const waiting = mirror.tail(uniqueName('s'), '0-0', { count: 1, blockMs: 10_000 });
    await mirror.close();
    expect(await waiting).toEqual([]);
    await expect(mirror.lastId('x')).rejects.toThrow(/closed/);
  });
});
