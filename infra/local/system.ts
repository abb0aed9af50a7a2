import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { serve } from '@hono/node-server';
import { startScheduledProbe } from '../../functions/probe/schedule.js';
import { buildPorts } from '../../functions/runtime/build-ports.js';
import type { Config } from '../../functions/runtime/config.js';
import type { Logger } from '../../functions/runtime/logger.js';
import { type PollerStats, runPoller } from '../../functions/runtime/poller.js';
import { type Ports, providePorts } from '../../functions/runtime/ports.js';
import type { StreamBatchHandler } from '../../functions/runtime/stream-batch.js';
import { warmHealingPath } from '../../functions/runtime/warm.js';
import { createShopService, type ShopService } from '../../functions/shop/shop-service.js';
import { topology } from '../topology.js';
import { createApp } from './app.js';

const root = resolve(import.meta.dirname, '../..');

/** A running local system: HTTP, one poller per stage, the demo shop and the scheduled probe. */
export interface LocalSystem {
  readonly url: string;
  readonly ports: Ports;
  readonly shop: ShopService;
  /** Drains the pollers (in-flight batches finish and are acked), closes everything. */
  stop(): Promise<Array<{ stage: string; stats?: PollerStats; error?: unknown }>>;
}

/** Starts the whole local system on `config.HOST:config.PORT`. */
export async function startLocalSystem(config: Config, logger: Logger): Promise<LocalSystem> {
  let shop: ShopService | undefined;
  const ports = await buildPorts(config, logger, {
    target: async (base) => {
      shop = await createShopService({
        kv: base.kv,
        table: base.tables.kv,
        snapshotsTable: base.tables.snapshots,
      });
      return shop;
    },
  });
  if (!shop) throw new Error('the demo shop did not start');
  const theShop: ShopService = shop;
  providePorts(ports);
  logger.info({ backends: ports.backends }, 'ports ready');
  const warming = warmHealingPath(ports, theShop);

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

  const url = `http://${config.HOST}:${config.PORT}`;
  const app = createApp(ports, { webRoot: join(root, 'web/dist'), selfUrl: url, shop: theShop });
  const stopProbe = startScheduledProbe(ports, theShop, { intervalMs: config.PROBE_INTERVAL_MS });
  await warming;
  const server = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST });
  await new Promise<void>((done, fail) => {
    server.once('listening', () => done());
    server.once('error', fail);
  });
  logger.info({ url }, 'listening');

  return {
    url,
    ports,
    shop: theShop,
    async stop() {
      await new Promise<void>((done) => server.close(() => done()));
      abort.abort();
      await stopProbe();
      const settled = await Promise.allSettled(pollers);
      await ports.close();
      return settled.map((result, i) => ({
        stage: topology[i]?.name ?? String(i),
        ...(result.status === 'fulfilled' ? { stats: result.value } : { error: result.reason }),
      }));
    },
  };
}
