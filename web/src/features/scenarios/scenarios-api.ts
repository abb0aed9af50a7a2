import { z } from 'zod';
import { getJson, postAdmin } from '../../lib/api.js';
import { HttpError } from '../../lib/http-error.js';

/** A fault the demo can inject, as `GET /api/scenarios` lists it. */
export const ScenarioSchema = z.object({
  id: z.string().min(1),
  name: z.string(),
  description: z.string(),
  fault_class: z.string(),
  /** What the scenario should end in (`healed`, `escalated`, `none`); absent on older servers. */
  expected: z.string().optional(),
  /** What an inject puts in place, one short line each (`release R2`, `2 push(es)`). */
  injects: z.array(z.string()).optional(),
});
export type Scenario = z.infer<typeof ScenarioSchema>;

const ScenarioListSchema = z.object({ scenarios: z.array(ScenarioSchema) });

/** What an inject answers: the broken release that went live and the pushes that followed it. */
export const InjectResultSchema = z.object({
  scenario: z.string(),
  release: z.string().optional(),
  push_id: z.string().optional(),
  /** Every push the inject sent, in order, when it sent more than the one `push_id` names. */
  push_ids: z.array(z.string()).optional(),
  items: z.number().optional(),
  /** HTTP status of each customer call the inject made, in order (0: nothing answered). */
  calls: z.array(z.number()).optional(),
});
export type InjectResult = z.infer<typeof InjectResultSchema>;

export const ResetResultSchema = z.object({
  reset: z.boolean(),
  active_release: z.string().optional(),
  duration_ms: z.number().optional(),
});
export type ResetResult = z.infer<typeof ResetResultSchema>;

/** The fault library; empty when this runtime runs no demo target (the route is absent). */
export async function fetchScenarios(signal?: AbortSignal): Promise<Scenario[]> {
  try {
    const { scenarios } = await getJson('/api/scenarios', ScenarioListSchema, signal);
    return scenarios;
  } catch (error) {
    if (error instanceof HttpError && error.status === 404) return [];
    throw error;
  }
}

/** Injects a scenario's fault (admin). */
export async function injectScenario(id: string, token: string): Promise<InjectResult> {
  const body = await postAdmin(`/api/scenarios/${encodeURIComponent(id)}/inject`, token);
  return InjectResultSchema.parse(body);
}

/** Puts the demo target back on its first release and seed data (admin). */
export async function resetScenarios(token: string): Promise<ResetResult> {
  return ResetResultSchema.parse(await postAdmin('/api/scenarios/reset', token));
}
