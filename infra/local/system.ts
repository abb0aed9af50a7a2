import { createServer } from 'node:http';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { getRequestListener } from '@hono/node-server';
import { startScheduledProbe } from '../../functions/probe/schedule.js';
import { buildPorts } from '../../functions/runtime/build-ports.js';
import type { Config } from '../../functions/runtime/config.js';
import type { Logger } from '../../functions/runtime/logger.js';
import { type PollerStats, runPoller } from '../../functions/runtime/poller.js';
import { type Ports, providePorts } from '../../functions/runtime/ports.js';
import type { StreamBatchHandler } from '../../functions/runtime/stream-batch.js';
import { warmHealingPath } from '../../functions/runtime/warm.js';
import { createShopService, type ShopService } from '../../functions/shop/shop-service.js';
import { parseStreamSettings, type StreamSettings } from '../../functions/stream/settings.js';
import { createTraceStream, type TraceStream } from '../../functions/stream/sse-handler.js';
import { topology } from '../topology.js';
import { createApp } from './app.js';
import { createStreamShim, installLambdaStreamingRuntime } from './stream-shim.js';

/** The path the live trace stream answers on; every other path is the Hono app's. */
const STREAM_PATH = '/api/stream';

const root = resolve(import.meta.dirname, '../..');

/** A running local system: HTTP, one poller per stage, the demo shop and the scheduled probe. */
export interface LocalSystem {
  readonly url: string;
  readonly ports: Ports;
  readonly shop: ShopService;
  /** The live trace stream (`GET /api/stream`): its settings and counters. */
  readonly stream: TraceStream;
  /**
   * Ends the open stream connections, drains the pollers (in-flight batches finish and are
   * acked), closes everything.
   */
  stop(): Promise<Array<{ stage: string; stats?: PollerStats; error?: unknown }>>;
}

export interface LocalSystemOptions {
  /** Stream settings over those of the `SELFHEAL_SSE_*` environment variables. */
  readonly stream?: Partial<StreamSettings>;
}

/** Starts the whole local system on `config.HOST:config.PORT`. */
export async function startLocalSystem(
  config: Config,
  logger: Logger,
  options: LocalSystemOptions = {},
): Promise<LocalSystem> {
  // First, so a bad SELFHEAL_SSE_* value stops start-up before anything is opened.
  const streamSettings = { ...parseStreamSettings(), ...options.stream };
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
  // GET /api/stream is the Lambda-shaped streaming handler, run by the shim as the Lambda
  // runtime would; every other path goes to the Hono app.
  installLambdaStreamingRuntime();
  const streamLogger = logger.child({ component: 'stream' });
  const stream = createTraceStream({
    resources: () => ({ bus: ports.bus, logger: streamLogger }),
    settings: streamSettings,
  });
  const shim = createStreamShim(stream.handler, { logger: streamLogger });
  const honoListener = getRequestListener(app.fetch, { hostname: config.HOST });
  await warming;
  const server = createServer({ noDelay: true }, (request, response) => {
    const path = (request.url ?? '/').split('?', 1)[0] ?? '/';
    // The outage scenario: the shop's front drops its connections unanswered.
    if (path.startsWith('/shop/') && !theShop.available()) request.socket.destroy();
    else if (path === STREAM_PATH) shim.handle(request, response);
    else void honoListener(request, response);
  });
  server.listen(config.PORT, config.HOST);
  await new Promise<void>((done, fail) => {
    server.once('listening', () => done());
    server.once('error', fail);
  });
  logger.info({ url }, 'listening');

  return {
    url,
    ports,
    shop: theShop,
    stream,
    async stop() {
      const closed = new Promise<void>((done) => server.close(() => done()));
      // Stream clients get a clean end (they would reconnect with their last id), and those
      // that do not take it within a second are cut, so stopping never waits on a client.
      stream.close();
      await shim.close(1_000);
      server.closeIdleConnections();
      const stragglers = setTimeout(() => server.closeAllConnections(), 5_000);
      await closed;
      clearTimeout(stragglers);
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
