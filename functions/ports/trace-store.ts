/**
 * The Trace store port: the durable record of everything the pipeline does. Incidents with their
 * trace steps, signals, diagnoses, patches, verifications, releases and an append-only,
 * hash-chained audit log. Cores and handlers see only this interface; adapters live in
 * `functions/adapters/store/` (Postgres in production, PGlite embedded locally).
 *
 * Conventions every adapter honours (pinned by `test/trace-store.contract.test.ts`):
 * - ids are strings chosen by the caller (trace steps get a random UUID when none is given);
 * - times are ISO 8601 strings in UTC with millisecond precision (`Date#toISOString()`), both in
 *   and out; an input that does not parse as a time is a {@link TraceStoreInputError};
 * - durations (`duration_ms`, `ttd_ms`, `ttr_ms`) are measured by callers: the store stores them
 *   and never derives or invents one;
 * - JSON payloads (`detail`, `data`, `diagnosis`, ...) round-trip as JSON: what comes back is
 *   `JSON.parse(JSON.stringify(input))`;
 * - absent values come back as `null`, never `undefined`, matching the Incident JSON;
 * - `record*` calls that take a caller id are idempotent on it: recording the same id again (an
 *   at-least-once redelivery) keeps the first row and returns it.
 */

/** An ISO 8601 UTC timestamp with millisecond precision, e.g. `2025-01-31T02:00:00.412Z`. */
export type IsoTimestamp = string;

/** Incident statuses, as listed under "Interfaces that must stay stable" in ARCHITECTURE.md. */
export type IncidentStatus =
  | 'detected'
  | 'diagnosed'
  | 'patched'
  | 'awaiting_approval'
  | 'rejected'
  | 'verified'
  | 'verification_failed'
  | 'healed'
  | 'rolled_back'
  | 'failed'
  | 'escalated';

/**
 * Statuses after which an incident is closed. Any other status is open, and at most one open
 * incident exists per fault signature.
 */
export const CLOSED_INCIDENT_STATUSES = [
  'healed',
  'rejected',
  'rolled_back',
  'failed',
  'escalated',
] as const satisfies readonly IncidentStatus[];

/** True when no further work is expected on an incident with this status. */
export const isClosedIncidentStatus = (status: IncidentStatus): boolean =>
  (CLOSED_INCIDENT_STATUSES as readonly IncidentStatus[]).includes(status);

export interface NewIncident {
  readonly id: string;
  readonly status: IncidentStatus;
  readonly fault_class?: string | null;
  /** Name of the target (from its manifest) the incident is about. */
  readonly target: string;
  /** Record fields involved, e.g. `['return_policy']`. */
  readonly fields: readonly string[];
  /** Fault signature that groups signals into this incident. */
  readonly signature: string;
  readonly opened_at: IsoTimestamp;
  /** When the fault started (earliest evidence), if known; `ttd_ms` is measured from it. */
  readonly onset_at?: IsoTimestamp | null;
}

/** Fields an incident may change over its life. Omitted keys are left as they are. */
export interface IncidentPatch {
  readonly status?: IncidentStatus;
  readonly fault_class?: string | null;
  readonly fields?: readonly string[];
  readonly onset_at?: IsoTimestamp | null;
  readonly healed_at?: IsoTimestamp | null;
  readonly ttd_ms?: number | null;
  readonly ttr_ms?: number | null;
  readonly diagnosis?: unknown;
  readonly patch?: unknown;
  readonly verification?: unknown;
  readonly backfill?: unknown;
}

/** An incident row, without its steps (what lists return). */
export interface IncidentSummary {
  readonly id: string;
  readonly status: IncidentStatus;
  readonly fault_class: string | null;
  readonly target: string;
  readonly fields: string[];
  readonly signature: string;
  readonly opened_at: IsoTimestamp;
  readonly onset_at: IsoTimestamp | null;
  readonly healed_at: IsoTimestamp | null;
  readonly ttd_ms: number | null;
  readonly ttr_ms: number | null;
  /** Latest diagnosis snapshot for the dashboard; the full history is in `listDiagnoses`. */
  readonly diagnosis: unknown;
  /** Latest patch snapshot (`{ diff, files, applier }`); history in `listPatches`. */
  readonly patch: unknown;
  readonly verification: unknown;
  /** Backfill outcome, e.g. `{ repaired: 12 }`. */
  readonly backfill: unknown;
}

/** An incident with its trace steps, oldest first. */
export interface Incident extends IncidentSummary {
  readonly steps: TraceStep[];
}

export interface ListIncidentsQuery {
  readonly status?: IncidentStatus;
  readonly target?: string;
  readonly limit: number;
}

export interface NewTraceStep {
  /** Defaults to a random UUID. */
  readonly id?: string;
  /** Omitted for work done before an incident exists (ingest, validation). */
  readonly incident_id?: string | null;
  readonly stage: string;
  readonly status: string;
  readonly started_at: IsoTimestamp;
  readonly ended_at: IsoTimestamp;
  /** Measured by the caller around the real work (`performance.now()`). */
  readonly duration_ms: number;
  readonly detail?: Record<string, unknown>;
}

