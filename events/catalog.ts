import { z } from 'zod';
import { envelopeOf, IsoDateTime } from './envelope.js';

/**
 * One item of an upstream catalog feed, as received. Only `sku` and `updated_at` are required:
 * the feed is not ours, and the sensors must see drifted fields (renamed, retyped, moved)
 * rather than have them rejected at the door. The demo shop's documented feed shape lives with
 * the target.
 */
export const CatalogItemSchema = z.looseObject({
  sku: z.string().min(1),
  updated_at: IsoDateTime,
});
export type CatalogItem = z.infer<typeof CatalogItemSchema>;

/** A catalog push, durably stored and published by the webhook (`catalog.push` v1). */
export const CatalogPushDataSchema = z.object({
  push_id: z.string().min(1),
  catalog_version: z.string().min(1),
  pushed_at: IsoDateTime,
  /** Webhook delivery id, for dedupe of redelivered webhooks. */
  webhook_id: z.string().min(1).optional(),
  items: z.array(CatalogItemSchema),
});
export const CatalogPushEventSchema = envelopeOf('catalog.push', 1, CatalogPushDataSchema);
export type CatalogPushEvent = z.infer<typeof CatalogPushEventSchema>;

export const FieldChangeKindSchema = z.enum([
  'added',
  'removed',
  'changed',
  'type_changed',
  'moved',
]);
export type FieldChangeKind = z.infer<typeof FieldChangeKindSchema>;

/** Per-field summary of what one push changed across its items. */
export const FieldChangeSchema = z.object({
  /** Dotted path of the field, e.g. `return_policy.window_days`. */
  field: z.string().min(1),
  kind: FieldChangeKindSchema,
  sku_count: z.number().int().nonnegative(),
  sample_skus: z.array(z.string()),
  samples: z.array(
    z.object({ sku: z.string(), old: z.unknown().optional(), new: z.unknown().optional() }),
  ),
  /** For `moved`: the path the removed field's values reappeared under. */
  moved_to: z.string().optional(),
});
export type FieldChange = z.infer<typeof FieldChangeSchema>;

/** What a push changed, field by field, against the stored snapshots (`catalog.delta` v1). */
export const CatalogDeltaDataSchema = z.object({
  push_id: z.string().min(1),
  catalog_version: z.string().min(1),
  items: z.number().int().nonnegative(),
  changes: z.array(FieldChangeSchema),
});
export const CatalogDeltaEventSchema = envelopeOf('catalog.delta', 1, CatalogDeltaDataSchema);
export type CatalogDeltaEvent = z.infer<typeof CatalogDeltaEventSchema>;

/**
 * The target's sync committed records (`target.write` v1): which SKUs, through which release,
 * for which push. The validator reads these records back and checks them against the contract.
 */
export const TargetWriteDataSchema = z.object({
  target: z.string().min(1),
  release_id: z.string().min(1),
  push_id: z.string().min(1),
  skus: z.array(z.string().min(1)),
  committed_at: IsoDateTime,
});
export const TargetWriteEventSchema = envelopeOf('target.write', 1, TargetWriteDataSchema);
export type TargetWriteEvent = z.infer<typeof TargetWriteEventSchema>;
