import { Redis } from 'ioredis';
import pg from 'pg';
import { type EventOf, type EventType, parseEvent } from '../../events/index.js';
import { parseConfig } from '../../functions/runtime/config.js';
import { createLogger } from '../../functions/runtime/logger.js';
import { type LocalSystem, startLocalSystem } from '../../infra/local/system.js';
import { topology } from '../../infra/topology.js';
import { freePort } from './runtime.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from './services.js';

/** A whole local system on real Redis, Postgres and DynamoDB Local, isolated by prefixes. */
export interface TestSystem extends LocalSystem {
  /** Events of a type on a stream, oldest first. */
  events<T extends EventType>(stream: string, type: T): Promise<EventOf<T>[]>;
  /** Resolves once every stage has consumed and acked everything on its input stream. */
  idle(timeoutMs?: number): Promise<void>;
  /** Stops the system and removes its Redis keys and Postgres schema. */
  dispose(): Promise<void>;
}

export async function startTestSystem(
  dynamodbEndpoint: string,
  env: Record<string, string> = {},
): Promise<TestSystem> {
  const prefix = `${uniqueName('sys')}:`;
  const schema = uniqueName('sys').replace(/[^a-z0-9_]/g, '_');
  const config = parseConfig({
    PORT: String(await freePort()),
    REDIS_URL: TEST_REDIS_URL,
    DATABASE_URL: TEST_DATABASE_URL,
    DATABASE_SCHEMA: schema,
    AWS_ENDPOINT_URL_DYNAMODB: dynamodbEndpoint,
    SELFHEAL_STREAM_PREFIX: prefix,
    SELFHEAL_TABLE_PREFIX: uniqueName('sys'),
    POLLER_BLOCK_MS: '50',
    PROBE_INTERVAL_MS: '3600000',
    ...env,
  });
  const system = await startLocalSystem(config, createLogger('silent'));
  return {
    ...system,
    async events(stream, type) {
      const entries = await system.ports.bus.range(stream, '0-0', 100_000);
      return entries.flatMap(({ body }) => {
        const parsed = parseEvent(body, [type]);
        return parsed.ok ? [parsed.event] : [];
      });
    },
    async idle(timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      let quietRounds = 0;
      // Two quiet looks in a row: a stage may publish to the next stream between two reads.
      while (quietRounds < 2) {
        if (Date.now() > deadline) throw new Error(`pipeline not idle after ${timeoutMs} ms`);
        const stats = await Promise.all(
          topology.map((stage) => system.ports.bus.stats(stage.input, stage.name)),
        );
        quietRounds = stats.every((s) => s.lag === 0 && s.pending === 0) ? quietRounds + 1 : 0;
        await new Promise((done) => setTimeout(done, 100));
      }
    },
    async dispose() {
      await system.stop();
      const redis = new Redis(TEST_REDIS_URL);
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      await client.query(`drop schema if exists "${schema}" cascade`);
      await client.end();
    },
  };
}
