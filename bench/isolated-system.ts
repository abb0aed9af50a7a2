import pg from 'pg';
import { type Config, parseConfig } from '../functions/runtime/config.js';
import { createLogger } from '../functions/runtime/logger.js';
import { type LocalSystem, startLocalSystem } from '../infra/local/system.js';
import { type DynamoDbLocal, startDynamoDbLocal } from '../test/support/dynamodb-local.js';
import { freePort } from '../test/support/runtime.js';
import { redisOrExit } from './support.js';

/** A local system in a namespace of its own, and how to remove every trace of it. */
export interface IsolatedSystem {
  readonly system: LocalSystem;
  readonly config: Config;
  /** `redis+postgres+dynamodb-local` or `embedded`. */
  readonly stores: string;
  /** Stops the system and deletes its Redis keys, Postgres schema and DynamoDB Local. */
  dispose(): Promise<void>;
}

export interface IsolatedSystemOptions {
  /** Prefix of the namespace and of error messages (`bench:heal`, `scenarios`). */
  readonly name: string;
  /** The embedded stores instead of Redis, Postgres and DynamoDB Local. */
  readonly embedded: boolean;
  /** Extra environment for the system's configuration. */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * Starts the whole local system for a benchmark or the scenario harness: against real Redis,
 * Postgres and DynamoDB Local (started from the npm package) in a namespace of its own, or on
 * the embedded stores. A server that does not answer ends the process with exit 1 and its own
 * error: a run without its stores has nothing to measure.
 */
export async function startIsolatedSystem(options: IsolatedSystemOptions): Promise<IsolatedSystem> {
  const runId = `${Date.now().toString(36)}${process.pid}`;
  const slug = options.name.replace(/[^a-z0-9]+/g, '_');
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const schema = `${slug}_${runId}`;
  const streamPrefix = `${slug}-${runId}:`;
  const env: Record<string, string> = {
    PORT: String(await freePort()),
    LOG_LEVEL: 'silent',
    PROBE_INTERVAL_MS: '86400000',
    ...options.env,
  };
  let dynamo: DynamoDbLocal | undefined;
  if (!options.embedded) {
    (await redisOrExit(redisUrl, options.name)).disconnect();
    const client = new pg.Client({ connectionString: databaseUrl });
    try {
      await client.connect();
    } catch (error) {
      console.error(
        `${options.name}: Postgres is not answering at ${databaseUrl}: ${(error as Error).message}`,
      );
      process.exit(1);
    } finally {
      await client.end().catch(() => undefined);
    }
    try {
      dynamo = await startDynamoDbLocal();
    } catch (error) {
      console.error(`${options.name}: DynamoDB Local could not start: ${(error as Error).message}`);
      process.exit(1);
    }
    Object.assign(env, {
      REDIS_URL: redisUrl,
      DATABASE_URL: databaseUrl,
      DATABASE_SCHEMA: schema,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      SELFHEAL_STREAM_PREFIX: streamPrefix,
      SELFHEAL_TABLE_PREFIX: `${slug}-${runId}`,
    });
  }
  const config = parseConfig(env);
  const cleanup = async () => {
    if (options.embedded) return;
    const { Redis } = await import('ioredis');
    const redis = new Redis(redisUrl);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${streamPrefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    await redis.quit();
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    await client.query(`drop schema if exists "${schema}" cascade`);
    await client.end();
    await dynamo?.stop();
  };
  let system: LocalSystem;
  try {
    system = await startLocalSystem(config, createLogger('silent'));
  } catch (error) {
    await cleanup().catch(() => undefined);
    throw error;
  }
  return {
    system,
    config,
    stores: options.embedded ? 'embedded' : 'redis+postgres+dynamodb-local',
    async dispose() {
      await system.stop().catch(() => undefined);
      await cleanup();
    },
  };
}
