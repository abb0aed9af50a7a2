import { readFileSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditEntryHash } from '../functions/adapters/store/audit-chain.js';
import { createTraceStore } from '../functions/adapters/store/create-trace-store.js';
import { createPgliteTraceStore } from '../functions/adapters/store/pglite-trace-store.js';
import { createPostgresTraceStore } from '../functions/adapters/store/postgres-trace-store.js';
import {
  MIGRATIONS_TABLE,
  type MigratableTraceStore,
} from '../functions/adapters/store/sql-trace-store.js';
import {
  AUDIT_GENESIS_HASH,
  type NewIncident,
  TraceStoreConflictError,
  TraceStoreInputError,
  TraceStoreNotFoundError,
} from '../functions/ports/trace-store.js';
import { requireService, TEST_DATABASE_URL, uniqueName } from './support/services.js';

const up = await requireService('postgres');
/** Migrations in the folder both adapters apply. */
const MIGRATIONS = (
  JSON.parse(
    readFileSync(
      new URL('../functions/adapters/store/drizzle/meta/_journal.json', import.meta.url),
      'utf8',
    ),
  ) as { entries: unknown[] }
).entries.length;

/** A store plus a way past it, as the database owner, to tamper and to inspect. */
interface Harness {
  readonly store: MigratableTraceStore;
  /** Runs SQL (several statements allowed) outside the store; returns the last result's rows. */
  query(statement: string): Promise<Array<Record<string, unknown>>>;
  /** A second store over the same database, which applies the migrations again. */
  reopen(): Promise<MigratableTraceStore>;
  dispose(): Promise<void>;
}

interface Adapter {
  readonly name: 'postgres' | 'pglite';
  readonly enabled: boolean;
  open(): Promise<Harness>;
}

const adapters: Adapter[] = [
  {
    name: 'postgres',
    enabled: up,
    async open() {
      const schema = uniqueName('trace-store');
      const store = await createPostgresTraceStore({ url: TEST_DATABASE_URL, schema });
      const admin = new pg.Pool({
        connectionString: TEST_DATABASE_URL,
        max: 2,
        options: `-c search_path="${schema}"`,
      });
      return {
        store,
        async query(statement) {
          const result = await admin.query(statement);
          const last = Array.isArray(result) ? result.at(-1) : result;
          return last?.rows ?? [];
        },
        reopen: () => createPostgresTraceStore({ url: TEST_DATABASE_URL, schema }),
        async dispose() {
          await store.close();
          await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
          await admin.end();
        },
      };
    },
  },
  {
    name: 'pglite',
    enabled: true,
    async open() {
      const client = await PGlite.create();
      const store = await createPgliteTraceStore({ client });
      return {
        store,
        async query(statement) {
          const results = await client.exec(statement);
          return (results.at(-1)?.rows ?? []) as Array<Record<string, unknown>>;
        },
        reopen: () => createPgliteTraceStore({ client }),
        async dispose() {
          await store.close();
          await client.close();
        },
      };
    },
  },
];

const T0 = Date.parse('2025-01-31T02:00:00.000Z');
/** A fixed instant `ms` after T0, as the ISO string the port speaks. */
const at = (ms: number): string => new Date(T0 + ms).toISOString();

const incident = (overrides: Partial<NewIncident> & Pick<NewIncident, 'id'>): NewIncident => ({
  status: 'detected',
  target: 'shop',
  fields: ['return_policy'],
  signature: `sig-${overrides.id}`,
  opened_at: at(0),
  ...overrides,
});

