import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { Hono } from 'hono';
import { createApiRoutes } from '../../functions/api/api-routes.js';
import { streamHealth } from '../../functions/api/stream-health.js';
import { createWebhookRoutes } from '../../functions/api/webhook-routes.js';
import type { Ports } from '../../functions/runtime/ports.js';
import { publishSignal } from '../../functions/runtime/signals.js';
import { createShopApi } from '../../functions/shop/http.js';
import type { ShopService } from '../../functions/shop/shop-service.js';
import { streams, topology } from '../topology.js';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

export interface AppOptions {
  /** Folder of the built web app (`web/dist`); the dashboard is served from it when present. */
  readonly webRoot?: string;
  /** The demo shop, served under `/shop` when this process runs it. */
  readonly shop?: ShopService;
  /** This process's own base URL, for scenarios that push through the real webhook. */
  readonly selfUrl: string;
}

/**
 * The local HTTP surface: health, API and the built dashboard. Hono, so the same routes run
 * behind a Lambda Function URL.
 */
export function createApp(ports: Ports, options: AppOptions): Hono {
  const app = new Hono();

  app.get('/healthz', async (c) => {
    try {
      return c.json({
        status: 'ok',
        backends: ports.backends,
        streams: await streamHealth(ports),
      });
    } catch (error) {
      ports.logger.error({ err: error }, 'health check failed');
      return c.json(
        { status: 'degraded', backends: ports.backends, error: 'backend unreachable' },
        503,
      );
    }
  });

  app.get('/api/topology', (c) => c.json({ streams, stages: topology }));
  app.route(
    '/api',
    createApiRoutes(ports, {
      selfUrl: options.selfUrl,
      ...(options.shop ? { shop: options.shop } : {}),
    }),
  );
  app.route('/webhooks', createWebhookRoutes(ports));
  const { shop } = options;
  if (shop) {
    app.route(
      '/shop',
      createShopApi(shop, {
        // The shop's own API is a sensor: a 5xx caused by a broken record is a signal, with
        // the request captured so verification can replay it.
        onSchemaMismatch: async (report) => {
          await publishSignal(
            ports,
            {
              kind: 'ApiError',
              target: shop.manifest.name,
              field: report.field,
              path: report.issues[0]?.path ?? report.field,
              skus: [report.sku],
              sku_count: 1,
              samples: [{ sku: report.sku, value: report.issues[0]?.message ?? null }],
              ...(report.release_id ? { release_id: report.release_id } : {}),
              request: report.request,
              response: {
                status: report.status,
                body: { error: 'SchemaMismatch', field: report.field },
              },
              onset_at: new Date().toISOString(),
              message: `${report.request.path} answered ${report.status}: record ${report.sku} breaks the contract at ${report.field}`,
            },
            { source: 'shop/api' },
          );
        },
      }),
    );
  }

  app.notFound((c) => {
    if (c.req.path.startsWith('/api/') || c.req.path.startsWith('/webhooks/')) {
      return c.json(
        { error: 'not_found', message: `no route for ${c.req.method} ${c.req.path}` },
        404,
      );
    }
    return serveWeb(c.req.path, options.webRoot);
  });

  app.onError((error, c) => {
    ports.logger.error({ err: error, path: c.req.path }, 'request failed');
    return c.json({ error: 'internal', message: 'internal error' }, 500);
  });

  return app;
}

/** Serves a file of the built web app, falling back to `index.html` for client routes. */
async function serveWeb(path: string, webRoot: string | undefined): Promise<Response> {
  if (!webRoot || !existsSync(join(webRoot, 'index.html'))) {
    return new Response('dashboard not built: run `npm run build:web`', { status: 404 });
  }
  const safe = normalize(decodeURIComponent(path)).replace(/^(\.\.[/\\])+/, '');
  const candidate = join(webRoot, safe);
  const file =
    candidate.startsWith(webRoot) && extname(candidate) && existsSync(candidate)
      ? candidate
      : join(webRoot, 'index.html');
  const body = await readFile(file);
  return new Response(body, {
    headers: { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' },
  });
}
