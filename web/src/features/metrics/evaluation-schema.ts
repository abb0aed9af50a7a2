import { z } from 'zod';

// `z.object` drops keys it does not know instead of failing, so a harness that records more
// about a run than this view shows does not break the page.

const Duration = z.number().nullable();

/** What a scenario is meant to end in: a heal, an escalation to a person, or nothing at all. */
export const ExpectedOutcomeSchema = z.enum(['healed', 'escalated', 'none']);
export type ExpectedOutcome = z.infer<typeof ExpectedOutcomeSchema>;

/** What a run ended in; `patched_unrestored` is a release that went live without repairing. */
export const EvaluationOutcomeSchema = z.enum([
  'healed',
  'escalated',
  'none',
  'patched_unrestored',
]);
export type EvaluationOutcome = z.infer<typeof EvaluationOutcomeSchema>;

/** One run of one scenario: there is one per scenario per repeat. */
export const ScenarioRunSchema = z.object({
  id: z.string().min(1),
  class: z.string(),
  expected: ExpectedOutcomeSchema,
  outcome: EvaluationOutcomeSchema,
  pass: z.boolean(),
  repeat: z.number().int().nonnegative(),
  ttd_ms: Duration,
  ttr_ms: Duration,
  diagnosis_correct: z.boolean().nullable(),
  patch_minimal: z.boolean().nullable(),
  failures: z.array(z.string()),
});
export type ScenarioRun = z.infer<typeof ScenarioRunSchema>;

/** The headline figures of a harness run, over every scenario and repeat. */
export const EvaluationSummarySchema = z.object({
  total: z.number().int().nonnegative(),
  passed: z.number().int().nonnegative(),
  heal_success_rate: z.number().nullable(),
  false_heals: z.number().int().nonnegative(),
  false_alarms: z.number().int().nonnegative(),
  pass_all_repeats: z.boolean(),
  ttr_p50_ms: Duration,
  ttr_p95_ms: Duration,
  repeat: z.number().int().positive(),
});
export type EvaluationSummary = z.infer<typeof EvaluationSummarySchema>;

/**
 * `GET /api/evaluations/latest`: the most recent run of the scenario evaluation harness.
 *
 * @example
 * const evaluation = EvaluationSchema.parse(await response.json());
 * evaluation.summary.passed; // 8
 */
export const EvaluationSchema = z.object({
  id: z.string().min(1),
  started_at: z.string(),
  finished_at: z.string(),
  stores: z.string(),
  summary: EvaluationSummarySchema,
  scenarios: z.array(ScenarioRunSchema),
});
export type Evaluation = z.infer<typeof EvaluationSchema>;
