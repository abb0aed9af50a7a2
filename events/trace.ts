import { z } from 'zod';
import { envelopeOf, IsoDateTime } from './envelope.js';

/** One measured step of a stage, for the trace store and the live stream (`trace.step` v1). */
export const TraceStepDataSchema = z.object({
  stage: z.string().min(1),
  status: z.enum([
    'ok',
    'failed',
    'skipped',
    'escalated',
    'rejected',
    'awaiting_approval',
    'rolled_back',
  ]),
  started_at: IsoDateTime,
  ended_at: IsoDateTime,
  /** Measured with `performance.now()` around the work, never assigned. */
  duration_ms: z.number().nonnegative(),
  detail: z.record(z.string(), z.unknown()),
});
export const TraceStepEventSchema = envelopeOf('trace.step', 1, TraceStepDataSchema);
export type TraceStepEvent = z.infer<typeof TraceStepEventSchema>;
