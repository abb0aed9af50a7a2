import type { z } from 'zod';
import type { ResyncDeps, ResyncResult } from './define-target.js';

/**
 * The usual way to re-sync a SKU, for a manifest's `resync`: map the stored upstream item through
 * the given release's mapper, check the result against the record contract, and write it only if
 * it holds, so a backfill never replaces a damaged record with another damaged one (unless the
 * caller's `toleratesBroken` says the remaining damage is another fault's, there before).
 *
 * The stored item is handed to the mapper as stored, not parsed against the documented feed
 * shape: a patched mapper may be exactly what reads a field the feed moved.
 *
 * @example
 * ```ts
 * export const shopTarget = defineTarget({ …, resync: resyncThroughMapper(ProductRecordSchema) });
 * ```
 */
export function resyncThroughMapper(
  recordContract: z.ZodType,
): (sku: string, deps: ResyncDeps) => Promise<ResyncResult> {
  return async (sku, deps) => {
    const item = await deps.snapshotOf(sku);
    if (item === undefined || item === null) return { ok: false, sku, reason: 'no_snapshot' };
    let record: unknown;
    try {
      record = deps.mapper(item, deps.now().toISOString());
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { ok: false, sku, reason: 'mapper_failed', message };
    }
    const checked = recordContract.safeParse(record);
    if (!checked.success) {
      const fields = [...new Set(checked.error.issues.map((i) => String(i.path[0] ?? '')))];
      if (!(await deps.toleratesBroken?.(sku, fields))) {
        return { ok: false, sku, reason: 'invalid_record', issues: checked.error.issues };
      }
    }
    await deps.write({ sku, record });
    return { ok: true, sku, record };
  };
}
