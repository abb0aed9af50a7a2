import type { CatalogItem } from '../../events/catalog.js';
import type { Item, KeyValue } from '../ports/kv.js';

/**
 * The snapshot repository: the last accepted version of each catalog item, in the snapshots
 * table (`pk` = `item#<sku>`, `sk` = `latest`), over the KeyValue port.
 *
 * The stored record keeps the item whole under `item`, beside our bookkeeping (`sku`,
 * `updated_at`, `updated_at_ms`, `stored_at`), so a feed field called `pk` or `stored_at` can
 * never collide with ours.
 */

/** Sort key of the one snapshot kept per SKU. */
export const LATEST_SNAPSHOT = 'latest';

/** Default number of requests a batch helper keeps in flight. */
export const DEFAULT_SNAPSHOT_CONCURRENCY = 16;

/** The key of a SKU's snapshot. */
export const snapshotKey = (sku: string): { pk: string; sk: string } => ({
  pk: `item#${sku}`,
  sk: LATEST_SNAPSHOT,
});

/** A stored snapshot. */
export interface Snapshot {
  readonly sku: string;
  /** The item's `updated_at`, as received. */
  readonly updated_at: string;
  /** `updated_at` in epoch milliseconds: the version the conditional write compares. */
  readonly updated_at_ms: number;
  /** When we stored it (ISO 8601). */
  readonly stored_at: string;
  /** The item as received. */
  readonly item: CatalogItem;
}

/**
 * What a conditional write did: `written`, or `stale` when the stored snapshot is as new or newer
 * (same or later `updated_at`), so the item was not written.
 */
export type SnapshotWrite = 'written' | 'stale';

/**
 * What {@link SnapshotRepository.replaceSnapshot} did: `written`, with the snapshot it replaced
 * (read in the same request as the write), or `stale`.
 */
export type SnapshotReplacement =
  | { readonly outcome: 'written'; readonly previous: Snapshot | undefined }
  | { readonly outcome: 'stale' };

/** Reads and writes snapshots; see {@link createSnapshotRepository}. */
export interface SnapshotRepository {
  /** The snapshot of a SKU, or `undefined` when the SKU was never seen. */
  getSnapshot(sku: string): Promise<Snapshot | undefined>;
  /**
   * Stores an item as its SKU's snapshot unless the stored one is as new or newer, so an older
   * push arriving late never overwrites a newer one. Equal `updated_at` counts as stale: the
   * timestamp is the item's version, and a redelivered push must not rewrite (or re-diff) it.
   */
  putSnapshot(item: CatalogItem): Promise<SnapshotWrite>;
  /**
   * {@link putSnapshot} that also answers with the snapshot the write replaced, read atomically
   * with the write: one request per item, and a diff against `previous` is a diff against exactly
   * what was overwritten, even when another writer stored a version after this push was read.
   */
  replaceSnapshot(item: CatalogItem): Promise<SnapshotReplacement>;
  /** Snapshots of many SKUs, read in batches; SKUs without one are absent from the map. */
  getSnapshots(skus: readonly string[]): Promise<Map<string, Snapshot>>;
  /** {@link putSnapshot} for many items with bounded concurrency, results in input order. */
  putSnapshots(items: readonly CatalogItem[]): Promise<SnapshotWrite[]>;
}

/** Options of {@link createSnapshotRepository}. */
export interface SnapshotRepositoryOptions {
  /** The physical snapshots table (`tableNames(prefix).snapshots`). */
  readonly table: string;
  /**
   * Writes in flight for {@link SnapshotRepository.putSnapshots} (default
   * {@link DEFAULT_SNAPSHOT_CONCURRENCY}).
   */
  readonly concurrency?: number;
  /** Clock for `stored_at`; the system clock by default. */
  readonly now?: () => Date;
}

/** Base of the snapshot repository's errors: unexpected failures, never a stale write. */
export class SnapshotError extends Error {
  readonly sku: string;

  constructor(message: string, details: { sku: string; cause?: unknown }) {
    super(message, { cause: details.cause });
    this.name = 'SnapshotError';
    this.sku = details.sku;
  }
}

/** A stored snapshot record does not have the shape this repository writes. */
export class SnapshotRecordError extends SnapshotError {
  constructor(message: string, details: { sku: string; cause?: unknown }) {
    super(message, details);
    this.name = 'SnapshotRecordError';
  }
}

/** An item's `updated_at` is not a date we can order by. */
export class SnapshotVersionError extends SnapshotError {
  readonly updatedAt: unknown;

