import { z } from 'zod';
import { envelopeOf, IsoDateTime } from './envelope.js';

export const FaultClassSchema = z.enum([
  'dropped-field',
  'renamed-field',
  'moved-field',
  'type-drift',
  'enum-drift',
  'dependency-down',
  'unknown',
]);
export type FaultClass = z.infer<typeof FaultClassSchema>;

/** One piece of evidence behind a diagnosis, with where it came from and what was seen. */
export const EvidenceSchema = z.object({
  source: z.enum(['signal', 'catalog.delta', 'probe', 'static-analysis', 'release-diff']),
  summary: z.string().min(1),
  values: z.unknown().optional(),
  weight: z.number().min(0).max(1),
});

/** A root cause with its location and the evidence it rests on (`diagnosis` v1). */
export const DiagnosisDataSchema = z.object({
  target: z.string().min(1),
  fault_class: FaultClassSchema,
  fields: z.array(z.string().min(1)),
  location: z
    .object({
      file: z.string().min(1),
      symbol: z.string().min(1),
      start_line: z.number().int().positive(),
      end_line: z.number().int().positive(),
    })
    .optional(),
  evidence: z.array(EvidenceSchema),
  /** Derived from the evidence weights, never assigned. */
  confidence: z.number().min(0).max(1),
  /** What a fix needs to know, read off the evidence (where the value lives upstream now). */
  fix: z
    .object({
      source_path: z.string().min(1).optional(),
      old_source_path: z.string().min(1).optional(),
      expected_type: z.enum(['number', 'integer', 'string', 'boolean']).optional(),
    })
    .optional(),
});
export const DiagnosisEventSchema = envelopeOf('diagnosis', 1, DiagnosisDataSchema);
export type DiagnosisEvent = z.infer<typeof DiagnosisEventSchema>;

/** A patch proposal: the merged file's diff and how it was produced (`patch.proposal` v1). */
export const PatchProposalDataSchema = z.object({
  patch_id: z.string().min(1),
  target: z.string().min(1),
  files: z.array(z.string().min(1)).min(1),
  /** Unified diff against the active release. */
  diff: z.string().min(1),
  added: z.number().int().nonnegative(),
  removed: z.number().int().nonnegative(),
  applier: z.enum(['morph', 'local']),
  /** The patched file, whole: what guard checks and verify builds. */
  merged: z.string().min(1),
  /** The release the patch applies to. */
  base_release_id: z.string().min(1),
  attempts: z.array(
    z.object({
      applier: z.enum(['morph', 'local']),
      ok: z.boolean(),
      reason: z.string().optional(),
      duration_ms: z.number().nonnegative(),
    }),
  ),
});
export const PatchProposalEventSchema = envelopeOf('patch.proposal', 1, PatchProposalDataSchema);
export type PatchProposalEvent = z.infer<typeof PatchProposalEventSchema>;

/** The guard's verdict on a patch (`guard.decision` v1). */
export const GuardDecisionDataSchema = z.object({
  patch_id: z.string().min(1),
  decision: z.enum(['approved', 'awaiting_approval', 'rejected']),
  reasons: z.array(z.string()),
  decided_by: z.string().min(1),
  /** The proposal judged; present on approvals so verify needs nothing else to build it. */
  proposal: PatchProposalDataSchema.optional(),
  /** The diagnosed fields: the only ones a candidate may change in the differential run. */
  fields: z.array(z.string().min(1)).optional(),
});
export const GuardDecisionEventSchema = envelopeOf('guard.decision', 1, GuardDecisionDataSchema);
export type GuardDecisionEvent = z.infer<typeof GuardDecisionEventSchema>;

/** One verification check with its counts and first failures. */
export const VerificationCheckSchema = z.object({
  name: z.enum(['replay', 'smoke', 'differential']),
  ok: z.boolean(),
  passed: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  /**
   * Cases neither passed nor failed: records still broken only in fields another open fault
   * owns (two faults in one push), which the live release breaks too.
   */
  left_to_other_faults: z.number().int().nonnegative().optional(),
  first_failures: z.array(z.string()),
  duration_ms: z.number().nonnegative(),
});

/** The verdict on a candidate release (`verification` v1). */
export const VerificationDataSchema = z.object({
  patch_id: z.string().min(1),
  candidate_release_id: z.string().min(1),
  ok: z.boolean(),
  checks: z.array(VerificationCheckSchema),
  /** The release the candidate was built on (the parent heal must find active). */
  base_release_id: z.string().min(1).optional(),
  /** The SKUs whose records broke the contract when verification ran (what heal repairs). */
  affected_skus: z.array(z.string()).optional(),
  /** Why verification could not run or finish (build error, sandbox crash, timeout). */
  reason: z.string().optional(),
});
export const VerificationEventSchema = envelopeOf('verification', 1, VerificationDataSchema);
export type VerificationEvent = z.infer<typeof VerificationEventSchema>;

/** How a heal ended (`heal.outcome` v1). */
export const HealOutcomeDataSchema = z.object({
  status: z.enum(['healed', 'rolled_back', 'failed']),
  release_id: z.string().min(1),
  previous_release_id: z.string().min(1),
  backfill: z.object({
    repaired: z.number().int().nonnegative(),
    failed: z.number().int().nonnegative(),
  }),
  reason: z.string().optional(),
  healed_at: IsoDateTime.optional(),
});
export const HealOutcomeEventSchema = envelopeOf('heal.outcome', 1, HealOutcomeDataSchema);
export type HealOutcomeEvent = z.infer<typeof HealOutcomeEventSchema>;
