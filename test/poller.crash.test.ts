import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RedisStreamsBus } from '../functions/adapters/bus/redis-streams-bus.js';
import { createDynamoClients } from '../functions/adapters/kv/dynamodb-client.js';
import { createDynamoKv } from '../functions/adapters/kv/dynamodb-kv.js';
import { deleteTables, ensureTables, tableNames } from '../functions/adapters/kv/tables.js';
import { spawnScript, waitFor } from './support/runtime.js';
import { requireService, TEST_REDIS_URL, uniqueName } from './support/services.js';

const redisUp = await requireService('redis');
const dynamodbLocal = inject('dynamodbLocalEndpoint');
const EVENTS = 200;

describe.skipIf(!redisUp || !dynamodbLocal)(
  'Poller: crash recovery (real Redis, DynamoDB Local)',
  () => {
    const keyPrefix = `${uniqueName('crash')}:`;
    const tablePrefix = uniqueName('crash');
    const tables = tableNames(tablePrefix);
    const bus = new RedisStreamsBus({ url: TEST_REDIS_URL, keyPrefix });
    const { client, doc } = createDynamoClients({ endpoint: dynamodbLocal });
    const kv = createDynamoKv(doc);
    const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true });

    const workerEnv = (consumer: string, delayMs: number, claimIdleMs: number) => ({
      CRASH_REDIS_URL: TEST_REDIS_URL,
      CRASH_KEY_PREFIX: keyPrefix,
      CRASH_TABLE_PREFIX: tablePrefix,
      CRASH_DYNAMODB_ENDPOINT: dynamodbLocal,
      CRASH_CONSUMER: consumer,
      CRASH_DELAY_MS: String(delayMs),
      CRASH_CLAIM_IDLE_MS: String(claimIdleMs),
    });

    const appliedCounts = async (): Promise<Map<number, number>> => {
      const counts = new Map<number, number>();
      await Promise.all(
        Array.from({ length: EVENTS }, async (_, n) => {
          const item = await kv.get(tables.kv, { pk: `effect#${n}` });
          if (item) counts.set(n, Number(item.applied));
        }),
      );
      return counts;
    };

    beforeAll(async () => {
      await ensureTables(client, tables);
    });

    afterAll(async () => {
      const keys = await redis.keys(`${keyPrefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
      await bus.close();
      await deleteTables(client, tables);
      client.destroy();
    });

    it('applies every event exactly once when a poller is killed mid-batch and another takes over', async () => {
      await bus.ensureGroup('events', 'crash');
      await bus.publishMany(
        'events',
        Array.from({ length: EVENTS }, (_, n) => JSON.stringify({ n })),
      );

      // A slow first worker, so the kill lands inside a batch.
      const first = spawnScript('test/fixtures/crash-worker.ts', workerEnv('first', 15, 60_000));
      await waitFor(
        'the first worker to apply some events',
        async () => ((first.output().match(/^applied /gm)?.length ?? 0) >= 30 ? true : undefined),
        30_000,
      );
      first.child.kill('SIGKILL');
      expect(await first.exited).toBe('SIGKILL');
      const afterKill = await bus.stats('events', 'crash');
      expect(afterKill.pending, 'the kill left a batch in flight').toBeGreaterThan(0);

      const second = spawnScript('test/fixtures/crash-worker.ts', workerEnv('second', 0, 300));
      try {
        await waitFor(
          'all events applied and acked',
          async () => {
            const stats = await bus.stats('events', 'crash');
            return stats.pending === 0 && stats.lag === 0 ? stats : undefined;
          },
          60_000,
          200,
        );
      } finally {
        second.child.kill('SIGTERM');
        expect(await second.exited, second.output()).toBe(0);
      }

      const counts = await appliedCounts();
      const missing = Array.from({ length: EVENTS }, (_, n) => n).filter((n) => !counts.has(n));
      const twice = [...counts].filter(([, applied]) => applied !== 1);
      expect(missing).toEqual([]);
      expect(twice).toEqual([]);
      expect(await bus.readDeadLetters('events')).toEqual([]);
    });
  },
);
