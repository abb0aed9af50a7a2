import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  doublePrecision,
  index,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import type { IncidentStatus, VerificationCheck } from '../../ports/trace-store.js';

/**
 * The trace store's Postgres schema, shared by the Postgres and PGlite adapters. Migrations in
 * `./drizzle/` are generated from it with `npx drizzle-kit generate` (see `drizzle.config.ts`).
 *
 * Tables carry no schema qualifier: the adapter picks the schema through `search_path`, which
 * is how tests isolate themselves and how a deployment can share one database.
 */

// Milliseconds, matching the ISO strings the port speaks; mode 'date' so both drivers hand
// back a Date the adapter turns into `toISOString()`.
const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date', precision: 3 });

export const incidents = pgTable(
  'incidents',
  {
    id: text('id').primaryKey(),
    status: text('status').$type<IncidentStatus>().notNull(),
    fault_class: text('fault_class'),
    target: text('target').notNull(),
    fields: text('fields').array().notNull().default(sql`'{}'::text[]`),
    signature: text('signature').notNull(),
    opened_at: at('opened_at').notNull(),
    onset_at: at('onset_at'),
    healed_at: at('healed_at'),
    ttd_ms: doublePrecision('ttd_ms'),
    ttr_ms: doublePrecision('ttr_ms'),
    diagnosis: jsonb('diagnosis').$type<unknown>(),
    patch: jsonb('patch').$type<unknown>(),
    verification: jsonb('verification').$type<unknown>(),
    backfill: jsonb('backfill').$type<unknown>(),
  },
  (t) => [
    index('incidents_opened_at_idx').on(t.opened_at.desc()),
    index('incidents_target_opened_at_idx').on(t.target, t.opened_at.desc()),
    // One open incident per fault signature, so two rca workers racing on the same signals
    // cannot open twins. Keep the list in step with CLOSED_INCIDENT_STATUSES.
    uniqueIndex('incidents_open_signature_uq')
      .on(t.signature)
      .where(sql`status NOT IN ('healed', 'rejected', 'rolled_back', 'failed', 'escalated')`),
  ],
);

export const traceSteps = pgTable(
  'trace_steps',
  {
    id: text('id').primaryKey(),
    // Recording order, only to order steps that start in the same millisecond.
    position: bigint('position', { mode: 'number' }).generatedAlwaysAsIdentity().notNull(),
    incident_id: text('incident_id').references(() => incidents.id, { onDelete: 'cascade' }),
    stage: text('stage').notNull(),
    status: text('status').notNull(),
    started_at: at('started_at').notNull(),
    ended_at: at('ended_at').notNull(),
    duration_ms: doublePrecision('duration_ms').notNull(),
    detail: jsonb('detail').$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [index('trace_steps_incident_idx').on(t.incident_id, t.started_at, t.position)],
);

export const signals = pgTable(
  'signals',
  {
    id: text('id').primaryKey(),
    kind: text('kind').notNull(),
    target: text('target').notNull(),
    field: text('field'),
    occurred_at: at('occurred_at').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull(),
  },
  (t) => [
    index('signals_occurred_at_idx').on(t.occurred_at.desc()),
    index('signals_target_occurred_at_idx').on(t.target, t.occurred_at.desc()),
  ],
);

export const diagnoses = pgTable(
  'diagnoses',
  {
    id: text('id').primaryKey(),
    incident_id: text('incident_id')
      .notNull()
      .references(() => incidents.id, { onDelete: 'cascade' }),
    fault_class: text('fault_class').notNull(),
    confidence: doublePrecision('confidence').notNull(),
    location: jsonb('location').$type<Record<string, unknown>>(),
    evidence: jsonb('evidence').$type<Record<string, unknown>>().notNull(),
    created_at: at('created_at').notNull(),
  },
  (t) => [index('diagnoses_incident_idx').on(t.incident_id, t.created_at)],
);

export const patches = pgTable(
  'patches',
  {
    id: text('id').primaryKey(),
    incident_id: text('incident_id')
      .notNull()
      .references(() => incidents.id, { onDelete: 'cascade' }),
    diagnosis_id: text('diagnosis_id'),
    diff: text('diff').notNull(),
    files: text('files').array().notNull(),
    applier: text('applier').notNull(),
    created_at: at('created_at').notNull(),
  },
  (t) => [index('patches_incident_idx').on(t.incident_id, t.created_at)],
);

export const verifications = pgTable(
  'verifications',
  {
    id: text('id').primaryKey(),
    incident_id: text('incident_id')
      .notNull()
      .references(() => incidents.id, { onDelete: 'cascade' }),
    patch_id: text('patch_id'),
    release_id: text('release_id'),
    passed: boolean('passed').notNull(),
    checks: jsonb('checks').$type<VerificationCheck[]>().notNull(),
    created_at: at('created_at').notNull(),
  },
  (t) => [index('verifications_incident_idx').on(t.incident_id, t.created_at)],
);

export const releases = pgTable(
  'releases',
  {
    id: text('id').primaryKey(),
    target: text('target').notNull(),
    parent_id: text('parent_id'),
    hash: text('hash').notNull(),
    diff: text('diff'),
    created_at: at('created_at').notNull(),
    active: boolean('active').notNull().default(false),
  },
  (t) => [
    index('releases_target_created_at_idx').on(t.target, t.created_at.desc()),
    // At most one active release per target, whatever writes the table.
    uniqueIndex('releases_one_active_per_target_uq').on(t.target).where(sql`active`),
  ],
);

/**
 * Append-only: migration 0001 installs a trigger that rejects UPDATE, DELETE and TRUNCATE.
 * `seq` is assigned by the appender under a table lock (never a sequence, which leaves gaps
 * on rollback), so the primary key also stops two appenders from forking the chain.
 */
export const auditEntries = pgTable(
  'audit_entries',
  {
    seq: bigint('seq', { mode: 'number' }).primaryKey(),
    at: at('at').notNull(),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    incident_id: text('incident_id'),
    detail: jsonb('detail').$type<Record<string, unknown>>().notNull(),
    prev_hash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
  },
  (t) => [
    index('audit_entries_incident_idx').on(t.incident_id, t.seq),
    check('audit_entries_seq_positive', sql`${t.seq} > 0`),
  ],
);

/** Runs of the scenario harness, newest read first by the dashboard. */
export const evaluations = pgTable(
  'evaluations',
  {
    id: text('id').primaryKey(),
    started_at: at('started_at').notNull(),
    finished_at: at('finished_at').notNull(),
    stores: text('stores').notNull(),
    summary: jsonb('summary').$type<Record<string, unknown>>().notNull(),
    scenarios: jsonb('scenarios').$type<Array<Record<string, unknown>>>().notNull(),
  },
  (t) => [index('evaluations_finished_at_idx').on(t.finished_at.desc())],
);
