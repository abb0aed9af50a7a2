import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { serve } from '@hono/node-server';
import { buildPorts } from '../../functions/runtime/build-ports.js';
import { ConfigError, parseConfig } from '../../functions/runtime/config.js';
import { createLogger } from '../../functions/runtime/logger.js';
import { type PollerStats, runPoller } from '../../functions/runtime/poller.js';
import { providePorts } from '../../functions/runtime/ports.js';
import type { StreamBatchHandler } from '../../functions/runtime/stream-batch.js';
import { topology } from '../topology.js';
import { createApp } from './app.js';

const root = resolve(import.meta.dirname, '../..');

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
  const ports = await buildPorts(config, logger);
  providePorts(ports);
  logger.info({ backends: ports.backends }, 'ports ready');

  const abort = new AbortController();
  const consumer = `${hostname()}-${process.pid}`;
  const pollers: Promise<PollerStats>[] = [];
  for (const stage of topology) {
    const module = (await import(pathToFileURL(join(root, stage.handler)).href)) as {
      handler: StreamBatchHandler;
    };
    const stageLogger = logger.child({ component: `poller:${stage.name}` });
    pollers.push(
      runPoller({
        bus: ports.bus,
        stage,
        handler: module.handler,
        consumer,
        signal: abort.signal,
        blockMs: config.POLLER_BLOCK_MS,
        claimIdleMs: config.POLLER_CLAIM_IDLE_MS,
        logger: stageLogger,
        onDeadLetter: (info) => stageLogger.warn(info, 'dead-lettered'),
      }),
    );
  }

  const app = createApp(ports, { webRoot: join(root, 'web/dist') });
  const server = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }, (info) =>
    logger.info({ url: `http://${config.HOST}:${info.port}` }, 'listening'),
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining');
    server.close();
    abort.abort();
    const stats = await Promise.allSettled(pollers);
    stats.forEach((result, i) => {
      const stage = topology[i]?.name;
      if (result.status === 'fulfilled') logger.info({ stage, ...result.value }, 'poller stopped');
      else logger.error({ stage, err: result.reason }, 'poller failed');
    });
    await ports.close();
    logger.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(
    `fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
