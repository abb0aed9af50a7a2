import { z } from 'zod';
import { catalogItemFields, IsoTimestampSchema } from './catalog.js';

/**
 * The product record contract: every feed field plus `synced_at`, all required and non-null.
 * This is what `CheckReturnEligibility` relies on and what the validator checks stored records
 * against.
 */
export const ProductRecordSchema = z.object({
  ...catalogItemFields,
  /** When the sync wrote this record. */
  synced_at: IsoTimestampSchema,
});
export type ProductRecord = z.infer<typeof ProductRecordSchema>;

/** One way a record breaks the contract. */
export interface RecordIssue {
  /** Top-level record field at fault (`return_policy`), or `''` when the record itself is wrong. */
  readonly field: string;
  /** Dotted path of the failing value (`return_policy.window_days`); `''` for the record. */
  readonly path: string;
  readonly message: string;
  /** The value found at `path` (`undefined` when it is missing). */
  readonly value: unknown;
}

export type RecordValidation =
  | { readonly ok: true; readonly record: ProductRecord }
  | { readonly ok: false; readonly issues: readonly RecordIssue[] };

/**
 * Checks a record read from storage (any shape) against {@link ProductRecordSchema}. A broken
 * record is a value, not an exception: callers turn it into a SchemaMismatch answer and signal.
 *
 * @example
 * ```ts
 * const result = validateRecord({ sku: 'SKU-1001' });
 * if (!result.ok) result.issues[0]?.field; // 'title'
 * ```
 */
export function validateRecord(record: unknown): RecordValidation {
  const parsed = ProductRecordSchema.safeParse(record);
  if (parsed.success) return { ok: true, record: parsed.data };
  return {
    ok: false,
    issues: parsed.error.issues.map((issue) => {
      const segments = issue.path.map(String);
      return {
        field: segments[0] ?? '',
        path: segments.join('.'),
        message: issue.message,
        value: valueAt(record, segments),
      };
    }),
  };
}

function valueAt(root: unknown, segments: readonly string[]): unknown {
  let current = root;
  for (const segment of segments) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}
