import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DEMO_WEBHOOK_SECRET } from '../functions/runtime/config.js';
import { SEED_CATEGORIES, seedCatalog } from '../functions/shop/seed.js';
import { standardWebhookHeaders } from '../functions/webhooks/standard-webhooks.js';
import { requireService } from './support/services.js';
import { startTestSystem, type TestSystem } from './support/system.js';

const redisUp = await requireService('redis');
const postgresUp = await requireService('postgres');
const dynamodbLocal = inject('dynamodbLocalEndpoint');
const PUSHES = 100;

describe.skipIf(!redisUp || !postgresUp || !dynamodbLocal)(
  'No false alarms (real pipeline)',
  () => {
    let system: TestSystem;

    beforeAll(async () => {
      system = await startTestSystem(dynamodbLocal);
    });
    afterAll(async () => {
      await system?.dispose();
    });

    it(`opens no incident and raises no signal over ${PUSHES} clean pushes`, async () => {
      const seed = seedCatalog();
      let newSku = 9_000;
      for (let n = 0; n < PUSHES; n += 1) {
        const now = new Date(Date.now() + n).toISOString();
        const category = SEED_CATEGORIES[n % SEED_CATEGORIES.length];
        const items: Array<Record<string, unknown>> = seed
          .filter((item) => item.category === category)
          .slice((n * 3) % 60, ((n * 3) % 60) + 4)
          .map((item, i) => {
            // Healthy changes only: prices, stock, titles, a policy within the contract.
            const kind = (n + i) % 4;
            if (kind === 0)
              return { ...item, price: Math.round(item.price * 1.1 * 100) / 100, updated_at: now };
            if (kind === 1) return { ...item, stock: item.stock + 3, updated_at: now };
            if (kind === 2) return { ...item, title: `${item.title} (${n})`, updated_at: now };
            return {
              ...item,
              return_policy: { type: 'extended', window_days: 60 },
              updated_at: now,
            };
          });
        if (n % 10 === 0) {
          const base = seed[n] ?? seed[0];
          items.push({ ...base, sku: `SKU-${newSku++}`, updated_at: now });
        }
        const body = JSON.stringify({ catalog_version: `clean-${n}`, pushed_at: now, items });
        const response = await fetch(new URL('/webhooks/catalog', system.url), {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...standardWebhookHeaders(DEMO_WEBHOOK_SECRET, {
              id: `msg_clean_${n}_${Date.now()}`,
              body,
            }),
          },
          body,
        });
        expect(response.status).toBe(202);
      }
      await system.idle(120_000);

      const deltas = await system.events('catalog.deltas', 'catalog.delta');
      expect(deltas).toHaveLength(PUSHES);
      expect(deltas.some((d) => d.data.changes.length > 0)).toBe(true);
      expect(await system.events('signals', 'signal')).toEqual([]);
      expect(await system.ports.store.listIncidents({ limit: 10 })).toEqual([]);
    });
  },
);