export interface TraceStep {
  readonly id: string;
  readonly incident_id: string | null;
  readonly stage: string;
  readonly status: string;
  readonly started_at: IsoTimestamp;
  readonly ended_at: IsoTimestamp;
  readonly duration_ms: number;
  readonly detail: Record<string, unknown>;
}

export interface NewSignal {
  readonly id: string;
  /** e.g. `SchemaMismatch`. */
  readonly kind: string;
  readonly target: string;
  readonly field?: string | null;
  readonly occurred_at: IsoTimestamp;
  readonly data: Record<string, unknown>;
}

export interface Signal {
  readonly id: string;
  readonly kind: string;
  readonly target: string;
  readonly field: string | null;
  readonly occurred_at: IsoTimestamp;
  readonly data: Record<string, unknown>;
}

export interface ListSignalsQuery {
  readonly target?: string;
  readonly limit: number;
}

export interface NewDiagnosis {
  readonly id: string;
  readonly incident_id: string;
  readonly fault_class: string;
  /** In [0, 1], derived from the evidence by rca. */
  readonly confidence: number;
  /** Where the fault is, e.g. `{ file, symbol, lines }`. */
  readonly location?: Record<string, unknown> | null;
  readonly evidence: Record<string, unknown>;
  readonly created_at: IsoTimestamp;
}

export interface Diagnosis {
  readonly id: string;
  readonly incident_id: string;
  readonly fault_class: string;
  readonly confidence: number;
  readonly location: Record<string, unknown> | null;
  readonly evidence: Record<string, unknown>;
  readonly created_at: IsoTimestamp;
}

export interface NewPatch {
  readonly id: string;
  readonly incident_id: string;
  readonly diagnosis_id?: string | null;
  /** Unified diff text. */
  readonly diff: string;
  /** Paths the diff touches, relative to the target's source root. */
  readonly files: readonly string[];
  /** Which applier merged the edit, e.g. `morph` or `lazy-edit`. */
  readonly applier: string;
  readonly created_at: IsoTimestamp;
}

export interface Patch {
  readonly id: string;
  readonly incident_id: string;
  readonly diagnosis_id: string | null;
  readonly diff: string;
  readonly files: string[];
  readonly applier: string;
  readonly created_at: IsoTimestamp;
}

/** The result of one verification check (a replayed request, a smoke case, a differential run). */
export interface VerificationCheck {
  readonly name: string;
  readonly passed: boolean;
  readonly duration_ms?: number;
  readonly detail?: Record<string, unknown>;
}

export interface NewVerification {
  readonly id: string;
  readonly incident_id: string;
  readonly patch_id?: string | null;
  readonly release_id?: string | null;
  /** True only when every check passed; the caller decides, the store does not recompute it. */
  readonly passed: boolean;
  readonly checks: readonly VerificationCheck[];
  readonly created_at: IsoTimestamp;
}

export interface Verification {
  readonly id: string;
  readonly incident_id: string;
  readonly patch_id: string | null;
  readonly release_id: string | null;
  readonly passed: boolean;
  readonly checks: VerificationCheck[];
  readonly created_at: IsoTimestamp;
}

export interface NewRelease {
  readonly id: string;
  readonly target: string;
  readonly parent_id?: string | null;
  /** Content hash of the release bundle. */
  readonly hash: string;
  /** Unified diff against the parent release. */
  readonly diff?: string | null;
  readonly created_at: IsoTimestamp;
  /** When true, this release becomes the target's only active one. */
  readonly active?: boolean;
}

export interface Release {
  readonly id: string;
  readonly target: string;
  readonly parent_id: string | null;
  readonly hash: string;
  readonly diff: string | null;
  readonly created_at: IsoTimestamp;
  readonly active: boolean;
}

export interface NewAuditEntry {
  /** Who acted: a stage name, `admin`, `system`. */
  readonly actor: string;
  /** What was done, e.g. `release.activated`, `patch.approved`. */
  readonly action: string;
  readonly incident_id?: string | null;
  readonly detail: Record<string, unknown>;
}

/**
 * One link of the audit chain. `hash` is the SHA-256 (hex) of the canonical serialization of
 * `[seq, at, actor, action, incident_id, detail, prev_hash]` (see `auditEntryHash` in the
 * store adapters); `prev_hash` is the previous entry's hash, or {@link AUDIT_GENESIS_HASH}.
 */
export interface AuditEntry {
  /** 1, 2, 3, ... with no gaps. */
  readonly seq: number;
  /** Taken from the clock when the entry is appended. */
  readonly at: IsoTimestamp;
  readonly actor: string;
  readonly action: string;
  readonly incident_id: string | null;
  readonly detail: Record<string, unknown>;
  readonly prev_hash: string;
  readonly hash: string;
}

export interface ListAuditQuery {
  readonly incident_id?: string;
  readonly limit: number;
}

/** The `prev_hash` of the first audit entry. */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);

/**
 * Why the chain breaks at an entry:
 * - `seq_gap`: the entry's seq is not the one expected (an entry before it was removed);
 * - `prev_hash_mismatch`: its `prev_hash` is not the previous entry's hash;
 * - `hash_mismatch`: its stored hash does not match its content (the entry was altered).
 */
