import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createEvent } from '../events/index.js';
import { readHealState } from '../functions/heal/heal-state.js';
import type { Incident, IncidentSummary } from '../functions/ports/trace-store.js';
import { DEMO_ADMIN_TOKEN } from '../functions/runtime/config.js';
import { FLAGSHIP_ORDER_ID } from '../functions/shop/orders.js';
import { FLAGSHIP_SKU, seedCatalog } from '../functions/shop/seed.js';
import { recordsHash } from '../functions/target/damage.js';
import { standardWebhookHeaders } from '../functions/webhooks/standard-webhooks.js';
import { streams } from '../infra/topology.js';
import { freePort, waitFor } from './support/runtime.js';
import { requireService } from './support/services.js';
import { startTestSystem, type TestSystem } from './support/system.js';

const redisUp = await requireService('redis');
const postgresUp = await requireService('postgres');
const dynamodbLocal = inject('dynamodbLocalEndpoint');
const admin = { authorization: `Bearer ${DEMO_ADMIN_TOKEN}` };

const policyDir = mkdtempSync(path.join(tmpdir(), 'heal-test-'));
const writePolicy = (name: string, policy: unknown) => {
  const file = path.join(policyDir, name);
  writeFileSync(file, JSON.stringify(policy));
  return file;
};

