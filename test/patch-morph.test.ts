import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { planPatch } from '../functions/patch/templates.js';
import type { IncidentSummary } from '../functions/ports/trace-store.js';
import { DEMO_ADMIN_TOKEN, DEMO_WEBHOOK_SECRET } from '../functions/runtime/config.js';
import { seedCatalog } from '../functions/shop/seed.js';
import { standardWebhookHeaders } from '../functions/webhooks/standard-webhooks.js';
import { morphPartsOf, startMorphServer } from './support/morph-server.js';
import type { ChatServer } from './support/openai-server.js';
import { waitFor } from './support/runtime.js';
import { requireService } from './support/services.js';
import { startTestSystem, type TestSystem } from './support/system.js';

const redisUp = await requireService('redis');
const postgresUp = await requireService('postgres');
const dynamodbLocal = inject('dynamodbLocalEndpoint');
const MORPH_KEY = 'morph-test-key';
/** Holds every patch for a person, so the pipeline stops at the guard. */
const POLICY_FILE = fileURLToPath(new URL('./fixtures/policy-propose.json', import.meta.url));

type Attempt = { applier: string; ok: boolean; reason?: string };

describe.skipIf(!redisUp || !postgresUp || !dynamodbLocal)(
  'Patch with Morph configured (real pipeline, local Morph server)',
  () => {
    let system: TestSystem;
    let morph: ChatServer;

    /**
     * The incident about `field` once its patch has been judged, and held: the guard found it fit
     * (it compiles, type-checks, stays within the policy) and the policy holds it for a person.
     */
    const heldIncident = async (field: string) => {
      const incident = await waitFor(
        `an incident about ${field} past its guard step`,
        async () =>
          (await system.ports.store.listIncidents({ limit: 20 })).find(
            (i: IncidentSummary) =>
              i.fields.includes(field) &&
              ['awaiting_approval', 'rejected', 'escalated'].includes(i.status),
          ),
        15_000,
      );
      const { guard } = incident.patch as { guard?: { decision: string; reasons: string[] } };
      expect({ status: incident.status, guard }).toMatchObject({
        status: 'awaiting_approval',
        guard: {
          decision: 'awaiting_approval',
          reasons: expect.arrayContaining([expect.stringMatching(/^policy: /)]),
        },
      });
      return incident;
    };

    beforeAll(async () => {
      morph = await startMorphServer({ apiKey: MORPH_KEY });
      system = await startTestSystem(dynamodbLocal, {
        MORPH_API_KEY: MORPH_KEY,
        MORPH_BASE_URL: morph.baseUrl,
        SELFHEAL_POLICY_FILE: POLICY_FILE,
      });
    });
    afterAll(async () => {
      await system?.dispose();
      await morph?.close();
    });

    it('merges with Morph, sending the exact instruction/code/update message', async () => {
      const r2 = system.shop.release('R2');
      if (!r2) throw new Error('no R2');
      // What a correct merge looks like, computed from the AST, as Morph would answer it.
      const plan = planPatch({
        fault_class: 'dropped-field',
        source: r2.source,
        fileName: r2.path,
        exportName: 'toProductRecord',
        fields: { field: 'return_policy' },
        contractOrder: Object.keys(
          (system.shop.manifest.recordContract as unknown as { shape: object }).shape,
        ),
      });
      if (!plan.ok) throw new Error(plan.message);
      morph.script({ kind: 'answer', content: plan.expected });

      const injected = await fetch(
        new URL('/api/scenarios/return-policy-sync/inject', system.url),
        {
          method: 'POST',
          headers: { authorization: `Bearer ${DEMO_ADMIN_TOKEN}` },
        },
      );
      expect(injected.status).toBe(202);
      const incident = await heldIncident('return_policy');

      const patch = incident.patch as { applier: string; attempts: Attempt[] };
      expect(patch.applier).toBe('morph');
      expect(patch.attempts).toMatchObject([{ applier: 'morph', ok: true }]);
      const [request] = morph.requests;
      expect(request?.authorization).toBe(`Bearer ${MORPH_KEY}`);
      const parts = morphPartsOf(request?.body);
      expect(parts).toMatchObject({
        model: 'morph-v3-fast',
        code: r2.source,
        update: plan.snippet,
      });
      expect(parts.content).toBe(
        `<instruction>${parts.instruction}</instruction>\n<code>${r2.source}</code>\n<update>${plan.snippet}</update>`,
      );
    });

    it('falls back to the local merger when Morph fails, and records both attempts', async () => {
      await system.idle();
      morph.reset();
      morph.script({ kind: 'status', status: 500 });
      const now = new Date().toISOString();
      const items = seedCatalog()
        .filter((item) => item.category === 'apparel')
        .slice(0, 20)
        .map(({ title, ...item }) => ({ ...item, name: title, updated_at: now }));
      const body = JSON.stringify({ catalog_version: 'rename', pushed_at: now, items });
      const pushed = await fetch(new URL('/webhooks/catalog', system.url), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...standardWebhookHeaders(DEMO_WEBHOOK_SECRET, { id: `msg_morph_${Date.now()}`, body }),
        },
        body,
      });
      expect(pushed.status).toBe(202);

      const incident = await heldIncident('title');

      const patch = incident.patch as { applier: string; attempts: Attempt[] };
      expect(patch.applier).toBe('local');
      expect(patch.attempts).toMatchObject([
        { applier: 'morph', ok: false, reason: 'http-500' },
        { applier: 'local', ok: true },
      ]);
    });
  },
);
