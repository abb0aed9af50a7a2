import type { z } from 'zod';
import type { StoredProduct } from '../shop/product-store.js';
import { sha256 } from './releases.js';
import type { TargetRuntime } from './target-runtime.js';

/** The target's stored records, split by whether they hold to the record contract. */
export interface RecordScan {
  /** Every SKU with a record, sorted. */
  readonly skus: readonly string[];
  /** SKUs whose record breaks the contract, sorted. */
  readonly damaged: readonly string[];
}

/**
 * Reads every record the target stores and checks it against the manifest's record contract.
 * A damaged record is one a reader would refuse: that is what a backfill must repair, whatever
 * signal first pointed at the fault.
 */
export async function scanRecords(target: TargetRuntime): Promise<RecordScan> {
  const { products } = await target.records.snapshot();
  const skus: string[] = [];
  const damaged: string[] = [];
  for (const { sku, record } of products) {
    skus.push(sku);
    if (!target.manifest.recordContract.safeParse(record).success) damaged.push(sku);
  }
  return { skus: skus.sort(), damaged: damaged.sort() };
}

/**
 * A content hash of stored records, independent of the order they were read in: equal hashes
 * mean byte-identical records (JSON of each record as stored).
 */
export function recordsHash(products: readonly StoredProduct[]): string {
  const lines = [...products]
    .sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0))
    .map(({ sku, record }) => `${JSON.stringify(sku)}:${JSON.stringify(record)}`);
  return sha256(lines.join('\n'));
}

/** Spreads `count` picks evenly over `skus` (sorted input gives a deterministic sample). */
export function evenSample(skus: readonly string[], count: number): string[] {
  if (count >= skus.length) return [...skus];
  const step = skus.length / count;
  return Array.from({ length: count }, (_, i) => skus[Math.floor(i * step)] as string);
}

/** Top-level fields a record breaks its contract in (`''` when the record itself is wrong). */
export function brokenFields(contract: z.ZodType, record: unknown): string[] {
  const parsed = contract.safeParse(record);
  if (parsed.success) return [];
  return [...new Set(parsed.error.issues.map((issue) => String(issue.path[0] ?? '')))];
}
