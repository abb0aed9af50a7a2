import { z } from 'zod';

/** ISO 8601 timestamp with an offset or `Z`, as every event and record carries them. */
export const IsoDateTime = z.iso.datetime({ offset: true });

/**
 * The envelope every event on the bus travels in. `data` is typed per event type and version by
 * {@link envelopeOf}; this base schema only checks the envelope itself.
 */
export const EnvelopeBaseSchema = z.object({
  id: z.string().min(1),
  type: z.string().min(1),
  version: z.number().int().positive(),
  occurred_at: IsoDateTime,
  source: z.string().min(1),
  incident_id: z.string().min(1).optional(),
  data: z.unknown(),
});
export type EnvelopeBase = z.infer<typeof EnvelopeBaseSchema>;

/**
 * Builds the schema of one event: the envelope with a literal `type`, a literal `version` and a
 * typed `data`.
 *
 * @example
 * const PingSchema = envelopeOf('ping', 1, z.object({ at: IsoDateTime }));
 */
export const envelopeOf = <T extends string, V extends number, D extends z.ZodType>(
  type: T,
  version: V,
  data: D,
) =>
  EnvelopeBaseSchema.extend({
    type: z.literal(type),
    version: z.literal(version),
    data,
  });
