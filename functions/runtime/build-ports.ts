import { MemoryBus } from '../adapters/bus/memory-bus.js';
import { RedisStreamsBus } from '../adapters/bus/redis-streams-bus.js';
import { createDynamoClients } from '../adapters/kv/dynamodb-client.js';
import { createDynamoKv } from '../adapters/kv/dynamodb-kv.js';
import { ensureTables, tableNames } from '../adapters/kv/tables.js';
import { createTraceStore } from '../adapters/store/create-trace-store.js';
import { loadPolicy } from '../guard/policy.js';
import type { Bus } from '../ports/bus.js';
import type { TargetRuntime } from '../target/target-runtime.js';
import { backendsOf, type Config, parseConfig } from './config.js';
import { createIdempotency } from './idempotency.js';
import { createLogger, type Logger } from './logger.js';
import type { Ports } from './ports.js';

export interface BuildPortsOptions {
  /** Starts the target this process watches, once the other ports are up. */
  readonly target?: (ports: Omit<Ports, 'target' | 'close'>) => Promise<TargetRuntime>;
}

/**
 * Builds the ports a configuration asks for: Redis Streams or the memory bus, Postgres or
 * PGlite, DynamoDB (the SDK's endpoint variables decide where) or an in-process dynalite.
 * Outside Lambda the tables are created when missing; in AWS the stack owns them.
 */
export async function buildPorts(
  config: Config,
  logger: Logger,
  options: BuildPortsOptions = {},
): Promise<Ports> {
  const backends = backendsOf(config);
  // First, so a bad policy stops start-up with its own message before anything is opened.
  const policy = loadPolicy(
    config.SELFHEAL_POLICY_FILE ? { file: config.SELFHEAL_POLICY_FILE } : {},
  );
  const closers: Array<() => Promise<void>> = [];

  const bus: Bus =
    backends.bus === 'redis' && config.REDIS_URL
      ? new RedisStreamsBus({
          url: config.REDIS_URL,
          keyPrefix: config.SELFHEAL_STREAM_PREFIX,
          defaultMaxLen: config.SELFHEAL_STREAM_MAXLEN,
          onConnectionError: (error, role) =>
            logger.warn({ err: error, role }, 'redis connection error; reconnecting'),
        })
      : new MemoryBus({ defaultMaxLen: config.SELFHEAL_STREAM_MAXLEN });
  closers.push(() => bus.close());

  try {
    // The trace store (PGlite compiles its WASM) and the key-value store start side by side.
    const [store, kvPorts] = await Promise.all([
      createTraceStore({
        DATABASE_URL: config.DATABASE_URL,
        DATABASE_SCHEMA: config.DATABASE_SCHEMA,
        PGLITE_DATA_DIR: config.PGLITE_DATA_DIR,
      }).then((created) => {
        closers.push(() => created.close());
        return created;
      }),
      startKeyValue(config, backends.kv, closers),
    ]);
    const { kv, tables } = kvPorts;
    const idempotency = createIdempotency(kv, tables.idempotency);

    const base = { config, backends, logger, bus, store, kv, idempotency, tables, policy };
    const target = options.target ? await options.target(base) : undefined;
    return { ...base, target, close: () => closeAll(closers) };
  } catch (error) {
    await closeAll(closers);
    throw error;
  }
}

/** The key-value port: an in-process dynalite or DynamoDB, with the system's tables. */
async function startKeyValue(
  config: Config,
  kind: Ports['backends']['kv'],
  closers: Array<() => Promise<void>>,
) {
  // Parsed from the SDK's own variable; passed on so a configuration built in process (tests,
  // benchmarks) reaches the same endpoint as one read from the environment.
  let endpoint = config.AWS_ENDPOINT_URL_DYNAMODB;
  if (kind === 'dynalite') {
    // Loaded only here: dynalite's native LevelDB binding must stay out of Lambda bundles.
    const { startDynalite } = await import('../adapters/kv/embedded-dynalite.js');
    const dynalite = await startDynalite({ port: 0 });
    endpoint = dynalite.endpoint;
    closers.push(() => dynalite.stop());
  }
  // An explicit region: left to itself the SDK searches for one on every request.
  const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const { client, doc } = createDynamoClients(endpoint ? { endpoint, region } : { region });
  closers.push(async () => client.destroy());
  const tables = tableNames(config.SELFHEAL_TABLE_PREFIX || undefined);
  if (!config.AWS_LAMBDA_FUNCTION_NAME) await ensureTables(client, tables);
  // dynalite has no TransactWriteItems; the embedded runtime is a single writer process.
  const kv = createDynamoKv(doc, { transactions: kind === 'dynalite' ? 'emulated' : 'native' });
  return { kv, tables };
}

/** Closes in reverse order of opening; one failure does not keep the others open. */
async function closeAll(closers: ReadonlyArray<() => Promise<void>>): Promise<void> {
  for (const close of [...closers].reverse()) {
    await close().catch(() => undefined);
  }
}

/**
 * The ports of a Lambda cold start: configuration from the environment, parsed once, and the
 * target `SELFHEAL_TARGET` names attached.
 */
export const buildPortsFromEnv = (): Promise<Ports> => {
  const config = parseConfig();
  return buildPorts(config, createLogger(config.LOG_LEVEL), {
    ...(config.SELFHEAL_TARGET === 'demo-shop'
      ? {
          // Loaded only when asked for: the stages themselves never import the target.
          target: async (base) => (await import('../shop/attach.js')).attachShop(config, base),
        }
      : {}),
  });
};
