import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { Hono } from 'hono';
import { deadLetterStreamOf, type StreamStats } from '../../functions/ports/bus.js';
import type { Ports } from '../../functions/runtime/ports.js';
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

/** Per-stream figures of `/healthz`: the consuming stage's view plus dead letters. */
export interface StreamHealth extends StreamStats {
  readonly group: string;
  readonly dead_letters: number;
}

/** Stats of every stage's input stream, read through the stage's consumer group. */
export async function streamHealth(ports: Ports): Promise<Record<string, StreamHealth>> {
  const entries = await Promise.all(
    topology.map(async (stage) => {
      const [stats, deadLetters] = await Promise.all([
        ports.bus.stats(stage.input, stage.name),
        ports.bus.length(deadLetterStreamOf(stage.input)),
      ]);
      return [stage.input, { group: stage.name, ...stats, dead_letters: deadLetters }] as const;
    }),
  );
  return Object.fromEntries(entries);
}

export interface AppOptions {
  /** Folder of the built web app (`web/dist`); the dashboard is served from it when present. */
  readonly webRoot?: string;
}

/**
 * The local HTTP surface: health, API and the built dashboard. Hono, so the same routes run
 * behind a Lambda Function URL.
 */
export function createApp(ports: Ports, options: AppOptions = {}): Hono {
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