export type AuditBreakReason = 'seq_gap' | 'prev_hash_mismatch' | 'hash_mismatch';

export interface AuditChainReport {
  readonly ok: boolean;
  /** Entries read. */
  readonly entries: number;
  /** The first entry, in seq order, at which the chain does not hold. */
  readonly first_broken?: { readonly seq: number; readonly reason: AuditBreakReason };
}

/**
 * One run of the scenario harness: what it measured and scored, kept so the dashboard shows the
 * latest run. `summary` and `scenarios` are the harness's JSON, stored as it printed them.
 */
export interface NewEvaluation {
  readonly id: string;
  readonly started_at: IsoTimestamp;
  readonly finished_at: IsoTimestamp;
  /** Which stores the run used, e.g. `redis+postgres+dynamodb-local` or `embedded`. */
  readonly stores: string;
  readonly summary: Record<string, unknown>;
  readonly scenarios: ReadonlyArray<Record<string, unknown>>;
}
export type Evaluation = NewEvaluation;

export interface TraceStore {
  readonly kind: 'postgres' | 'pglite';

  /**
   * Opens an incident. Throws {@link TraceStoreConflictError} when the id exists or when another
   * incident with the same signature is still open.
   */
  createIncident(incident: NewIncident): Promise<IncidentSummary>;
  /** Applies a patch and returns the updated incident; {@link TraceStoreNotFoundError} if absent. */
  updateIncident(id: string, patch: IncidentPatch): Promise<IncidentSummary>;
  /** The incident with its steps ordered by `started_at` (then by recording order). */
  getIncident(id: string): Promise<Incident | undefined>;
  /** Incidents newest first (by `opened_at`). */
  listIncidents(query: ListIncidentsQuery): Promise<IncidentSummary[]>;
  /** The newest incident with this signature whose status is not closed. */
  findOpenIncident(signature: string): Promise<IncidentSummary | undefined>;

  recordStep(step: NewTraceStep): Promise<TraceStep>;

  recordSignal(signal: NewSignal): Promise<Signal>;
  /** Signals newest first (by `occurred_at`). */
  listSignals(query: ListSignalsQuery): Promise<Signal[]>;

  recordDiagnosis(diagnosis: NewDiagnosis): Promise<Diagnosis>;
  /** Diagnoses of an incident, oldest first. */
  listDiagnoses(incidentId: string): Promise<Diagnosis[]>;

  recordPatch(patch: NewPatch): Promise<Patch>;
  /** Patches of an incident, oldest first. */
  listPatches(incidentId: string): Promise<Patch[]>;

  recordVerification(verification: NewVerification): Promise<Verification>;
  /** Verifications of an incident, oldest first. */
  listVerifications(incidentId: string): Promise<Verification[]>;

  /** Records a release; with `active: true` it atomically becomes the target's active release. */
  recordRelease(release: NewRelease): Promise<Release>;
  /** Releases of a target, newest first. */
  listReleases(target: string): Promise<Release[]>;
  getActiveRelease(target: string): Promise<Release | undefined>;
  /**
   * Makes `id` the target's only active release, atomically. {@link TraceStoreNotFoundError}
   * when the target has no release with that id.
   */
  setActiveRelease(target: string, id: string): Promise<Release>;

  /** Appends to the audit chain; concurrent appends are serialized, never forked. */
  appendAudit(entry: NewAuditEntry): Promise<AuditEntry>;
  /** Audit entries newest first. */
  listAudit(query: ListAuditQuery): Promise<AuditEntry[]>;
  /** Recomputes every hash and link and reports the first break. */
  verifyAuditChain(): Promise<AuditChainReport>;

  /** Stores one harness run; the same id twice keeps the first. */
  recordEvaluation(evaluation: NewEvaluation): Promise<Evaluation>;
  /** The run that finished last, if any. */
  latestEvaluation(): Promise<Evaluation | undefined>;

  close(): Promise<void>;
}

/** Base class of every error the trace store throws on purpose. */
export class TraceStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TraceStoreError';
  }
}

/** A write collided with an existing row (duplicate id, a second open incident, ...). */
export class TraceStoreConflictError extends TraceStoreError {
  /** The database constraint that rejected the write, when known. */
  readonly constraint: string | undefined;

  constructor(message: string, constraint: string | undefined, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TraceStoreConflictError';
    this.constraint = constraint;
  }
}

/** The row an operation needs does not exist. */
export class TraceStoreNotFoundError extends TraceStoreError {
  readonly entity: string;
  readonly id: string;

  constructor(entity: string, id: string, options?: { cause?: unknown }) {
    super(`${entity} ${id} not found`, options);
    this.name = 'TraceStoreNotFoundError';
    this.entity = entity;
    this.id = id;
  }
}

/** An input the store cannot accept (an unparsable time, an invalid schema name, ...). */
export class TraceStoreInputError extends TraceStoreError {
  readonly field: string;

  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super(`${field}: ${message}`, options);
    this.name = 'TraceStoreInputError';
    this.field = field;
  }
}
