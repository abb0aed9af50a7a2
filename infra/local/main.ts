import { PolicyError } from '../../functions/guard/policy.js';
import { ConfigError, parseConfig } from '../../functions/runtime/config.js';
import { createLogger } from '../../functions/runtime/logger.js';
import { startLocalSystem } from './system.js';

/**
 * The embedded local runtime: one process serving HTTP and running one poller per stage of the
 * topology manifest. SIGTERM or SIGINT drains the batches in flight, acks them, closes every
 * connection and exits 0.
 */
async function main(): Promise<void> {
  let config: ReturnType<typeof parseConfig>;
  try {
    config = parseConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config.LOG_LEVEL);
  const system = await startLocalSystem(config, logger);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining');
    for (const { stage, stats, error } of await system.stop()) {
      if (error) logger.error({ stage, err: error }, 'poller failed');
      else logger.info({ stage, ...stats }, 'poller stopped');
    }
    logger.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof PolicyError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  process.stderr.write(
    `fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
