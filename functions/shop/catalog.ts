import { z } from 'zod';

/**
 * The demo shop's view of its upstream catalog feed. The shop keeps its own schemas instead of
 * importing the healing system's `events/`: a target is an independent service, and the healing
 * system only reaches it through its manifest.
 */

/** ISO 8601 timestamp with an offset or `Z`. */
export const IsoTimestampSchema = z.iso.datetime({ offset: true });

/** Return policy types the shop knows. */
export const ReturnPolicyTypeSchema = z.enum(['standard', 'extended', 'final_sale']);
export type ReturnPolicyType = z.infer<typeof ReturnPolicyTypeSchema>;

/** How an item may be returned: the policy type and the days after the order a return is allowed. */
export const ReturnPolicySchema = z.object({
  type: ReturnPolicyTypeSchema,
  window_days: z.number().int().nonnegative(),
});
export type ReturnPolicy = z.infer<typeof ReturnPolicySchema>;

/**
 * Field schemas shared by the feed item and the product record, so the two can never disagree on
 * what a valid `price` or `currency` is.
 */
export const catalogItemFields = {
  sku: z.string().min(1),
  title: z.string().min(1),
  /** Major units (dollars, euros), not cents. */
  price: z.number().nonnegative(),
  /** ISO 4217 alphabetic code: three uppercase letters. */
  currency: z.string().regex(/^[A-Z]{3}$/, 'expected an ISO 4217 currency code'),
  category: z.string().min(1),
  stock: z.number().int().nonnegative(),
  return_policy: ReturnPolicySchema,
  updated_at: IsoTimestampSchema,
};

/**
 * One item of the documented upstream feed. Extra fields are allowed (kept, not stripped): the
 * feed is not ours and grows fields the shop does not read.
 *
 * @example
 * ```ts
 * CatalogItemSchema.parse({
 *   sku: 'SKU-1001', title: 'Canvas tote', price: 12.5, currency: 'USD', category: 'clearance',
 *   stock: 40, return_policy: { type: 'standard', window_days: 30 },
 *   updated_at: '2025-01-31T02:00:00.000Z',
 * });
 * ```
 */
export const CatalogItemSchema = z.looseObject(catalogItemFields);
export type CatalogItem = z.infer<typeof CatalogItemSchema>;