  constructor(message: string, details: { sku: string; updatedAt: unknown; cause?: unknown }) {
    super(message, details);
    this.name = 'SnapshotVersionError';
    this.updatedAt = details.updatedAt;
  }
}

/**
 * Epoch milliseconds of an item's `updated_at`; sub-millisecond digits are truncated.
 *
 * @throws SnapshotVersionError when it does not parse as a date.
 */
export function updatedAtMs(item: Pick<CatalogItem, 'sku' | 'updated_at'>): number {
  const ms = Date.parse(item.updated_at);
  if (!Number.isFinite(ms)) {
    throw new SnapshotVersionError(`item ${item.sku} has an unparseable updated_at`, {
      sku: item.sku,
      updatedAt: item.updated_at,
    });
  }
  return ms;
}

/**
 * Creates the snapshot repository over a KeyValue port.
 *
 * @example
 * ```ts
 * const snapshots = createSnapshotRepository(kv, { table: tableNames(prefix).snapshots });
 * if ((await snapshots.putSnapshot(item)) === 'stale') logger.info('older than stored, skipped');
 * ```
 */
export function createSnapshotRepository(
  kv: KeyValue,
  options: SnapshotRepositoryOptions,
): SnapshotRepository {
  const { table } = options;
  const concurrency = options.concurrency ?? DEFAULT_SNAPSHOT_CONCURRENCY;
  const now = options.now ?? (() => new Date());

  async function getSnapshot(sku: string): Promise<Snapshot | undefined> {
    const record = await kv.get(table, snapshotKey(sku));
    return record === undefined ? undefined : decode(sku, record);
  }

  /** The record stored for an item, and the condition that keeps newer snapshots. */
  function recordOf(item: CatalogItem) {
    const ms = updatedAtMs(item);
    const record: Snapshot & Record<string, unknown> = {
      ...snapshotKey(item.sku),
      sku: item.sku,
      updated_at: item.updated_at,
      updated_at_ms: ms,
      stored_at: now().toISOString(),
      item,
    };
    return { record, condition: { ifVersion: { attr: 'updated_at_ms', lessThan: ms } } };
  }

  async function putSnapshot(item: CatalogItem): Promise<SnapshotWrite> {
    const { record, condition } = recordOf(item);
    const result = await kv.put(table, record, condition);
    return result.ok ? 'written' : 'stale';
  }

  async function replaceSnapshot(item: CatalogItem): Promise<SnapshotReplacement> {
    const { record, condition } = recordOf(item);
    const result = await kv.replace(table, record, condition);
    if (!result.ok) return { outcome: 'stale' };
    return {
      outcome: 'written',
      previous: result.previous === undefined ? undefined : decode(item.sku, result.previous),
    };
  }

  return {
    getSnapshot,
    putSnapshot,
    replaceSnapshot,
    async getSnapshots(skus) {
      const found = new Map<string, Snapshot>();
      const unique = [...new Set(skus)];
      const records = await kv.getMany(table, unique.map(snapshotKey));
      for (const [index, record] of records.entries()) {
        const sku = unique[index];
        if (record !== undefined && sku !== undefined) found.set(sku, decode(sku, record));
      }
      return found;
    },
    putSnapshots(items) {
      return mapWithConcurrency(items, concurrency, putSnapshot);
    },
  };
}

function decode(sku: string, record: Item): Snapshot {
  const { updated_at: updatedAt, updated_at_ms: ms, stored_at: storedAt, item } = record;
  if (
    record.sku !== sku ||
    typeof updatedAt !== 'string' ||
    typeof ms !== 'number' ||
    typeof storedAt !== 'string' ||
    typeof item !== 'object' ||
    item === null ||
    Array.isArray(item)
  ) {
    throw new SnapshotRecordError(`the snapshot of ${sku} is not a snapshot record`, { sku });
  }
  return {
    sku,
    updated_at: updatedAt,
    updated_at_ms: ms,
    stored_at: storedAt,
    item: item as CatalogItem,
  };
}

/**
 * Maps over items with at most `limit` calls in flight, results in input order. The first
 * rejection rejects the whole call; calls already started run to completion, none start after.
 *
 * @example
 * ```ts
 * const snapshots = await mapWithConcurrency(skus, 16, (sku) => repository.getSnapshot(sku));
 * ```
 */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`concurrency must be a positive integer, got ${limit}`);
  }
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        // The index is below items.length, so the element exists (holes aside, which read as
        // undefined exactly as the caller's array holds them).
        results[index] = await fn(items[index] as T, index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
