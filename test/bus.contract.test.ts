import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusClosedError, BusGroupMissingError } from '../functions/adapters/bus/bus-errors.js';
import { MemoryBus } from '../functions/adapters/bus/memory-bus.js';
import { RedisStreamsBus } from '../functions/adapters/bus/redis-streams-bus.js';
import { compareEntryIds, parseEntryId } from '../functions/adapters/bus/stream-entry.js';
import type { Bus, BusMessage } from '../functions/ports/bus.js';
import { requireService, TEST_REDIS_URL, uniqueName } from './support/services.js';

const redisUp = await requireService('redis');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const bodies = (messages: ReadonlyArray<{ body: string }>) => messages.map((m) => m.body);
const numbered = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}`);

/** Reads until a read comes back empty. */
async function drain(bus: Bus, stream: string, group: string, consumer: string, count = 10) {
  const all: BusMessage[] = [];
  for (;;) {
    const batch = await bus.read(stream, group, consumer, { count });
    if (batch.length === 0) return all;
    all.push(...batch);
  }
}

/** Deletes every key under a prefix (the Redis buses of this file keep their streams there). */
async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/**
 * The behaviour every Bus adapter owes its callers (see functions/ports/bus.ts). Each test
 * works on streams of its own, so the suite can share one bus.
 */
function busContract(label: string, makeBus: () => Bus) {
  describe(`Bus: ${label}`, () => {
    let bus: Bus;
    const group = 'stage';
    const fresh = () => uniqueName('stream');

    beforeAll(() => {
      bus = makeBus();
    });
    afterAll(async () => {
      await bus.close();
    });

    it('delivers the entries of a stream in append order', async () => {
      const stream = fresh();
      await bus.ensureGroup(stream, group);
      const sent = numbered('order', 26);
      const ids = await bus.publishMany(stream, sent.slice(0, 25));
      ids.push(await bus.publish(stream, sent[25] ?? ''));

      const received = await drain(bus, stream, group, 'c1', 10);

      expect(bodies(received)).toEqual(sent);
      expect(received.map((m) => m.id)).toEqual(ids);
      for (let i = 1; i < ids.length; i += 1) {
        expect(
          compareEntryIds(parseEntryId(ids[i - 1] ?? ''), parseEntryId(ids[i] ?? '')),
        ).toBeLessThan(0);
      }
      expect(received.every((m) => m.stream === stream && m.deliveries === 1)).toBe(true);
    });

    it('creates the group at the start of the stream, idempotently', async () => {
      const stream = fresh();
      await bus.publish(stream, 'before-the-group');

      await bus.ensureGroup(stream, group);
      await bus.ensureGroup(stream, group);

      expect(bodies(await drain(bus, stream, group, 'c1'))).toEqual(['before-the-group']);
    });

    it('rejects a read in a group that does not exist', async () => {
      const stream = fresh();
      await bus.publish(stream, 'x');

      await expect(bus.read(stream, 'no-such-group', 'c1', { count: 1 })).rejects.toBeInstanceOf(
        BusGroupMissingError,
      );
    });

    it('keeps entries read but not acked pending, and does not hand them out again as new', async () => {
      const stream = fresh();
      await bus.ensureGroup(stream, group);
      await bus.publishMany(stream, ['a', 'b', 'c']);

      const first = await bus.read(stream, group, 'c1', { count: 10 });
      const again = await bus.read(stream, group, 'c2', { count: 10 });

      expect(bodies(first)).toEqual(['a', 'b', 'c']);
      expect(again).toEqual([]);
      expect(await bus.stats(stream, group)).toEqual({ length: 3, pending: 3, lag: 0 });
    });

    it('acks entries and reports how many were pending', async () => {
      const stream = fresh();
      await bus.ensureGroup(stream, group);
      await bus.publishMany(stream, ['a', 'b', 'c']);
      const read = await bus.read(stream, group, 'c1', { count: 10 });
      const ids = read.map((m) => m.id);

      const acked = await bus.ack(stream, group, ids.slice(0, 2));
      const ackedAgain = await bus.ack(stream, group, ids.slice(0, 2));

      expect(acked).toBe(2);
      expect(ackedAgain).toBe(0);
      expect((await bus.stats(stream, group)).pending).toBe(1);
      expect(await bus.claimIdle(stream, group, 'c2', { minIdleMs: 0, count: 10 })).toEqual([
        expect.objectContaining({ id: ids[2], body: 'c', deliveries: 2 }),
      ]);
    });

    it('lets another consumer reclaim what a dead consumer left pending, counting the delivery', async () => {
      const stream = fresh();
      await bus.ensureGroup(stream, group);
      await bus.publishMany(stream, ['x', 'y', 'z']);
      const leftBehind = await bus.read(stream, group, 'dead', { count: 10 });

      const tooEarly = await bus.claimIdle(stream, group, 'alive', {
        minIdleMs: 60_000,
        count: 10,
      });
      await sleep(80);
      const reclaimed = await bus.claimIdle(stream, group, 'alive', { minIdleMs: 40, count: 2 });
      const rest = await bus.claimIdle(stream, group, 'alive', { minIdleMs: 40, count: 10 });
      const reclaimedTwice = await bus.claimIdle(stream, group, 'other', {
        minIdleMs: 40,
        count: 10,
      });

      expect(tooEarly).toEqual([]);
      expect(reclaimed).toEqual(leftBehind.slice(0, 2).map((m) => ({ ...m, deliveries: 2 })));
      expect(bodies(rest)).toEqual(['z']);
      expect(reclaimedTwice).toEqual([]);
      expect((await bus.stats(stream, group)).pending).toBe(3);
    });

    it('dead-letters with the original body, the reason and the delivery count, and acks', async () => {
      const stream = fresh();
      await bus.ensureGroup(stream, group);
      const id = await bus.publish(stream, '{"sku":"SKU-1001","return_policy":null}');
      await bus.read(stream, group, 'c1', { count: 1 });
      await bus.claimIdle(stream, group, 'c1', { minIdleMs: 0, count: 1 });
      const [third] = await bus.claimIdle(stream, group, 'c1', { minIdleMs: 0, count: 1 });
      if (!third) throw new Error('expected the entry to be reclaimed');

      const deadLetterId = await bus.deadLetter(group, third, 'SchemaMismatch: return_policy');

      const letters = await bus.readDeadLetters(stream);
      expect(letters).toEqual([
        {
          stream,
          group,
          originalId: id,
          body: '{"sku":"SKU-1001","return_policy":null}',
          reason: 'SchemaMismatch: return_policy',
          deliveries: 3,
          failed_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
        },
      ]);
      expect(deadLetterId).toMatch(/^\d+-\d+$/);
      expect(await bus.stats(stream, group)).toEqual({ length: 1, pending: 0, lag: 0 });
      expect(await bus.claimIdle(stream, group, 'c2', { minIdleMs: 0, count: 10 })).toEqual([]);
    });

    it('shares the work of a group between two consumers without duplicates', async () => {
      const stream = fresh();
      await bus.ensureGroup(stream, group);
      const ids = await bus.publishMany(stream, numbered('work', 60));
      const seen: Record<string, string[]> = { a: [], b: [] };

      for (let done = false; !done; ) {
        const [forA, forB] = await Promise.all([
          bus.read(stream, group, 'a', { count: 7 }),
          bus.read(stream, group, 'b', { count: 7 }),
        ]);
        seen.a?.push(...forA.map((m) => m.id));
        seen.b?.push(...forB.map((m) => m.id));
        done = forA.length === 0 && forB.length === 0;
      }

      const all = [...(seen.a ?? []), ...(seen.b ?? [])];
      expect(new Set(all).size).toBe(all.length);
      expect([...all].sort()).toEqual([...ids].sort());
      expect(seen.a?.length).toBeGreaterThan(0);
      expect(seen.b?.length).toBeGreaterThan(0);
    });

    it('counts the entries of a stream without a group, and 0 for a missing stream', async () => {
      const stream = fresh();
      await bus.publishMany(stream, numbered('len', 7));

      expect(await bus.length(stream)).toBe(7);
      expect(await bus.length(fresh())).toBe(0);
    });

    it('trims a capped stream to about maxLen, oldest entries first', async () => {
      const stream = fresh();
      const sent = numbered('trim', 1_000);
      const ids: string[] = [];
      for (let i = 0; i < sent.length; i += 250) {
        ids.push(...(await bus.publishMany(stream, sent.slice(i, i + 250), { maxLen: 100 })));
      }
      ids.push(await bus.publish(stream, 'last', { maxLen: 100 }));

      const { length } = await bus.stats(stream, group);
      const kept = await bus.range(stream, '0-0', 2_000);

      expect(length).toBeGreaterThanOrEqual(100);
      expect(length).toBeLessThanOrEqual(300);
      expect(kept).toHaveLength(length);
      expect(kept.at(-1)).toEqual({ id: ids.at(-1), body: 'last' });
      expect(kept.map((entry) => entry.id)).toEqual(ids.slice(-length));
    });

    it('reports length, pending and lag for a group', async () => {
      const stream = fresh();
      await bus.ensureGroup(stream, group);
      await bus.publishMany(stream, numbered('stats', 10));
      const read = await bus.read(stream, group, 'c1', { count: 4 });
      await bus.ack(
        stream,
        group,
        read.slice(0, 1).map((m) => m.id),
      );

      const stats = await bus.stats(stream, group);
      const otherGroup = await bus.stats(stream, 'never-created');
      const missing = await bus.stats(fresh(), group);

      expect(stats).toEqual({ length: 10, pending: 3, lag: 6 });
      expect(otherGroup).toEqual({ length: 10, pending: 0, lag: 10 });
      expect(missing).toEqual({ length: 0, pending: 0, lag: 0 });
    });

    it('reads a range after an id, without a group', async () => {
      const stream = fresh();
      const ids = await bus.publishMany(stream, ['r0', 'r1', 'r2', 'r3', 'r4']);

      const middle = await bus.range(stream, ids[1] ?? '', 2);
      const all = await bus.range(stream, '0-0', 10);
      const afterLast = await bus.range(stream, ids[4] ?? '', 10);

      expect(middle).toEqual([
        { id: ids[2], body: 'r2' },
        { id: ids[3], body: 'r3' },
      ]);
      expect(bodies(all)).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
      expect(afterLast).toEqual([]);
    });

    it('tails a stream after an id without a group, waiting for the next entry', async () => {
      const stream = fresh();
      const ids = await bus.publishMany(stream, ['t0', 't1', 't2']);

      const afterFirst = await bus.tail(stream, ids[0] ?? '', { count: 10 });
      const capped = await bus.tail(stream, '0-0', { count: 2 });
      const waiting = bus.tail(stream, ids[2] ?? '', { count: 10, blockMs: 10_000 });
      await sleep(100);
      const next = await bus.publish(stream, 't3');

      expect(afterFirst).toEqual([
        { id: ids[1], body: 't1' },
        { id: ids[2], body: 't2' },
      ]);
      expect(bodies(capped)).toEqual(['t0', 't1']);
      expect(await waiting).toEqual([{ id: next, body: 't3' }]);
      expect(await bus.tail(stream, next, { count: 10, blockMs: 50 })).toEqual([]);
      expect(await bus.tail(fresh(), '0-0', { count: 10 })).toEqual([]);
    });

    it('tails a stream that does not exist yet once it is created', async () => {
      const stream = fresh();

      const waiting = bus.tail(stream, '0-0', { count: 10, blockMs: 10_000 });
      await sleep(100);
      await bus.publish(stream, 'first');

      expect(bodies(await waiting)).toEqual(['first']);
    });

    it('names the newest entry of a stream, 0-0 for a missing one', async () => {
      const stream = fresh();
      const ids = await bus.publishMany(stream, ['l0', 'l1', 'l2']);

      expect(await bus.lastId(stream)).toBe(ids[2]);
      expect(await bus.lastId(fresh())).toBe('0-0');
      expect(await bus.tail(stream, await bus.lastId(stream), { count: 10 })).toEqual([]);
    });

    it('wakes a blocking read when an entry is published', async () => {
      const stream = fresh();
      await bus.ensureGroup(stream, group);

      const reading = bus.read(stream, group, 'c1', { count: 10, blockMs: 10_000 });
      await sleep(100);
      await bus.publish(stream, 'wake-up');

      expect(bodies(await reading)).toEqual(['wake-up']);
    });

    it('ends a blocked read empty on close and refuses calls afterwards', async () => {
      const closing = makeBus();
      const stream = fresh();
      await closing.ensureGroup(stream, group);
      const reading = closing.read(stream, group, 'c1', { count: 10, blockMs: 10_000 });
      await sleep(100);

      const tailing = closing.tail(stream, '0-0', { count: 10, blockMs: 10_000 });
      await sleep(100);

      await closing.close();

      expect(await reading).toEqual([]);
      expect(await tailing).toEqual([]);
      await expect(closing.publish(stream, 'too late')).rejects.toBeInstanceOf(BusClosedError);
    });

    it('returns nothing when a blocking read times out', async () => {
      const stream = fresh();
      await bus.ensureGroup(stream, group);

      expect(await bus.read(stream, group, 'c1', { count: 10, blockMs: 50 })).toEqual([]);
    });
  });
}

busContract('memory', () => new MemoryBus());

const redisPrefix = `${uniqueName('bus-contract')}:`;
let admin: Redis | undefined;

describe.skipIf(!redisUp)('Bus: redis (real Redis 7)', () => {
  beforeAll(() => {
    admin = new Redis(TEST_REDIS_URL);
  });
  afterAll(async () => {
    if (!admin) return;
    await deleteKeys(admin, redisPrefix);
    await admin.quit();
  });

  busContract('redis', () => new RedisStreamsBus({ url: TEST_REDIS_URL, keyPrefix: redisPrefix }));

  it('reconnects a blocking read whose connection is killed and receives what was published meanwhile', async () => {
    const connectionName = uniqueName('bus-drop');
    const bus = new RedisStreamsBus({
      url: TEST_REDIS_URL,
      keyPrefix: redisPrefix,
      connectionName,
    });
    const stream = uniqueName('dropped');
    const redis = admin ?? new Redis(TEST_REDIS_URL);
    try {
      await bus.ensureGroup(stream, 'stage');
      const reading = bus.read(stream, 'stage', 'c1', { count: 10, blockMs: 10_000 });
      const blocked = await waitForClient(redis, `${connectionName}:blocking:1`, 'xreadgroup');

      await redis.call('CLIENT', ['KILL', 'ID', blocked.id]);
      await bus.publishMany(stream, ['during-1', 'during-2', 'during-3']);

      const received = [...(await reading)];
      for (let attempt = 0; received.length < 3 && attempt < 5; attempt += 1) {
        received.push(...(await bus.read(stream, 'stage', 'c1', { count: 10, blockMs: 500 })));
      }
      const reconnected = await waitForClient(redis, `${connectionName}:blocking:1`);

      expect(bodies(received)).toEqual(['during-1', 'during-2', 'during-3']);
      expect(reconnected.id).not.toBe(blocked.id);
    } finally {
      await bus.close();
    }
  });
});

/** Polls CLIENT LIST for a connection by name (and, optionally, the command it is running). */
async function waitForClient(
  redis: Redis,
  name: string,
  command?: string,
): Promise<{ id: string }> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const list = String(await redis.call('CLIENT', ['LIST']));
    for (const line of list.split('\n')) {
      const fields = new Map(
        line
          .trim()
          .split(' ')
          .map((pair) => {
            const at = pair.indexOf('=');
            return [pair.slice(0, at), pair.slice(at + 1)] as const;
          }),
      );
      const id = fields.get('id');
      if (fields.get('name') !== name || !id) continue;
      if (command && fields.get('cmd') !== command) continue;
      return { id };
    }
    await sleep(20);
  }
  throw new Error(`no client named ${name}${command ? ` running ${command}` : ''}`);
}