for (const adapter of adapters) {
  describe.skipIf(!adapter.enabled)(`Trace store: ${adapter.name}`, () => {
    let harness: Harness;
    let store: MigratableTraceStore;

    beforeAll(async () => {
      harness = await adapter.open();
      store = harness.store;
    });

    afterAll(async () => {
      await harness?.dispose();
    });

    it(`reports its kind as ${adapter.name}`, () => {
      expect(store.kind).toBe(adapter.name);
    });

    describe('incidents', () => {
      it('returns an updated incident with its steps ordered by start time', async () => {
        await store.createIncident(
          incident({
            id: 'inc-steps',
            signature: 'catalog-sync:return_policy:null',
            onset_at: at(-900),
          }),
        );
        // Recorded out of order; the two steps starting together keep their recording order.
        await store.recordStep({
          incident_id: 'inc-steps',
          stage: 'patch',
          status: 'ok',
          started_at: at(200),
          ended_at: at(260),
          duration_ms: 58.25,
          detail: { applier: 'lazy-edit' },
        });
        await store.recordStep({
          incident_id: 'inc-steps',
          stage: 'rca',
          status: 'ok',
          started_at: at(100),
          ended_at: at(180),
          duration_ms: 79.5,
          detail: { confidence: 0.92 },
        });
        await store.recordStep({
          incident_id: 'inc-steps',
          stage: 'guard',
          status: 'ok',
          started_at: at(200),
          ended_at: at(210),
          duration_ms: 9.75,
        });
        await store.recordStep({
          stage: 'ingest',
          status: 'ok',
          started_at: at(50),
          ended_at: at(60),
          duration_ms: 10,
          detail: { note: 'no incident yet, so not part of one' },
        });

        const updated = await store.updateIncident('inc-steps', {
          status: 'healed',
          fault_class: 'mapper_drops_field',
          healed_at: at(400),
          ttd_ms: 1000,
          ttr_ms: 400,
          diagnosis: { fault_class: 'mapper_drops_field', confidence: 0.92 },
          patch: { diff: '--- a\n+++ b\n', files: ['catalog-sync.ts'], applier: 'lazy-edit' },
          verification: { passed: true },
          backfill: { repaired: 12 },
        });
        const read = await store.getIncident('inc-steps');

        expect(updated.status).toBe('healed');
        expect(read).toEqual({
          id: 'inc-steps',
          status: 'healed',
          fault_class: 'mapper_drops_field',
          target: 'shop',
          fields: ['return_policy'],
          signature: 'catalog-sync:return_policy:null',
          opened_at: at(0),
          onset_at: at(-900),
          healed_at: at(400),
          ttd_ms: 1000,
          ttr_ms: 400,
          diagnosis: { fault_class: 'mapper_drops_field', confidence: 0.92 },
          patch: { diff: '--- a\n+++ b\n', files: ['catalog-sync.ts'], applier: 'lazy-edit' },
          verification: { passed: true },
          backfill: { repaired: 12 },
          steps: [
            expect.objectContaining({ stage: 'rca', started_at: at(100), duration_ms: 79.5 }),
            expect.objectContaining({
              stage: 'patch',
              ended_at: at(260),
              duration_ms: 58.25,
              detail: { applier: 'lazy-edit' },
            }),
            expect.objectContaining({ stage: 'guard', detail: {} }),
          ],
        });
        expect(read?.steps.every((step) => step.incident_id === 'inc-steps')).toBe(true);
      });

      it('leaves fields out of an update untouched', async () => {
        await store.createIncident(incident({ id: 'inc-partial', fault_class: 'type_changed' }));

        const updated = await store.updateIncident('inc-partial', { status: 'diagnosed' });

        expect(updated).toMatchObject({
          status: 'diagnosed',
          fault_class: 'type_changed',
          fields: ['return_policy'],
          diagnosis: null,
        });
      });

      it('lists incidents newest first, filtered by status and target, up to the limit', async () => {
        const target = uniqueName('list');
        for (const [id, minute, status] of [
          ['list-a', 1, 'detected'],
          ['list-b', 3, 'healed'],
          ['list-c', 2, 'detected'],
          ['list-d', 4, 'detected'],
        ] as const) {
          await store.createIncident(
            incident({ id, target, status, opened_at: at(minute * 60_000) }),
          );
        }

        const all = await store.listIncidents({ target, limit: 10 });
        const detected = await store.listIncidents({ target, status: 'detected', limit: 2 });

        expect(all.map((row) => row.id)).toEqual(['list-d', 'list-b', 'list-c', 'list-a']);
        expect(detected.map((row) => row.id)).toEqual(['list-d', 'list-c']);
      });

      it('finds the open incident of a signature and ignores closed ones', async () => {
        await store.createIncident(
          incident({ id: 'open-old', signature: 'sig-open', status: 'healed', opened_at: at(0) }),
        );
        await store.createIncident(
          incident({ id: 'open-new', signature: 'sig-open', status: 'patched', opened_at: at(5) }),
        );

        const open = await store.findOpenIncident('sig-open');
        await store.updateIncident('open-new', { status: 'rolled_back' });
        const afterClose = await store.findOpenIncident('sig-open');

        expect(open?.id).toBe('open-new');
        expect(afterClose).toBeUndefined();
      });

      it('opens one incident when two workers race on the same signature', async () => {
        const results = await Promise.allSettled([
          store.createIncident(incident({ id: 'race-1', signature: 'sig-race' })),
          store.createIncident(incident({ id: 'race-2', signature: 'sig-race' })),
        ]);

        const rejected = results.filter((result) => result.status === 'rejected');
        expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
        expect(rejected).toHaveLength(1);
        expect(rejected[0]?.reason).toBeInstanceOf(TraceStoreConflictError);
        expect(rejected[0]?.reason).toMatchObject({ constraint: 'incidents_open_signature_uq' });
      });

      it('rejects an incident id that exists', async () => {
        await store.createIncident(incident({ id: 'dup', signature: 'sig-dup-1' }));

        await expect(
          store.createIncident(incident({ id: 'dup', signature: 'sig-dup-2' })),
        ).rejects.toThrow(TraceStoreConflictError);
      });

      it('reports an incident that does not exist', async () => {
        await expect(store.getIncident('missing')).resolves.toBeUndefined();
        await expect(store.updateIncident('missing', { status: 'failed' })).rejects.toMatchObject({
          name: 'TraceStoreNotFoundError',
          entity: 'incident',
          id: 'missing',
        });
        await expect(
          store.recordStep({
            incident_id: 'missing',
            stage: 'rca',
            status: 'ok',
            started_at: at(0),
            ended_at: at(1),
            duration_ms: 1,
          }),
        ).rejects.toThrow(TraceStoreNotFoundError);
      });

      it('rejects a time that is not ISO 8601', async () => {
        await expect(
          store.createIncident(incident({ id: 'bad-time', opened_at: 'yesterday-ish' })),
        ).rejects.toMatchObject({ name: 'TraceStoreInputError', field: 'opened_at' });
        await expect(store.listIncidents({ limit: 0 })).rejects.toThrow(TraceStoreInputError);
      });
    });

    describe('evaluations', () => {
      it('keeps harness runs and answers the one that finished last', async () => {
        expect(await store.latestEvaluation()).toBeUndefined();
        const run = (id: string, finished: number) => ({
          id,
          started_at: at(0),
          finished_at: at(finished),
          stores: 'embedded',
          summary: { total: 2, passed: 1, pass_all_repeats: false },
          scenarios: [
            { id: 'a', pass: true, ttr_ms: 420 },
            { id: 'b', pass: false, ttr_ms: null },
          ],
        });
        await store.recordEvaluation(run('ev-late', 9_000));
        await store.recordEvaluation(run('ev-early', 5_000));
        // The same id twice keeps the first.
        const again = await store.recordEvaluation({ ...run('ev-late', 9_000), stores: 'other' });

        expect(again.stores).toBe('embedded');
        expect(await store.latestEvaluation()).toEqual(run('ev-late', 9_000));
      });
    });

    describe('signals', () => {
      it('lists signals newest first up to the limit', async () => {
        for (const [id, second] of [
          ['sg-1', 1],
          ['sg-3', 3],
          ['sg-2', 2],
        ] as const) {
          await store.recordSignal({
            id,
            kind: 'SchemaMismatch',
            target: 'shop',
            field: 'return_policy',
            occurred_at: at(second * 1000),
            data: { skus: ['SKU-1001'], sample: null },
          });
        }

        const newest = await store.listSignals({ limit: 2 });

        expect(newest.map((signal) => signal.id)).toEqual(['sg-3', 'sg-2']);
        expect(newest[0]).toEqual({
          id: 'sg-3',
          kind: 'SchemaMismatch',
          target: 'shop',
          field: 'return_policy',
          occurred_at: at(3000),
          data: { skus: ['SKU-1001'], sample: null },
        });
      });

      it('keeps the first recording when a signal is delivered twice', async () => {
        const signal = {
          id: 'sg-redelivered',
          kind: 'SchemaMismatch',
          target: 'other',
          occurred_at: at(0),
          data: { attempt: 1 },
        };
        await store.recordSignal(signal);

        const again = await store.recordSignal({ ...signal, data: { attempt: 2 } });

        expect(again).toMatchObject({ field: null, data: { attempt: 1 } });
        expect(await store.listSignals({ target: 'other', limit: 10 })).toHaveLength(1);
      });
    });

    describe('diagnoses, patches and verifications', () => {
      it('records them per incident and lists them oldest first', async () => {
        await store.createIncident(incident({ id: 'inc-work' }));

        await store.recordDiagnosis({
          id: 'dx-2',
          incident_id: 'inc-work',
          fault_class: 'mapper_drops_field',
          confidence: 0.92,
          location: { file: 'catalog-sync.ts', symbol: 'toProductRecord', lines: [12, 20] },
          evidence: { field: 'return_policy' },
          created_at: at(20),
        });
        await store.recordDiagnosis({
          id: 'dx-1',
          incident_id: 'inc-work',
          fault_class: 'unknown',
          confidence: 0.2,
          evidence: {},
          created_at: at(10),
        });
        await store.recordPatch({
          id: 'px-1',
          incident_id: 'inc-work',
          diagnosis_id: 'dx-2',
          diff: '--- a/catalog-sync.ts\n+++ b/catalog-sync.ts\n@@ -1 +1 @@\n-a\n+b\n',
          files: ['catalog-sync.ts'],
          applier: 'lazy-edit',
          created_at: at(30),
        });
        await store.recordVerification({
          id: 'vx-1',
          incident_id: 'inc-work',
          patch_id: 'px-1',
          passed: false,
          checks: [
            { name: 'replay 8734', passed: true, duration_ms: 3.5 },
            { name: 'differential', passed: false, detail: { changed: ['price'] } },
          ],
          created_at: at(40),
        });

        const [dxs, pxs, vxs] = await Promise.all([
          store.listDiagnoses('inc-work'),
          store.listPatches('inc-work'),
          store.listVerifications('inc-work'),
        ]);

        expect(dxs.map((dx) => [dx.id, dx.location])).toEqual([
          ['dx-1', null],
          ['dx-2', { file: 'catalog-sync.ts', symbol: 'toProductRecord', lines: [12, 20] }],
        ]);
        expect(pxs).toEqual([
          {
            id: 'px-1',
            incident_id: 'inc-work',
            diagnosis_id: 'dx-2',
            diff: '--- a/catalog-sync.ts\n+++ b/catalog-sync.ts\n@@ -1 +1 @@\n-a\n+b\n',
            files: ['catalog-sync.ts'],
            applier: 'lazy-edit',
            created_at: at(30),
          },
        ]);
        expect(vxs).toEqual([
          {
            id: 'vx-1',
            incident_id: 'inc-work',
            patch_id: 'px-1',
            release_id: null,
            passed: false,
            checks: [
              { name: 'replay 8734', passed: true, duration_ms: 3.5 },
              { name: 'differential', passed: false, detail: { changed: ['price'] } },
            ],
            created_at: at(40),
          },
        ]);
      });

      it('rejects a diagnosis for an incident that does not exist', async () => {
        await expect(
          store.recordDiagnosis({
            id: 'dx-orphan',
            incident_id: 'no-such-incident',
            fault_class: 'unknown',
            confidence: 0,
            evidence: {},
            created_at: at(0),
          }),
        ).rejects.toMatchObject({ name: 'TraceStoreNotFoundError', id: 'no-such-incident' });
      });
    });

    describe('releases', () => {
      const release = (id: string, target: string, minute: number, active?: boolean) => ({
        id,
        target,
        hash: `sha256-${id}`,
        created_at: at(minute * 60_000),
        ...(active === undefined ? {} : { active }),
      });

      it('keeps exactly one active release per target', async () => {
        await store.recordRelease(release('r1', 'shop-rel', 1, true));
        await store.recordRelease({ ...release('r2', 'shop-rel', 2), parent_id: 'r1', diff: '+x' });
        await store.recordRelease(release('o1', 'other-rel', 1, true));

        const beforeSwitch = await store.getActiveRelease('shop-rel');
        const switched = await store.setActiveRelease('shop-rel', 'r2');
        await store.recordRelease(release('r3', 'shop-rel', 3, true));
        const listed = await store.listReleases('shop-rel');

        expect(beforeSwitch?.id).toBe('r1');
        expect(switched).toMatchObject({ id: 'r2', active: true, parent_id: 'r1', diff: '+x' });
        expect(listed.map((r) => [r.id, r.active])).toEqual([
          ['r3', true],
          ['r2', false],
          ['r1', false],
        ]);
        expect((await store.getActiveRelease('other-rel'))?.id).toBe('o1');
      });

      it('ends with one active release when activations race', async () => {
        for (const id of ['race-r1', 'race-r2', 'race-r3', 'race-r4']) {
          await store.recordRelease(release(id, 'race-rel', 1));
        }

        await Promise.all(
          ['race-r1', 'race-r2', 'race-r3', 'race-r4'].map((id) =>
            store.setActiveRelease('race-rel', id),
          ),
        );
        const active = (await store.listReleases('race-rel')).filter((r) => r.active);

        expect(active).toHaveLength(1);
      });

      it('refuses to activate a release the target does not have', async () => {
        await store.recordRelease(release('mine', 'owner-rel', 1, true));

        await expect(store.setActiveRelease('someone-else', 'mine')).rejects.toThrow(
          TraceStoreNotFoundError,
        );
        expect((await store.getActiveRelease('owner-rel'))?.id).toBe('mine');
      });
    });

    describe('audit log', () => {
      // Each test starts from an empty chain; truncating needs the owner to lift the trigger.
      beforeEach(async () => {
        await harness.query(
          'ALTER TABLE audit_entries DISABLE TRIGGER USER; TRUNCATE audit_entries; ALTER TABLE audit_entries ENABLE TRIGGER USER;',
        );
      });

      it('links each entry to the hash of the one before', async () => {
        const first = await store.appendAudit({
          actor: 'rca',
          action: 'incident.opened',
          incident_id: 'inc-audit',
          detail: { signature: 'sig', fields: ['return_policy'] },
        });
        const second = await store.appendAudit({
          actor: 'admin',
          action: 'patch.approved',
          detail: { b: 2, a: { d: [1, 'x'], c: null } },
        });

        expect(first).toMatchObject({
          seq: 1,
          prev_hash: AUDIT_GENESIS_HASH,
          incident_id: 'inc-audit',
        });
        expect(second).toMatchObject({ seq: 2, prev_hash: first.hash, incident_id: null });
        expect(second.hash).toBe(auditEntryHash(second));
        expect(second.hash).toMatch(/^[0-9a-f]{64}$/);
        expect(await store.listAudit({ limit: 10 })).toEqual([second, first]);
        expect(await store.verifyAuditChain()).toEqual({ ok: true, entries: 2 });
      });

      it('appends concurrently without forking the chain', async () => {
        const appended = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            store.appendAudit({ actor: `worker-${i}`, action: 'step.recorded', detail: { i } }),
          ),
        );

        expect(appended.map((entry) => entry.seq).sort((a, b) => a - b)).toEqual(
          Array.from({ length: 20 }, (_, i) => i + 1),
        );
        expect(new Set(appended.map((entry) => entry.prev_hash)).size).toBe(20);
        expect(await store.verifyAuditChain()).toEqual({ ok: true, entries: 20 });
      });

      it('detects an entry whose detail was altered', async () => {
        for (let i = 1; i <= 5; i++) {
          await store.appendAudit({ actor: 'heal', action: 'release.activated', detail: { i } });
        }

        await harness.query(`
          ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only;
          UPDATE audit_entries SET detail = '{"i": 99}' WHERE seq = 3;
          ALTER TABLE audit_entries ENABLE TRIGGER audit_entries_append_only;
        `);

        expect(await store.verifyAuditChain()).toEqual({
          ok: false,
          entries: 5,
          first_broken: { seq: 3, reason: 'hash_mismatch' },
        });
      });

      it('detects an entry removed from the middle', async () => {
        for (let i = 1; i <= 5; i++) {
          await store.appendAudit({ actor: 'heal', action: 'release.activated', detail: { i } });
        }

        await harness.query(`
          ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only;
          DELETE FROM audit_entries WHERE seq = 3;
          ALTER TABLE audit_entries ENABLE TRIGGER audit_entries_append_only;
        `);

        expect(await store.verifyAuditChain()).toEqual({
          ok: false,
          entries: 4,
          first_broken: { seq: 4, reason: 'seq_gap' },
        });
      });

      it('rejects updates, deletes and truncation of audit entries', async () => {
        await store.appendAudit({ actor: 'admin', action: 'reset', detail: {} });

        await expect(harness.query(`UPDATE audit_entries SET actor = 'mallory'`)).rejects.toThrow(
          /append-only: UPDATE rejected/,
        );
        await expect(harness.query('DELETE FROM audit_entries')).rejects.toThrow(
          /append-only: DELETE rejected/,
        );
        await expect(harness.query('TRUNCATE audit_entries')).rejects.toThrow(
          /append-only: TRUNCATE rejected/,
        );
        expect(await store.verifyAuditChain()).toEqual({ ok: true, entries: 1 });
      });
    });

    describe('migrations', () => {
      it('applies them again without change or loss', async () => {
        await store.createIncident(incident({ id: 'before-remigrate' }));

        await store.migrate();
        const second = await harness.reopen();
        const applied = await harness.query(
          `SELECT count(*)::int AS n FROM ${adapter.name === 'postgres' ? '' : 'drizzle.'}${MIGRATIONS_TABLE}`,
        );
        const seen = await second.getIncident('before-remigrate');
        await second.close();

        expect(applied).toEqual([{ n: MIGRATIONS }]);
        expect(seen?.id).toBe('before-remigrate');
      });
    });
  });
}

describe('Trace store: createTraceStore', () => {
  it('embeds PGlite when DATABASE_URL is unset or empty', async () => {
    const store = await createTraceStore({ DATABASE_URL: '' });
    try {
      expect(store.kind).toBe('pglite');
      expect(await store.listSignals({ limit: 1 })).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it.skipIf(!up)('connects to Postgres when DATABASE_URL is set', async () => {
    const schema = uniqueName('trace-store-env');
    const store = await createTraceStore({
      DATABASE_URL: TEST_DATABASE_URL,
      DATABASE_SCHEMA: schema,
    });
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    try {
      expect(store.kind).toBe('postgres');
      await admin.connect();
      const tables = await admin.query(
        'SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1',
        [schema],
      );
      expect(tables.rows).toEqual([{ n: 10 }]);
    } finally {
      await store.close();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    }
  });
});