/** Helpers over one running system. */
function client(system: () => TestSystem) {
  const url = (route: string) => new URL(route, system().url);
  const post = (route: string, body?: unknown, headers: Record<string, string> = admin) =>
    fetch(url(route), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const get = async <T>(route: string) => {
    const response = await fetch(url(route));
    return { status: response.status, body: (await response.json()) as T };
  };
  let seen = new Set<string>();
  return {
    post,
    get,
    /** Resets the shop, then injects the fault; incidents from before are ignored after. */
    async injectFault() {
      await system().idle();
      expect((await post('/api/scenarios/reset')).status).toBe(200);
      seen = new Set((await system().ports.store.listIncidents({ limit: 500 })).map((i) => i.id));
      expect((await post('/api/scenarios/return-policy-sync/inject')).status).toBe(202);
    },
    /** The return_policy incident opened since the last inject, once its status is `status`. */
    async incidentIn(
      status: IncidentSummary['status'] | IncidentSummary['status'][],
      timeoutMs = 40_000,
    ): Promise<IncidentSummary> {
      const wanted = Array.isArray(status) ? status : [status];
      const deadline = Date.now() + timeoutMs;
      let last: IncidentSummary | undefined;
      while (Date.now() < deadline) {
        const incidents = await system().ports.store.listIncidents({ limit: 50 });
        last = incidents.find((i) => !seen.has(i.id) && i.fields.includes('return_policy'));
        if (last && wanted.includes(last.status)) return last;
        // Another final status will not change any more: say why at once.
        if (last && isFinal(last.status)) break;
        await new Promise((done) => setTimeout(done, 50));
      }
      const full = last ? await system().ports.store.getIncident(last.id) : undefined;
      const why = JSON.stringify({
        backfill: full?.backfill,
        verification: full?.verification,
        steps: full?.steps.slice(-3),
      });
      throw new Error(
        `the return_policy incident is ${last?.status ?? 'not open'}, not ${wanted.join(' or ')}: ${why.slice(0, 2000)}`,
      );
    },
    /** Content hashes of the whole target: the active release and every stored record. */
    async state() {
      const { products } = await system().shop.records.snapshot();
      return {
        release: system().shop.deployer.active()?.release.hash,
        records: recordsHash(products),
      };
    },
  };
}

const isFinal = (status: string) =>
  ['healed', 'rolled_back', 'failed', 'rejected', 'escalated', 'verification_failed'].includes(
    status,
  );

const auditActions = async (system: TestSystem, incidentId: string) =>
  (await system.ports.store.listAudit({ incident_id: incidentId, limit: 500 }))
    .map((entry) => entry.action)
    .reverse();

describe.skipIf(!redisUp || !postgresUp || !dynamodbLocal)(
  'Close the loop (real pipeline)',
  { timeout: 90_000 },
  () => {
    afterAll(() => rmSync(policyDir, { recursive: true, force: true }));

    describe('auto heal, redelivery, manual rollback, circuit breaker, approval', () => {
      let system: TestSystem;
      const api = client(() => system);
      let healed: Incident;

      beforeAll(async () => {
        system = await startTestSystem(dynamodbLocal as string, {
          SELFHEAL_POLICY_FILE: writePolicy('breaker.json', { heals_per_hour: 1 }),
        });
      }, 120_000);
      afterAll(async () => {
        await system?.dispose();
      });

      it('heals return-policy-sync by itself: fixed release live, records repaired, audit intact', async () => {
        await api.injectFault();
        const summary = await api.incidentIn('healed');
        // The heal step is recorded once the stage's work is measured, just after the status.
        const incident = await waitFor(
          'the heal step',
          async () => {
            const { body } = await api.get<Incident>(`/api/incidents/${summary.id}`);
            return body.steps.some((step) => step.stage === 'heal') ? body : undefined;
          },
          5_000,
        );
        healed = incident;

        // The customer's call works again, with the policy the push carried.
        const eligibility = await api.post(
          '/shop/returns/eligibility',
          { order_id: FLAGSHIP_ORDER_ID, sku: FLAGSHIP_SKU },
          {},
        );
        expect(eligibility.status).toBe(200);
        const pushed = (await system.shop.catalogItems([FLAGSHIP_SKU])).get(FLAGSHIP_SKU) as {
          return_policy: { window_days: number };
        };
        expect(await eligibility.json()).toMatchObject({
          window_days: pushed.return_policy.window_days,
        });
        // No clearance record is left without its policy.
        const clearance = await api.get<{ products: Array<{ return_policy: unknown }> }>(
          '/shop/products?category=clearance&limit=1000',
        );
        expect(clearance.body.products.length).toBeGreaterThan(0);
        expect(
          clearance.body.products.every(
            (p) => p.return_policy !== null && typeof p.return_policy === 'object',
          ),
        ).toBe(true);

        // A new release is live, and its diff against R2 adds the mapping.
        const releases = await api.get<{
          active: string;
          releases: Array<{ id: string; parent_id: string | null; diff: string | null }>;
        }>('/api/target/releases');
        const active = releases.body.releases.find((r) => r.id === releases.body.active);
        expect(active?.id).not.toMatch(/^R[12]$/);
        expect(active?.parent_id).toBe('R2');
        const added = (active?.diff ?? '')
          .split('\n')
          .filter((line) => line.startsWith('+') && !line.startsWith('+++'))
          .map((line) => line.slice(1).trim());
        expect(added).toEqual(['return_policy: item.return_policy,']);

        // The incident JSON of the architecture, with measured times.
        expect(incident).toMatchObject({
          id: summary.id,
          status: 'healed',
          fault_class: 'dropped-field',
          target: 'demo-shop',
          fields: ['return_policy'],
          patch: { files: ['functions/shop/catalog-sync.ts'], applier: 'local' },
        });
        expect(incident.ttd_ms).toBeGreaterThanOrEqual(0);
        expect(incident.ttr_ms).toBeGreaterThan(incident.ttd_ms ?? 0);
        // The onset is the commit of the first broken record, whichever sensor spoke first.
        const mismatch = (await system.ports.store.listSignals({ limit: 50 })).find(
          (s) => s.kind === 'SchemaMismatch' && s.field === 'return_policy',
        );
        const committed = Date.parse(String(mismatch?.data.onset_at));
        expect(committed).not.toBeNaN();
        expect(Date.parse(incident.onset_at ?? '')).toBeLessThanOrEqual(committed);
        expect(Date.parse(incident.healed_at ?? '')).toBeGreaterThan(
          Date.parse(incident.opened_at),
        );
        const stages = incident.steps.map((step) => step.stage);
        for (const stage of ['rca', 'patch', 'guard', 'verify', 'heal'])
          expect(stages).toContain(stage);
        expect(incident.steps.every((step) => step.duration_ms >= 0)).toBe(true);
        const verification = incident.verification as {
          ok: boolean;
          checks: Array<{ name: string; ok: boolean; passed: number }>;
        };
        expect(verification.ok).toBe(true);
        expect(verification.checks.map((c) => [c.name, c.ok])).toEqual([
          ['replay', true],
          ['smoke', true],
          ['differential', true],
        ]);
        expect(verification.checks.every((c) => c.passed > 0)).toBe(true);
        const repaired = (incident.backfill as { repaired: number }).repaired;
        expect(repaired).toBe(clearance.body.products.length);

        // Every decision and action is in the chain, and the chain holds.
        const actions = await auditActions(system, summary.id);
        for (const action of [
          'signal.accepted',
          'diagnosis',
          'patch.proposed',
          'guard.approved',
          'verification.passed',
          'release.activated',
          'backfill.completed',
          'heal.healed',
        ]) {
          expect(actions).toContain(action);
        }
        const chain = await api.get<{ ok: boolean; entries: number }>('/api/audit/verify');
        expect(chain.body.ok).toBe(true);
        expect(chain.body.entries).toBeGreaterThanOrEqual(actions.length);

        // The dashboard's figures come from the same recorded incident.
        const metrics = await api.get<{
          incidents: Array<{ id: string; ttr_ms: number | null }>;
          summary: { healed: number; ttr_p50_ms: number | null; heal_success_rate: number | null };
          by_fault_class: Record<string, number>;
          streams: Record<string, { lag: number }>;
        }>('/api/metrics');
        expect(metrics.status).toBe(200);
        expect(metrics.body.incidents.find((i) => i.id === summary.id)?.ttr_ms).toBe(
          incident.ttr_ms,
        );
        expect(metrics.body.summary).toMatchObject({ healed: 1, heal_success_rate: 1 });
        expect(metrics.body.summary.ttr_p50_ms).toBe(incident.ttr_ms);
        expect(metrics.body.by_fault_class['dropped-field']).toBe(1);
        expect(Object.keys(metrics.body.streams)).toContain('catalog.pushes');
        const scenarios = await api.get<{ scenarios: Array<{ id: string }> }>('/api/scenarios');
        expect(scenarios.body.scenarios.map((scenario) => scenario.id)).toContain(
          'return-policy-sync',
        );
      });

      it('exports the fix as a git patch that applies to the source it was made for', async () => {
        const response = await fetch(new URL(`/api/incidents/${healed.id}/patch`, system.url));
        expect(response.status).toBe(200);
        const patch = await response.text();
        expect(patch).toMatch(/^From /);
        expect(patch).toContain(
          'diff --git a/functions/shop/catalog-sync.ts b/functions/shop/catalog-sync.ts',
        );
        const repo = mkdtempSync(path.join(tmpdir(), 'heal-patch-'));
        try {
          const r2 = system.shop.release('R2');
          mkdirSync(path.join(repo, 'functions/shop'), { recursive: true });
          writeFileSync(path.join(repo, 'functions/shop/catalog-sync.ts'), r2?.source ?? '');
          writeFileSync(path.join(repo, 'fix.patch'), patch);
          execFileSync('git', ['init', '-q'], { cwd: repo });
          execFileSync('git', ['apply', 'fix.patch'], { cwd: repo });
          const active = system.shop.deployer.active()?.release;
          const { readFileSync } = await import('node:fs');
          expect(readFileSync(path.join(repo, 'functions/shop/catalog-sync.ts'), 'utf8')).toBe(
            active?.source,
          );
        } finally {
          rmSync(repo, { recursive: true, force: true });
        }
      });

      it('applies nothing twice when a second verified event arrives for the healed incident', async () => {
        const before = await api.state();
        const verified = (await system.events(streams.verified, 'verification')).find(
          (event) => event.incident_id === healed.id,
        );
        expect(verified).toBeDefined();
        const again = createEvent('verification', verified?.data as never, {
          source: 'verify',
          id: `evt_redelivered_${Date.now()}`,
          incidentId: healed.id,
        });
        await system.ports.bus.publish(streams.verified, JSON.stringify(again));
        // The very same event again, too.
        await system.ports.bus.publish(streams.verified, JSON.stringify(verified));
        await system.idle();

        expect(await api.state()).toEqual(before);
        expect(await auditActions(system, healed.id)).toContain('heal.duplicate');
        const outcomes = (await system.events(streams.outcomes, 'heal.outcome')).filter(
          (event) => event.incident_id === healed.id,
        );
        expect(outcomes).toHaveLength(1);
      });

      it('rolls a healed incident back by hand to the release and records it replaced', async () => {
        const state = await readHealState(system.ports, healed.id);
        const r2 = system.shop.release('R2');
        expect((await api.post(`/api/incidents/${healed.id}/rollback`, undefined, {})).status).toBe(
          401,
        );

        const response = await api.post(`/api/incidents/${healed.id}/rollback`, { by: 'dana' });
        expect(response.status).toBe(200);
        expect(await response.json()).toMatchObject({
          rolled_back: true,
          release_id: 'R2',
          release_hash: r2?.hash,
          records_hash: state?.records_hash_before,
        });
        expect(system.shop.deployer.active()?.release.hash).toBe(r2?.hash);
        const flagship = await system.shop.records.get(FLAGSHIP_SKU);
        expect(
          (flagship?.record as { return_policy?: unknown } | undefined)?.return_policy ?? null,
        ).toBeNull();
        const incident = await system.ports.store.getIncident(healed.id);
        expect(incident?.status).toBe('rolled_back');
        // Twice is a conflict, not a second restore.
        expect((await api.post(`/api/incidents/${healed.id}/rollback`)).status).toBe(409);
      });

      it('holds the next heal for a person once the circuit breaker is open; a person rejects it', async () => {
        await api.injectFault();
        const held = await api.incidentIn('awaiting_approval');
        const full = await system.ports.store.getIncident(held.id);
        const guard = (full?.patch as { guard: { reasons: string[] } } | undefined)?.guard ?? {
          reasons: [],
        };
        expect(guard.reasons.some((reason) => reason.startsWith('circuit-breaker:'))).toBe(true);

        expect((await api.post(`/api/incidents/${held.id}/reject`, { by: 7 })).status).toBe(400);
        const response = await api.post(`/api/incidents/${held.id}/reject`, {
          by: 'sam',
          note: 'not tonight',
        });
        expect(response.status).toBe(200);
        const rejected = await system.ports.store.getIncident(held.id);
        expect(rejected?.status).toBe('rejected');
        expect(rejected?.patch).toMatchObject({ approval: { decision: 'rejected', by: 'sam' } });
        const entries = await system.ports.store.listAudit({ incident_id: held.id, limit: 50 });
        expect(entries.find((e) => e.action === 'patch.rejected')).toMatchObject({
          actor: 'admin:sam',
          detail: { by: 'sam' },
        });
        expect((await api.post(`/api/incidents/${held.id}/approve`)).status).toBe(409);
      });

      it('heals a held patch once a person approves it, and a rollback restores every byte', async () => {
        await api.injectFault();
        const held = await api.incidentIn('awaiting_approval');
        await system.idle();
        const before = await api.state();

        const response = await api.post(`/api/incidents/${held.id}/approve`, { by: 'alex' });
        expect(response.status).toBe(202);
        await api.incidentIn('healed', 10_000).catch(async (e) => {
          const inc = await system.ports.store.getIncident(held.id);
          console.log(
            'DEBUG',
            inc?.status,
            JSON.stringify(inc?.steps.slice(-4)),
            JSON.stringify(await system.ports.bus.readDeadLetters('verified')),
            JSON.stringify(await system.ports.bus.readDeadLetters('approved')),
          );
          throw e;
        });
        expect((await api.state()).release).not.toBe(before.release);
        const entries = await system.ports.store.listAudit({ incident_id: held.id, limit: 50 });
        expect(entries.find((e) => e.action === 'patch.approved')).toMatchObject({
          actor: 'admin:alex',
        });

        expect((await api.post(`/api/incidents/${held.id}/rollback`)).status).toBe(200);
        expect(await api.state()).toEqual(before);
      });
    });

    describe('which records a heal repairs', () => {
      let system: TestSystem;
      const api = client(() => system);

      beforeAll(async () => {
        system = await startTestSystem(dynamodbLocal as string, {
          SELFHEAL_POLICY_FILE: writePolicy('many.json', { heals_per_hour: 100 }),
        });
      }, 120_000);
      afterAll(async () => {
        await system?.dispose();
      });

      it("counts the broken release's writes from its latest activation, not an earlier spell", async () => {
        // An earlier spell: R2 live, a push of home items it breaks, healed, then a reset.
        await system.idle();
        expect((await api.post('/api/scenarios/reset')).status).toBe(200);
        const known = new Set(
          (await system.ports.store.listIncidents({ limit: 500 })).map((i) => i.id),
        );
        await system.shop.activateBuiltIn('R2');
        const home = seedCatalog()
          .filter((item) => item.category === 'home')
          .slice(0, 12);
        const body = JSON.stringify({
          catalog_version: `earlier-spell-${Date.now()}`,
          pushed_at: new Date().toISOString(),
          items: home.map((item) => ({
            ...item,
            price: item.price + 1,
            updated_at: new Date().toISOString(),
          })),
        });
        const pushed = await fetch(new URL('/webhooks/catalog', system.url), {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...standardWebhookHeaders(system.ports.config.SELFHEAL_WEBHOOK_SECRET, {
              id: `msg_earlier_${Date.now()}`,
              body,
            }),
          },
          body,
        });
        expect(pushed.status).toBe(202);
        const earlier = await waitFor(
          'the earlier spell healed',
          async () =>
            (await system.ports.store.listIncidents({ limit: 50 })).find(
              (i) => !known.has(i.id) && i.status === 'healed',
            ),
          40_000,
        );
        const homeSkus = home.map((item) => item.sku);
        expect((await readHealState(system.ports, earlier.id))?.skus).toEqual(
          expect.arrayContaining(homeSkus),
        );

        // R2 live again (reset, then the nightly push): its home writes were repaired already.
        await api.injectFault();
        const latest = await api.incidentIn('healed');
        const skus = (await readHealState(system.ports, latest.id))?.skus ?? [];
        expect(skus).toContain(FLAGSHIP_SKU);
        expect(skus.filter((sku) => homeSkus.includes(sku))).toEqual([]);
      });
    });

    describe('a heal that fails live, a patch that fails verification', () => {
      let system: TestSystem;
      const api = client(() => system);

      beforeAll(async () => {
        // Probes, and so the heal's live re-probe, go to a port where nothing answers.
        const closed = await freePort();
        system = await startTestSystem(dynamodbLocal as string, {
          SELFHEAL_POLICY_FILE: writePolicy('propose.json', {
            autonomy: { 'dropped-field': 'propose' },
          }),
          SELFHEAL_TARGET_URL: `http://127.0.0.1:${closed}`,
          PROBE_TIMEOUT_MS: '200',
        });
      }, 120_000);
      afterAll(async () => {
        await system?.dispose();
      });

      it('rolls back release and records automatically, byte-identical, when the live probe fails', async () => {
        await api.injectFault();
        const held = await api.incidentIn('awaiting_approval');
        await system.idle();
        const before = await api.state();

        expect((await api.post(`/api/incidents/${held.id}/approve`, { by: 'alex' })).status).toBe(
          202,
        );
        const incident = await api.incidentIn('rolled_back');

        expect(await api.state()).toEqual(before);
        expect((incident.backfill as { reason: string }).reason).toMatch(/live probe/);
        const entries = await system.ports.store.listAudit({ incident_id: held.id, limit: 50 });
        const actions = entries.map((e) => e.action);
        expect(actions).toContain('release.activated');
        expect(actions).toContain('heal.rolled_back');
        expect(entries.find((e) => e.action === 'rollback.completed')?.detail).toMatchObject({
          byte_identical: true,
        });
      });

      it('never ships a candidate that fails verification', async () => {
        await api.injectFault();
        const held = await api.incidentIn('awaiting_approval');
        await system.idle();
        const before = await api.state();
        const r2 = system.shop.release('R2');
        // A proposal that builds but maps the field to nothing: only verification can catch it.
        const merged = (r2?.source ?? '').replace(
          '    synced_at: syncedAt,',
          '    return_policy: null as never,\n    synced_at: syncedAt,',
        );
        expect(merged).not.toBe(r2?.source);
        const decision = createEvent(
          'guard.decision',
          {
            patch_id: 'patch_forged_bad',
            decision: 'approved',
            reasons: [],
            decided_by: 'test',
            fields: ['return_policy'],
            proposal: {
              patch_id: 'patch_forged_bad',
              target: 'demo-shop',
              files: ['functions/shop/catalog-sync.ts'],
              diff: 'forged',
              added: 1,
              removed: 0,
              applier: 'local',
              merged,
              base_release_id: 'R2',
              attempts: [],
            },
          },
          { source: 'test', id: `evt_forged_${Date.now()}`, incidentId: held.id },
        );
        await system.ports.bus.publish(streams.approved, JSON.stringify(decision));
        const failed = await api.incidentIn('verification_failed');

        expect(await api.state()).toEqual(before);
        const verification = failed.verification as {
          ok: boolean;
          checks: Array<{ name: string; ok: boolean; first_failures: string[] }>;
        };
        expect(verification.ok).toBe(false);
        const replay = verification.checks.find((c) => c.name === 'replay');
        expect(replay?.ok).toBe(false);
        expect(replay?.first_failures.join(' ')).toMatch(/return_policy/);
        expect(await auditActions(system, held.id)).toContain('verification.failed');
        expect(await auditActions(system, held.id)).not.toContain('release.activated');
      });
    });
  },
);
