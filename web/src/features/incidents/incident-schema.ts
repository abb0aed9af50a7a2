import { z } from 'zod';
import {
  CapturedRequestSchema,
  DiagnosisDataSchema,
  GuardDecisionDataSchema,
  HealOutcomeDataSchema,
  PatchProposalDataSchema,
  TraceStepDataSchema,
  VerificationDataSchema,
} from '../../../../events/index.js';

/** Incident statuses, as ARCHITECTURE.md lists them under the stable interfaces. */
export const IncidentStatusSchema = z.enum([
  'detected',
  'diagnosed',
  'patched',
  'awaiting_approval',
  'rejected',
  'verified',
  'verification_failed',
  'healed',
  'rolled_back',
  'failed',
  'escalated',
]);
export type IncidentStatus = z.infer<typeof IncidentStatusSchema>;

/**
 * One recorded step of an incident: the `trace.step` data the stream carries, plus its row id.
 * The store keeps the status as free text, so a stage may report a status the live event does
 * not know yet.
 */
export const IncidentStepSchema = TraceStepDataSchema.extend({
  id: z.string(),
  incident_id: z.string().nullable(),
  status: z.string().min(1),
});
export type IncidentStep = z.infer<typeof IncidentStepSchema>;

/**
 * An incident as `GET /api/incidents` lists it. The snapshots (diagnosis, patch, verification,
 * backfill) stay `unknown` here and are parsed by the section that shows them, so one odd
 * snapshot costs one section, not the page.
 */
export const IncidentSummarySchema = z.object({
  id: z.string().min(1),
  status: IncidentStatusSchema,
  fault_class: z.string().nullable(),
  target: z.string(),
  fields: z.array(z.string()),
  opened_at: z.string(),
  healed_at: z.string().nullable(),
  ttd_ms: z.number().nonnegative().nullable(),
  ttr_ms: z.number().nonnegative().nullable(),
  diagnosis: z.unknown(),
  patch: z.unknown(),
  verification: z.unknown(),
  backfill: z.unknown(),
});
export type IncidentSummary = z.infer<typeof IncidentSummarySchema>;

/** `GET /api/incidents/:id`: the incident with its trace steps, oldest first. */
export const IncidentSchema = IncidentSummarySchema.extend({
  steps: z.array(IncidentStepSchema),
});
export type Incident = z.infer<typeof IncidentSchema>;

export const IncidentListSchema = z.object({ incidents: z.array(IncidentSummarySchema) });

/** A signal rca joined into the diagnosis, with the request a sensor captured for replay. */
export const SignalSnapshotSchema = z.object({
  id: z.string(),
  kind: z.string(),
  source: z.string().optional(),
  skus: z.array(z.string()),
  sku_count: z.number().int().nonnegative().optional(),
  occurred_at: z.string().optional(),
  request: CapturedRequestSchema.optional(),
  response: z.object({ status: z.number().int(), body: z.unknown() }).optional(),
});
export type SignalSnapshot = z.infer<typeof SignalSnapshotSchema>;

/** The incident's latest diagnosis: the `diagnosis` event's findings plus what rca joined. */
export const DiagnosisSnapshotSchema = DiagnosisDataSchema.pick({
  location: true,
  evidence: true,
  confidence: true,
  fix: true,
}).extend({
  fault_class: z.string(),
  signals: z.array(SignalSnapshotSchema).default([]),
  release: z
    .object({ active: z.string().nullable().optional(), parent: z.string().nullable().optional() })
    .optional(),
});
export type DiagnosisSnapshot = z.infer<typeof DiagnosisSnapshotSchema>;
export type Evidence = DiagnosisSnapshot['evidence'][number];

/** A person's decision on a held patch. */
const ApprovalSchema = z.object({
  decision: z.string(),
  by: z.string(),
  at: z.string(),
  note: z.string().nullable().optional(),
});

/** The incident's latest patch: the proposal's diff and stats, the guard's verdict, any approval. */
export const PatchSnapshotSchema = PatchProposalDataSchema.pick({ diff: true, files: true }).extend(
  {
    id: z.string().optional(),
    applier: z.string(),
    planner: z.string().optional(),
    added: z.number().int().nonnegative().optional(),
    removed: z.number().int().nonnegative().optional(),
    attempts: PatchProposalDataSchema.shape.attempts.optional(),
    guard: GuardDecisionDataSchema.pick({ decision: true, reasons: true, decided_by: true })
      .extend({ decided_at: z.string().optional() })
      .optional(),
    approval: ApprovalSchema.optional(),
  },
);
export type PatchSnapshot = z.infer<typeof PatchSnapshotSchema>;

/** The verdict on the candidate release, as the `verification` event carries it. */
export const VerificationSnapshotSchema = VerificationDataSchema;
export type VerificationSnapshot = z.infer<typeof VerificationSnapshotSchema>;

/** Records the heal repaired through the new release. */
export const BackfillSnapshotSchema = HealOutcomeDataSchema.shape.backfill.partial({
  failed: true,
});
export type BackfillSnapshot = z.infer<typeof BackfillSnapshotSchema>;

/**
 * Parses a snapshot for the section that shows it.
 *
 * @returns `undefined` when absent (`null`), the value, or an error saying the shape is off.
 */
export function readSnapshot<S extends z.ZodType>(
  schema: S,
  value: unknown,
): { ok: true; value: z.infer<S> | undefined } | { ok: false; reason: string } {
  if (value === null || value === undefined) return { ok: true, value: undefined };
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0];
  return {
    ok: false,
    reason: issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid',
  };
}
