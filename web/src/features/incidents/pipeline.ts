import type { IncidentStatus } from './incident-schema.js';

/** The healing pipeline, in order, as the dashboard draws it. */
export const PIPELINE = ['sensors', 'rca', 'patch', 'guard', 'verify', 'heal'] as const;
export type PipelineStage = (typeof PIPELINE)[number];

/** What each stage does, in a few words. */
export const STAGE_LABELS: Record<PipelineStage, string> = {
  sensors: 'webhook, validator, probes',
  rca: 'root cause',
  patch: 'write the fix',
  guard: 'policy',
  verify: 'sandbox replay',
  heal: 'hot reload + backfill',
};

/** Stages that only observe: their steps light up the sensors column. */
const SENSOR_STAGES = new Set(['sensors', 'ingest', 'validator', 'probe', 'sync', 'shop', 'api']);

/**
 * The pipeline column a recorded stage belongs to; `undefined` for a stage the dashboard does
 * not draw (a new stage shows in timelines but moves nothing on the board).
 */
export function pipelineStageOf(stage: string): PipelineStage | undefined {
  if ((PIPELINE as readonly string[]).includes(stage)) return stage as PipelineStage;
  const root = stage.split(/[/.:]/)[0] ?? stage;
  return SENSOR_STAGES.has(root) ? 'sensors' : undefined;
}

/** Where an incident in each status stands: the stage that last moved it. */
const STAGE_OF_STATUS: Partial<Record<IncidentStatus, PipelineStage>> = {
  detected: 'sensors',
  diagnosed: 'rca',
  patched: 'patch',
  awaiting_approval: 'guard',
  rejected: 'guard',
  verified: 'verify',
  verification_failed: 'verify',
  healed: 'heal',
  rolled_back: 'heal',
};

/**
 * The column an incident sits in on the board. Failed and escalated incidents stay where their
 * last step was recorded.
 */
export function incidentStage(
  status: IncidentStatus,
  steps: readonly { stage: string }[] = [],
): PipelineStage {
  const byStatus = STAGE_OF_STATUS[status];
  if (byStatus) return byStatus;
  for (let index = steps.length - 1; index >= 0; index -= 1) {
    const stage = pipelineStageOf(steps[index]?.stage ?? '');
    if (stage) return stage;
  }
  return 'rca';
}
