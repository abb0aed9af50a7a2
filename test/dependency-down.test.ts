import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createEvent } from '../events/index.js';
import { DEMO_WEBHOOK_SECRET } from '../functions/runtime/config.js';
import { priceChangePush } from '../functions/shop/scenarios.js';
import { standardWebhookHeaders } from '../functions/webhooks/standard-webhooks.js';
import { freePort, waitFor } from './support/runtime.js';
import { requireService } from './support/services.js';
import { startTestSystem, type TestSystem } from './support/system.js';

const redisUp = await requireService('redis');
const postgresUp = await requireService('postgres');
const dynamodbLocal = inject('dynamodbLocalEndpoint');

describe.skipIf(!redisUp || !postgresUp || !dynamodbLocal)(
  'Diagnosis: an unreachable target (real pipeline)',
  () => {
    let system: TestSystem;

    beforeAll(async () => {
      // The probes call a port nobody listens on: the target's API is down.
      const closed = await freePort();
      system = await startTestSystem(dynamodbLocal, {
        SELFHEAL_TARGET_URL: `http://127.0.0.1:${closed}`,
        PROBE_TIMEOUT_MS: '300',
      });
    });
    afterAll(async () => {
      await system?.dispose();
    });

    it('diagnoses probes that cannot reach the target as dependency-down and escalates, never patches', async () => {
      const body = JSON.stringify(priceChangePush(new Date(), 'outdoor'));
      const response = await fetch(new URL('/webhooks/catalog', system.url), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...standardWebhookHeaders(DEMO_WEBHOOK_SECRET, { id: `msg_down_${Date.now()}`, body }),
        },
        body,
      });
      expect(response.status).toBe(202);

      const incident = await waitFor(
        'an escalated incident',
        async () =>
          (await system.ports.store.listIncidents({ limit: 10 })).find(
            (i) => i.status === 'escalated',
          ),
        15_000,
      );

      expect(incident.fault_class).toBe('dependency-down');
      expect(incident.patch).toBeNull();
      expect(await system.events('patches', 'patch.proposal')).toEqual([]);
    });

    it('escalates a signal about a target it does not run, without opening an incident', async () => {
      const before = await system.ports.store.listIncidents({ limit: 50 });
      const signal = createEvent(
        'signal',
        {
          kind: 'SchemaMismatch',
          target: 'someone-elses-shop',
          field: 'price',
          skus: ['X-1'],
          sku_count: 1,
          samples: [{ sku: 'X-1', value: null }],
        },
        { source: 'test' },
      );
      await system.ports.bus.publish('signals', JSON.stringify(signal));

      const step = await waitFor(
        'the rca step',
        async () =>
          (await system.events('traces', 'trace.step')).find(
            (s) => s.data.stage === 'rca' && s.data.detail.input === signal.id,
          ),
        10_000,
      );
      expect(step.data).toMatchObject({
        status: 'escalated',
        detail: { reason: 'unknown-target' },
      });
      expect(await system.ports.store.listIncidents({ limit: 50 })).toHaveLength(before.length);
    });
  },
);
