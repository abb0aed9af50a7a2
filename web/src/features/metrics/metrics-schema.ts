import { z } from 'zod';
import { IncidentStatusSchema } from '../incidents/incident-schema.js';

const Nullable = z.number().nullable();

/** One stream's depth and lag, overall and per consumer group. */
const StreamStatsSchema = z.object({
  length: z.number(),
  pending: z.number(),
  lag: z.number(),
  dead_letters: z.number().optional(),
  groups: z
    .record(z.string(), z.object({ length: z.number(), pending: z.number(), lag: z.number() }))
    .optional(),
});

/** `GET /api/metrics`: measured times per incident, their percentiles, counts and stream stats. */
export const MetricsSchema = z.object({
  incidents: z.array(
    z.object({
      id: z.string(),
      status: IncidentStatusSchema,
      fault_class: z.string().nullable(),
      opened_at: z.string(),
      healed_at: z.string().nullable(),
      ttd_ms: Nullable,
      ttr_ms: Nullable,
    }),
  ),
  summary: z.object({
    incidents: z.number(),
    healed: z.number(),
    closed: z.number(),
    heal_success_rate: Nullable,
    ttd_p50_ms: Nullable,
    ttd_p95_ms: Nullable,
    ttr_p50_ms: Nullable,
    ttr_p95_ms: Nullable,
  }),
  by_fault_class: z.record(z.string(), z.number()),
  by_status: z.record(z.string(), z.number()),
  streams: z.record(z.string(), StreamStatsSchema),
});
export type Metrics = z.infer<typeof MetricsSchema>;
