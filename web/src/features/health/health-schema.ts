import { z } from 'zod';

/** Length, pending and lag of one stream for one consumer group, as the Bus reports them. */
export const StreamStatsSchema = z.object({
  stream: z.string(),
  group: z.string().optional(),
  length: z.number().int().nonnegative(),
  pending: z.number().int().nonnegative(),
  lag: z.number().int().nonnegative(),
  /** Entries dead-lettered from this stream, when the runtime counts them. */
  dead_letters: z.number().int().nonnegative().optional(),
});
export type StreamStats = z.infer<typeof StreamStatsSchema>;

/** A backend is reported either by its kind (`"redis"`) or as `{ kind, ok, error }`. */
const BackendSchema = z.union([
  z.string().transform((kind) => ({ kind, ok: undefined, error: undefined })),
  z.object({ kind: z.string(), ok: z.boolean().optional(), error: z.string().optional() }),
]);

/** Stream stats arrive as a list, or keyed by stream name. */
const StreamsSchema = z.union([
  z.array(StreamStatsSchema),
  z
    .record(z.string(), StreamStatsSchema.omit({ stream: true }))
    .transform((byStream) =>
      Object.entries(byStream).map(([stream, stats]) => ({ stream, ...stats })),
    ),
]);

/**
 * The `/healthz` answer of the runtime, normalized: overall status, the backend behind each
 * port (bus, store, kv), the stats of the pipeline's streams and, when degraded, why.
 *
 * @example
 * HealthSchema.parse({ status: 'ok', backends: { bus: 'memory' }, streams: [] });
 */
export const HealthSchema = z.object({
  status: z.string(),
  backends: z.record(z.string(), BackendSchema),
  streams: StreamsSchema.default([]),
  error: z.string().optional(),
});
export type Health = z.infer<typeof HealthSchema>;
