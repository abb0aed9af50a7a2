import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createEvent } from '../events/index.js';
import { DEMO_ADMIN_TOKEN } from '../functions/runtime/config.js';
import { freePort, type SpawnedScript, spawnScript, waitFor } from './support/runtime.js';
import {
  requireService,
  TEST_DATABASE_URL,
  TEST_REDIS_URL,
  uniqueName,
} from './support/services.js';

interface Health {
  status: string;
  backends: { bus: string; store: string; kv: string };
  streams: Record<string, { length: number; pending: number; lag: number; dead_letters: number }>;
}

const redisUp = await requireService('redis');
const postgresUp = await requireService('postgres');
const dynamodbLocal = inject('dynamodbLocalEndpoint');
// Start-up takes a few seconds on an idle machine (its target is 30 s); the suite runs beside
// other heavy files on two cores, so the wait only guards against a runtime that never answers.
const STARTUP_WAIT_MS = 90_000;

async function startRuntime(env: NodeJS.ProcessEnv) {
  const port = await freePort();
  const runtime = spawnScript('infra/local/main.ts', { PORT: String(port), ...env });
  const url = `http://127.0.0.1:${port}`;
  const health = async (): Promise<Health | undefined> => {
    const response = await fetch(`${url}/healthz`);
    return response.ok ? ((await response.json()) as Health) : undefined;
  };
  return { runtime, url, health };
}

async function stop(runtime: SpawnedScript): Promise<number | string> {
  runtime.child.kill('SIGTERM');
  return runtime.exited;
}

describe('Local runtime: embedded', () => {
  it('answers /healthz naming the embedded backends, heals the flagship fault, exits 0 on SIGTERM', async () => {
    const { runtime, health, url } = await startRuntime({
      REDIS_URL: '',
      DATABASE_URL: '',
      AWS_ENDPOINT_URL_DYNAMODB: '',
    });
    try {
      const first = await waitFor('healthz', health, STARTUP_WAIT_MS);

      expect(first.status).toBe('ok');
      expect(first.backends).toEqual({ bus: 'memory', store: 'pglite', kv: 'dynalite' });
      expect(Object.keys(first.streams)).toContain('catalog.pushes');
      expect(first.streams['catalog.pushes']).toMatchObject({ length: 0, pending: 0, lag: 0 });

      // The flagship fault heals by itself on the embedded stores, with no further action.
      const admin = { authorization: `Bearer ${DEMO_ADMIN_TOKEN}` };
      const injected = await fetch(`${url}/api/scenarios/return-policy-sync/inject`, {
        method: 'POST',
        headers: admin,
      });
      expect(injected.status).toBe(202);
      const healed = await waitFor(
        'a healed incident',
        async () => {
          const response = await fetch(`${url}/api/incidents?status=healed`);
          const { incidents } = (await response.json()) as { incidents: Array<{ id: string }> };
          return incidents[0];
        },
        60_000,
      );
      expect(healed.id).toMatch(/^inc_/);
      const eligibility = await fetch(`${url}/shop/returns/eligibility`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ order_id: '8734', sku: 'SKU-1001' }),
      });
      expect(eligibility.status).toBe(200);
      const chain = (await (await fetch(`${url}/api/audit/verify`)).json()) as { ok: boolean };
      expect(chain.ok).toBe(true);
    } finally {
      const code = await stop(runtime);
      expect(code, runtime.output()).toBe(0);
    }
    expect(runtime.output()).toContain('"msg":"stopped"');
  }, 120_000);

  it('refuses to start on an invalid configuration and names every bad key', async () => {
    const runtime = spawnScript('infra/local/main.ts', {
      PORT: 'not-a-port',
      REDIS_URL: 'http://wrong-scheme',
    });
    const code = await runtime.exited;

    expect(code).toBe(1);
    expect(runtime.output()).toContain('PORT');
    expect(runtime.output()).toContain('REDIS_URL (must be a URL with protocol redis: or rediss:)');
  });

  it('refuses to start on an invalid policy and names the file and the field', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'policy-'));
    const file = path.join(dir, 'policy.json');
    writeFileSync(file, JSON.stringify({ autonomy: { 'dropped-field': 'always' } }));
    try {
      const runtime = spawnScript('infra/local/main.ts', {
        PORT: String(await freePort()),
        SELFHEAL_POLICY_FILE: file,
      });
      const code = await runtime.exited;

      expect(code).toBe(1);
      expect(runtime.output()).toContain(`${file}: autonomy.dropped-field`);
      expect(runtime.output()).not.toContain('fatal:');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!redisUp || !postgresUp || !dynamodbLocal)('Local runtime: real servers', () => {
  const prefix = `${uniqueName('runtime')}:`;
  const schema = uniqueName('runtime').replace(/[^a-z0-9_]/g, '_');
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true });

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    await client.query(`drop schema if exists "${schema}" cascade`);
    await client.end();
  });

  it('names Redis, Postgres and DynamoDB, dead-letters a malformed event and keeps going', async () => {
    const { runtime, health } = await startRuntime({
      REDIS_URL: TEST_REDIS_URL,
      DATABASE_URL: TEST_DATABASE_URL,
      DATABASE_SCHEMA: schema,
      AWS_ENDPOINT_URL_DYNAMODB: dynamodbLocal,
      SELFHEAL_STREAM_PREFIX: prefix,
      SELFHEAL_TABLE_PREFIX: uniqueName('rt'),
    });
    try {
      const first = await waitFor('healthz', health, STARTUP_WAIT_MS);
      expect(first.backends).toEqual({ bus: 'redis', store: 'postgres', kv: 'dynamodb' });

      const valid = createEvent(
        'catalog.push',
        {
          push_id: 'push-1',
          catalog_version: 'v1',
          pushed_at: new Date().toISOString(),
          items: [{ sku: 'SKU-1', updated_at: new Date().toISOString() }],
        },
        { source: 'test' },
      );
      await redis.xadd(`${prefix}catalog.pushes`, '*', 'b', '{"type":"catalog.push","version":1');
      await redis.xadd(`${prefix}catalog.pushes`, '*', 'b', JSON.stringify(valid));

      const settled = await waitFor(
        'both events handled',
        async () => {
          const h = await health();
          const s = h?.streams['catalog.pushes'];
          return s && s.dead_letters === 2 && s.lag === 0 && s.pending === 0 ? h : undefined;
        },
        15_000,
      );
      // Both stages reading catalog.pushes (ingest and sync) refuse it, each in its own group.
      expect(settled.streams['catalog.pushes']).toMatchObject({ length: 2, dead_letters: 2 });
      const [letter] = await redis.xrange(`${prefix}catalog.pushes.dlq`, '-', '+');
      expect(JSON.stringify(letter)).toContain('malformed JSON');
      // The valid push went on through ingest and sync, each leaving a measured trace step.
      expect(await redis.xlen(`${prefix}traces`)).toBeGreaterThanOrEqual(2);
    } finally {
      const code = await stop(runtime);
      expect(code, runtime.output()).toBe(0);
    }
  }, 120_000);
});
