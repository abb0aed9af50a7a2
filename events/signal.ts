import { z } from 'zod';
import { envelopeOf } from './envelope.js';

export const SignalKindSchema = z.enum([
  'SchemaMismatch',
  'ProbeFailure',
  'DependencyDown',
  'ApiError',
]);
export type SignalKind = z.infer<typeof SignalKindSchema>;

/** A request captured by a sensor so it can be replayed against a candidate release. */
export const CapturedRequestSchema = z.object({
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
  path: z.string().startsWith('/'),
  body: z.unknown().optional(),
});
export type CapturedRequest = z.infer<typeof CapturedRequestSchema>;

/** Something a sensor observed to be wrong (`signal` v1). */
export const SignalDataSchema = z.object({
  kind: SignalKindSchema,
  target: z.string().min(1),
  /** The contract field at fault, when known. */
  field: z.string().min(1).optional(),
  /** Path of the failing value inside the record or response. */
  path: z.string().optional(),
  skus: z.array(z.string()),
  sku_count: z.number().int().nonnegative(),
  samples: z.array(z.object({ sku: z.string(), value: z.unknown() })),
  release_id: z.string().optional(),
  push_id: z.string().optional(),
  request: CapturedRequestSchema.optional(),
  response: z.object({ status: z.number().int(), body: z.unknown() }).optional(),
  /** When the fault was first observed (first broken write or failing response). */
  onset_at: z.iso.datetime({ offset: true }).optional(),
  message: z.string().optional(),
});
export const SignalEventSchema = envelopeOf('signal', 1, SignalDataSchema);
export type SignalEvent = z.infer<typeof SignalEventSchema>;
