import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DEMO_ADMIN_TOKEN, DEMO_WEBHOOK_SECRET } from '../functions/runtime/config.js';
import { priceChangePush } from '../functions/shop/scenarios.js';
import { signShopifyWebhook } from '../functions/webhooks/shopify.js';
import { standardWebhookHeaders } from '../functions/webhooks/standard-webhooks.js';
import { waitFor } from './support/runtime.js';
import { requireService } from './support/services.js';
import { startTestSystem, type TestSystem } from './support/system.js';

const redisUp = await requireService('redis');
const postgresUp = await requireService('postgres');
const dynamodbLocal = inject('dynamodbLocalEndpoint');
const MAX_PUSH_BYTES = 200_000;
const shopifySecret = 'test-shopify-secret';
const shopifyFixture = readFileSync(
  join(import.meta.dirname, 'fixtures/shopify-products-update.json'),
  'utf8',
);

let counter = 0;
const nextId = () => `msg_test_${Date.now()}_${counter++}`;

describe.skipIf(!redisUp || !postgresUp || !dynamodbLocal)(
  'Sensors (real Redis, Postgres, DynamoDB Local)',
  () => {
    let system: TestSystem;

    const post = (path: string, body: string, headers: Record<string, string> = {}) =>
      fetch(new URL(path, system.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
    const signed = (
      body: string,
      options: { id?: string; secret?: string; timestamp?: Date } = {},
    ) =>
      post('/webhooks/catalog', body, {
        ...standardWebhookHeaders(options.secret ?? DEMO_WEBHOOK_SECRET, {
          id: options.id ?? nextId(),
          body,
          ...(options.timestamp ? { timestamp: options.timestamp } : {}),
        }),
      });
    const pushes = () => system.ports.bus.length('catalog.pushes');

    beforeAll(async () => {
      system = await startTestSystem(dynamodbLocal, {
        SELFHEAL_MAX_PUSH_BYTES: String(MAX_PUSH_BYTES),
        SHOPIFY_WEBHOOK_SECRET: shopifySecret,
      });
    });
    afterAll(async () => {
      await system?.dispose();
    });

    describe('a clean push', () => {
      it('produces a delta of price changes and no signal', async () => {
        const body = JSON.stringify(priceChangePush(new Date(), 'electronics'));

        const response = await signed(body);
        expect(response.status).toBe(202);
        const { push_id: pushId } = (await response.json()) as { push_id: string };

        const delta = await waitFor(
          'the catalog delta',
          async () =>
            (await system.events('catalog.deltas', 'catalog.delta')).find(
              (d) => d.data.push_id === pushId,
            ),
          10_000,
        );
        expect(delta.data.changes.length).toBeGreaterThan(0);
        expect(delta.data.changes.every((change) => change.field === 'price')).toBe(true);
        // Wait until both sensors have looked at this push before asserting silence.
        await waitFor(
          'validator and probe steps',
          async () => {
            const steps = await system.events('traces', 'trace.step');
            const done = new Set(
              steps.filter((s) => s.data.detail.push_id === pushId).map((s) => s.data.stage),
            );
            return done.has('validator') && done.has('probe') ? true : undefined;
          },
          10_000,
        );
        expect(await system.ports.store.listSignals({ limit: 10 })).toEqual([]);
        expect(await system.events('signals', 'signal')).toEqual([]);
      });
    });

    describe('bad input at /webhooks/catalog', () => {
      it('refuses an unsigned push with 401 and stores nothing', async () => {
        const before = await pushes();
        const response = await post(
          '/webhooks/catalog',
          JSON.stringify(priceChangePush(new Date())),
        );
        expect(response.status).toBe(401);
        expect(await response.json()).toMatchObject({ error: 'missing-headers' });
        expect(await pushes()).toBe(before);
      });

      it('refuses a push signed with another secret', async () => {
        const before = await pushes();
        const response = await signed(JSON.stringify(priceChangePush(new Date())), {
          secret: 'whsec_b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldC0zMmJ5dGVzIQ==',
        });
        expect(response.status).toBe(401);
        expect(await response.json()).toMatchObject({ error: 'bad-signature' });
        expect(await pushes()).toBe(before);
      });

      it('refuses a push signed more than 5 minutes ago', async () => {
        const response = await signed(JSON.stringify(priceChangePush(new Date())), {
          timestamp: new Date(Date.now() - 6 * 60_000),
        });
        expect(response.status).toBe(401);
        expect(await response.json()).toMatchObject({ error: 'stale-timestamp' });
      });

      it('answers 400 to malformed JSON', async () => {
        const before = await pushes();
        const response = await signed('{"catalog_version": "v1", "items": [');
        expect(response.status).toBe(400);
        expect(await pushes()).toBe(before);
      });

      it('answers 400 with the paths of the first issues when the push fails its schema', async () => {
        const response = await signed(JSON.stringify({ catalog_version: 'v1', items: 'none' }));
        expect(response.status).toBe(400);
        const body = (await response.json()) as { issues: Array<{ path: string }> };
        expect(body.issues.map((issue) => issue.path)).toEqual(
          expect.arrayContaining(['pushed_at', 'items']),
        );
      });

      it('answers 413 to a body over the size limit without reading it into a push', async () => {
        const before = await pushes();
        const items = Array.from({ length: 2_000 }, (_, i) => ({
          sku: `SKU-BIG-${i}`,
          updated_at: new Date().toISOString(),
          title: 'x'.repeat(100),
        }));
        const response = await signed(
          JSON.stringify({ catalog_version: 'big', pushed_at: new Date().toISOString(), items }),
        );
        expect(response.status).toBe(413);
        expect(await pushes()).toBe(before);
      });

      it('rejects an invalid item with its index and SKU while the valid ones proceed', async () => {
        const now = new Date().toISOString();
        const body = JSON.stringify({
          catalog_version: 'mixed',
          pushed_at: now,
          items: [
            { sku: 'SKU-1002', title: 'ok', updated_at: now },
            { sku: 'SKU-1003', updated_at: 'yesterday' },
            { sku: 'SKU-1004', title: 'ok', updated_at: now },
          ],
        });
        const response = await signed(body);
        expect(response.status).toBe(202);
        const answer = (await response.json()) as {
          items: number;
          rejected: number;
          rejected_items: Array<{ index: number; sku?: string }>;
        };
        expect(answer).toMatchObject({ items: 2, rejected: 1 });
        expect(answer.rejected_items[0]).toMatchObject({ index: 1, sku: 'SKU-1003' });
      });

      it('acknowledges a redelivered webhook-id with the same push_id and processes it once', async () => {
        const id = nextId();
        const body = JSON.stringify(priceChangePush(new Date(), 'home'));
        const before = await pushes();

        const first = (await (await signed(body, { id })).json()) as { push_id: string };
        const again = await signed(body, { id });
        const second = (await again.json()) as { push_id: string; duplicate: boolean };

        expect(again.status).toBe(202);
        expect(second).toMatchObject({ push_id: first.push_id, duplicate: true });
        expect(await pushes()).toBe(before + 1);
      });
    });

    describe('Shopify products/update at /webhooks/shopify', () => {
      const shopifyHeaders = (body: string, hmac = signShopifyWebhook(shopifySecret, body)) => ({
        'x-shopify-hmac-sha256': hmac,
        'x-shopify-webhook-id': nextId(),
        'x-shopify-topic': 'products/update',
        'x-shopify-shop-domain': 'demo.myshopify.com',
      });

      it('accepts a payload in Shopify\u2019s documented shape and maps its variants to a push', async () => {
        const before = await pushes();
        const response = await post(
          '/webhooks/shopify',
          shopifyFixture,
          shopifyHeaders(shopifyFixture),
        );
        expect(response.status).toBe(202);
        const answer = (await response.json()) as { items: number };
        expect(answer.items).toBeGreaterThan(0);
        expect(await pushes()).toBe(before + 1);
        const [event] = (await system.events('catalog.pushes', 'catalog.push')).slice(-1);
        expect(event?.data.items[0]).toMatchObject({
          sku: 'SKU-1001',
          price: 89.5,
          currency: 'EUR',
        });
      });

      it('refuses a tampered body with 401', async () => {
        const headers = shopifyHeaders(shopifyFixture);
        const tampered = shopifyFixture.replace('"89.50"', '"0.01"');
        const response = await post('/webhooks/shopify', tampered, headers);
        expect(response.status).toBe(401);
      });
    });

    describe('bad input elsewhere', () => {
      it('answers 400 naming the field of a wrong eligibility request', async () => {
        const response = await post(
          '/shop/returns/eligibility',
          JSON.stringify({ order_id: 8734 }),
        );
        expect(response.status).toBe(400);
        expect(await response.json()).toMatchObject({ field: 'order_id' });
      });

      it('answers 400 to a product listing with a bad limit', async () => {
        const response = await fetch(new URL('/shop/products?limit=lots', system.url));
        expect(response.status).toBe(400);
        expect(await response.json()).toMatchObject({ field: 'limit' });
      });

      it('refuses admin actions without the token, and says when the token is wrong', async () => {
        const missing = await post('/api/scenarios/reset', '');
        const wrong = await post('/api/scenarios/reset', '', { authorization: 'Bearer nope' });
        expect(missing.status).toBe(401);
        expect(wrong.status).toBe(401);
        expect(await wrong.json()).toMatchObject({ message: 'admin token is wrong or expired' });
      });

      it('lists products newest first within a category', async () => {
        const response = await fetch(
          new URL('/shop/products?category=footwear&limit=5', system.url),
        );
        const { products } = (await response.json()) as {
          products: Array<{ category: string; synced_at: string }>;
        };
        expect(products).toHaveLength(5);
        expect(products.every((p) => p.category === 'footwear')).toBe(true);
        const times = products.map((p) => p.synced_at);
        expect([...times].sort().reverse()).toEqual(times);
      });
    });

    describe('return-policy-sync', () => {
      it('is noticed by the delta, the validator and the probes, from real data alone', async () => {
        const admin = { authorization: `Bearer ${DEMO_ADMIN_TOKEN}` };
        const reset = await post('/api/scenarios/reset', '', admin);
        expect(reset.status).toBe(200);
        expect(await reset.json()).toMatchObject({ active_release: 'R1' });
        const inject = await post('/api/scenarios/return-policy-sync/inject', '', admin);
        expect(inject.status).toBe(202);
        const { push_id: pushId } = (await inject.json()) as { push_id: string };
        const started = performance.now();

        const delta = await waitFor(
          'the return policy delta',
          async () =>
            (await system.events('catalog.deltas', 'catalog.delta')).find(
              (d) => d.data.push_id === pushId,
            ),
          10_000,
        );
        const policyChange = delta.data.changes.find((c) => c.field === 'return_policy.type');
        expect(policyChange).toMatchObject({ kind: 'changed' });
        expect(policyChange?.sample_skus).toContain('SKU-1001');

        const signals = await waitFor(
          'validator and probe signals',
          async () => {
            const all = await system.events('signals', 'signal');
            const mine = all.filter((s) => s.data.push_id === pushId);
            const schema = mine.find((s) => s.data.kind === 'SchemaMismatch');
            const probe = mine.find(
              (s) =>
                s.data.kind === 'ProbeFailure' &&
                s.data.request?.path === '/shop/returns/eligibility',
            );
            return schema && probe ? { schema, probe } : undefined;
          },
          10_000,
        );
        const elapsedMs = performance.now() - started;
        console.info(
          `return-policy-sync: delta and signals ${elapsedMs.toFixed(0)} ms after inject`,
        );

        expect(signals.schema.data).toMatchObject({ field: 'return_policy', release_id: 'R2' });
        expect(signals.schema.data.skus).toContain('SKU-1001');
        // R2 drops the field from every record it writes, not only from those whose policy changed.
        expect(signals.schema.data.sku_count).toBe(delta.data.items);
        expect(signals.probe.data.request).toEqual({
          method: 'POST',
          path: '/shop/returns/eligibility',
          body: { order_id: '8734', sku: 'SKU-1001' },
        });
        const stored = await system.ports.store.listSignals({ limit: 50 });
        expect(stored.map((s) => s.id)).toEqual(
          expect.arrayContaining([signals.schema.id, signals.probe.id]),
        );

        const eligibility = await post(
          '/shop/returns/eligibility',
          JSON.stringify({ order_id: '8734', sku: 'SKU-1001' }),
        );
        expect(eligibility.status).toBeGreaterThanOrEqual(500);
        expect(await eligibility.json()).toMatchObject({
          error: 'SchemaMismatch',
          field: 'return_policy',
        });
      });
    });
  },
);
