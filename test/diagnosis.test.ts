import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { IncidentSummary } from '../functions/ports/trace-store.js';
import { DEMO_ADMIN_TOKEN, DEMO_WEBHOOK_SECRET } from '../functions/runtime/config.js';
import { seedCatalog } from '../functions/shop/seed.js';
import { standardWebhookHeaders } from '../functions/webhooks/standard-webhooks.js';
import { waitFor } from './support/runtime.js';
import { requireService } from './support/services.js';
import { startTestSystem, type TestSystem } from './support/system.js';

const redisUp = await requireService('redis');
const postgresUp = await requireService('postgres');
const dynamodbLocal = inject('dynamodbLocalEndpoint');
/** Holds every patch for a person, so the pipeline stops at the guard. */
const POLICY_FILE = fileURLToPath(new URL('./fixtures/policy-propose.json', import.meta.url));

type Item = Record<string, unknown>;
let counter = 0;

/**
 * Each fault class is driven from a real catalog push (and, for dropped-field, a real release of
 * the target) through the real pipeline; nothing here builds a signal or a diagnosis by hand. The
 * policy holds every patch for a person, so a patch stops at the guard: held, not rejected, which
 * proves the guard found it fit (it compiles, type-checks and stays within the policy).
 */
describe.skipIf(!redisUp || !postgresUp || !dynamodbLocal)(
  'Diagnosis and fixes (real pipeline)',
  () => {
    let system: TestSystem;
    const admin = { authorization: `Bearer ${DEMO_ADMIN_TOKEN}` };

    const post = (path: string, body: string, headers: Record<string, string> = {}) =>
      fetch(new URL(path, system.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });

    /** Sends a signed push of the seed items of a category, transformed by `change`. */
    async function push(category: string, change: (item: Item) => Item): Promise<string> {
      const now = new Date().toISOString();
      const items = seedCatalog()
        .filter((item) => item.category === category)
        .slice(0, 40)
        .map((item) => ({ ...change({ ...item }), updated_at: now }));
      const body = JSON.stringify({ catalog_version: `test-${counter}`, pushed_at: now, items });
      const response = await post('/webhooks/catalog', body, {
        ...standardWebhookHeaders(DEMO_WEBHOOK_SECRET, {
          id: `msg_diag_${Date.now()}_${counter++}`,
          body,
        }),
      });
      expect(response.status).toBe(202);
      return ((await response.json()) as { push_id: string }).push_id;
    }

    /** Incidents opened before the current test, which its assertions must not pick up. */
    let earlier = new Set<string>();

    async function reset(): Promise<void> {
      // Let the previous test's push finish its way through every stage first.
      await system.idle();
      const response = await post('/api/scenarios/reset', '', admin);
      expect(response.status).toBe(200);
      earlier = new Set((await system.ports.store.listIncidents({ limit: 500 })).map((i) => i.id));
    }

    /**
     * The incident about `field` once the pipeline has stopped with it: its patch held for a
     * person or rejected by the guard, or its patch step escalated.
     */
    const settledIncident = (field: string) =>
      waitFor(
        `an incident about ${field} past its guard step`,
        async () => {
          const incidents = await system.ports.store.listIncidents({ limit: 50 });
          return incidents.find(
            (i: IncidentSummary) =>
              !earlier.has(i.id) &&
              i.fields.includes(field) &&
              ['awaiting_approval', 'rejected', 'escalated'].includes(i.status),
          );
        },
        15_000,
      );

    /** The guard found the patch fit and holds it only because the policy says so. */
    const expectHeldByPolicy = (incident: IncidentSummary) => {
      const { guard } = incident.patch as { guard?: { decision: string; reasons: string[] } };
      expect({ status: incident.status, guard }).toMatchObject({
        status: 'awaiting_approval',
        guard: {
          decision: 'awaiting_approval',
          reasons: expect.arrayContaining([expect.stringMatching(/^policy: /)]),
        },
      });
    };

    /** The diagnosis points at the mapper function of the active release, with a line range. */
    const expectMapperLocation = (incident: IncidentSummary) => {
      const { location } = incident.diagnosis as {
        location: { file: string; symbol: string; start_line: number; end_line: number };
      };
      expect(location).toMatchObject({
        file: 'functions/shop/catalog-sync.ts',
        symbol: 'toProductRecord',
      });
      expect(location.end_line).toBeGreaterThan(location.start_line);
    };

    const patchOf = (incident: IncidentSummary) =>
      incident.patch as { diff: string; added: number; removed: number };
    const addedLines = (diff: string) =>
      diff
        .split('\n')
        .filter((l) => l.startsWith('+') && !l.startsWith('+++'))
        .map((l) => l.slice(1).trim());
    const removedLines = (diff: string) =>
      diff
        .split('\n')
        .filter((l) => l.startsWith('-') && !l.startsWith('---'))
        .map((l) => l.slice(1).trim());

    beforeAll(async () => {
      system = await startTestSystem(dynamodbLocal, { SELFHEAL_POLICY_FILE: POLICY_FILE });
    });
    afterAll(async () => {
      await system?.dispose();
    });

    it('diagnoses a value outside the contract enum as enum-drift and escalates without a declared mapping', async () => {
      await reset();
      await push('outdoor', (item) => ({
        ...item,
        return_policy: { type: 'store_credit', window_days: 30 },
      }));

      const incident = await settledIncident('return_policy');

      expect(incident).toMatchObject({ fault_class: 'enum-drift', status: 'escalated' });
      // The step is recorded once the patch stage's work is measured, just after the status.
      const step = await waitFor(
        'the patch step',
        async () =>
          (await system.ports.store.getIncident(incident.id))?.steps.find(
            (s) => s.stage === 'patch',
          ),
        5_000,
      );
      expect(step.detail).toMatchObject({
        reason: 'template-needs-policy',
      });
    });

    it('diagnoses the return-policy-sync fault as dropped-field in the mapper and patches exactly that line', async () => {
      await reset();
      const inject = await post('/api/scenarios/return-policy-sync/inject', '', admin);
      expect(inject.status).toBe(202);

      const incident = await settledIncident('return_policy');

      expect(incident).toMatchObject({ fault_class: 'dropped-field', fields: ['return_policy'] });
      expectHeldByPolicy(incident);
      const diagnosis = incident.diagnosis as {
        confidence: number;
        location: { file: string; symbol: string; start_line: number; end_line: number };
        evidence: Array<{ source: string; values?: unknown }>;
      };
      expect(diagnosis.location).toMatchObject({
        file: 'functions/shop/catalog-sync.ts',
        symbol: 'toProductRecord',
      });
      expect(diagnosis.location.end_line).toBeGreaterThan(diagnosis.location.start_line);
      // Every sensor's evidence joins the incident as it arrives: wait for the probe's request.
      const settled = await waitFor(
        'the validator signal and the probe request in the evidence',
        async () => {
          const current = await system.ports.store.getIncident(incident.id);
          const evidence = (current?.diagnosis as typeof diagnosis | undefined)?.evidence ?? [];
          const probe = evidence.find(
            (e) =>
              e.source === 'probe' &&
              (e.values as { request?: { path?: string; body?: { sku?: string } } } | undefined)
                ?.request?.body?.sku === 'SKU-1001',
          );
          return probe && evidence.some((e) => e.source === 'signal')
            ? { evidence, probe }
            : undefined;
        },
        10_000,
      );
      const sources = new Set(settled.evidence.map((e) => e.source));
      for (const source of [
        'signal',
        'probe',
        'static-analysis',
        'release-diff',
        'catalog.delta',
      ]) {
        expect(sources, `evidence from ${source}`).toContain(source);
      }
      expect(diagnosis.confidence).toBeGreaterThan(0.7);
      expect(diagnosis.confidence).toBeLessThan(1);
      expect((settled.probe.values as { request?: { body?: unknown } }).request?.body).toEqual({
        order_id: '8734',
        sku: 'SKU-1001',
      });

      const patch = patchOf(incident);
      expect(addedLines(patch.diff)).toEqual(['return_policy: item.return_policy,']);
      expect(removedLines(patch.diff)).toEqual([]);
    });

    it('diagnoses an upstream rename as renamed-field and reads the new name with a fallback', async () => {
      await reset();
      await push('apparel', ({ title, ...item }) => ({ ...item, name: title }));

      const incident = await settledIncident('title');

      expect(incident.fault_class).toBe('renamed-field');
      expectMapperLocation(incident);
      expectHeldByPolicy(incident);
      const patch = patchOf(incident);
      // `name` is an undeclared extra key (`unknown`): narrowed to a string at run time.
      expect(addedLines(patch.diff).filter(Boolean)).toEqual([
        '/** The feed value when it is a string, else the fallback (where the field was read before). */',
        'function pickString<T>(value: unknown, fallback: T): string | T {',
        "return typeof value === 'string' ? value : fallback;",
        '}',
        'title: pickString(item.name, item.title),',
      ]);
      expect(removedLines(patch.diff)).toEqual(['title: item.title,']);
    });

    it('diagnoses a value moved into a nested object as moved-field and reads the new path', async () => {
      await reset();
      await push('home', ({ price, ...item }) => ({ ...item, pricing: { amount: price } }));

      const incident = await settledIncident('price');

      expect(incident.fault_class).toBe('moved-field');
      expectMapperLocation(incident);
      expectHeldByPolicy(incident);
      expect(addedLines(patchOf(incident).diff).filter(Boolean)).toEqual([
        '/** The feed value when it is a finite number, else the fallback (where it was read before). */',
        'function pickNumber<T>(value: unknown, fallback: T): number | T {',
        "return typeof value === 'number' && Number.isFinite(value) ? value : fallback;",
        '}',
        '/** Whether a feed value is an object whose fields can be read. */',
        'function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {',
        "return typeof value === 'object' && value !== null;",
        '}',
        'price: pickNumber(isRecord(item.pricing) ? item.pricing.amount : undefined, item.price),',
      ]);
      expect(removedLines(patchOf(incident).diff)).toEqual(['price: item.price,']);
    });

    it('diagnoses a number arriving as a string as type-drift and coerces it with a guard', async () => {
      await reset();
      await push('footwear', (item) => ({ ...item, stock: String(item.stock) }));

      const incident = await settledIncident('stock');

      expect(incident.fault_class).toBe('type-drift');
      expectMapperLocation(incident);
      expectHeldByPolicy(incident);
      const added = addedLines(patchOf(incident).diff);
      expect(added).toContain("stock: toSafeInteger(item.stock, 'stock'),");
      expect(added.some((line) => line.startsWith('function toSafeInteger'))).toBe(true);
    });

    it('diagnoses an unrecognised contract break as unknown and escalates with the planner off', async () => {
      await reset();
      await push('electronics', (item) => ({ ...item, currency: 'euro' }));

      const incident = await settledIncident('currency');

      expect(incident).toMatchObject({ fault_class: 'unknown', status: 'escalated' });
    });
  },
);
