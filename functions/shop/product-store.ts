/**
 * Where the demo shop keeps its product records. Records are stored exactly as the sync's mapper
 * produced them, of any shape: a faulty release writes broken records, and the validator, the
 * returns API and the backfill must read back what was really written, not a cleaned-up copy.
 */

/** A product record with the SKU it is stored under. */
export interface StoredProduct {
  readonly sku: string;
  /** The record as the mapper produced it; it round-trips as JSON. */
  readonly record: unknown;
}

export interface ListProductsQuery {
  /** Only records whose `category` equals this. */
  readonly category?: string;
  /** At most this many records (a positive integer). */
  readonly limit: number;
}

/** The stored state of some SKUs at one moment, to put back if a change has to be undone. */
export interface ProductSnapshot {
  /** Every SKU the snapshot covers, including those that had no record then. */
  readonly skus: readonly string[];
  /** The records of the covered SKUs that existed. */
  readonly products: readonly StoredProduct[];
}

/**
 * The product record store port.
 *
 * @example
 * ```ts
 * await store.put([{ sku: 'SKU-1001', record: toProductRecord(item, now) }]);
 * const newest = await store.list({ category: 'clearance', limit: 20 });
 * ```
 */
export interface ProductStore {
  /** Writes records, replacing stored ones with the same SKU; for a repeated SKU the last wins. */
  put(products: readonly StoredProduct[]): Promise<void>;
  get(sku: string): Promise<StoredProduct | undefined>;
  /** Reads many SKUs at once, in the given order; SKUs without a record are left out. */
  getMany(skus: readonly string[]): Promise<StoredProduct[]>;
  /**
   * Records newest first by their `synced_at` (ISO strings compare in time order), then by SKU;
   * records without a string `synced_at` come last.
   */
  list(query: ListProductsQuery): Promise<StoredProduct[]>;
  /** Deletes records; a missing SKU is not an error. */
  delete(skus: readonly string[]): Promise<void>;
  /** Every SKU with a stored record, sorted, without reading the records. */
  skus(): Promise<string[]>;
  /** Captures the given SKUs (every stored SKU when omitted). */
  snapshot(skus?: readonly string[]): Promise<ProductSnapshot>;
  /** Puts a snapshot back: its records are rewritten and its SKUs that had none are deleted. */
  restore(snapshot: ProductSnapshot): Promise<void>;
}

/** Base of the errors a product store throws; refused inputs and exhausted retries only. */
export class ProductStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProductStoreError';
  }
}

/** A query or write the store cannot accept (a non-positive limit, an empty SKU). */
export class ProductStoreInputError extends ProductStoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProductStoreInputError';
  }
}

/** Concurrent writers kept changing the same index item; nothing is lost, the caller may retry. */
export class ProductStoreConflictError extends ProductStoreError {
  readonly attempts: number;

  constructor(message: string, attempts: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProductStoreConflictError';
    this.attempts = attempts;
  }
}

/** What the store indexes of a record: its category and sync time, when they are strings. */
export interface IndexEntry {
  readonly category: string | null;
  readonly synced_at: string | null;
}

/** Reads the indexed fields off a record of any shape. */
export function indexEntryOf(record: unknown): IndexEntry {
  const fields =
    typeof record === 'object' && record !== null ? (record as Record<string, unknown>) : {};
  return {
    category: typeof fields.category === 'string' ? fields.category : null,
    synced_at: typeof fields.synced_at === 'string' ? fields.synced_at : null,
  };
}

/** Orders `[sku, entry]` pairs newest first by `synced_at`, missing times last, then by SKU. */
export function compareNewestFirst(
  [skuA, a]: readonly [string, IndexEntry],
  [skuB, b]: readonly [string, IndexEntry],
): number {
  if (a.synced_at !== b.synced_at) {
    if (a.synced_at === null) return 1;
    if (b.synced_at === null) return -1;
    return a.synced_at < b.synced_at ? 1 : -1;
  }
  return skuA < skuB ? -1 : skuA > skuB ? 1 : 0;
}

/** Throws {@link ProductStoreInputError} unless `limit` is a positive integer. */
export function assertLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new ProductStoreInputError(`limit must be a positive integer, got ${limit}`);
  }
}

/** Throws {@link ProductStoreInputError} on an empty SKU; returns the products, last write wins. */
export function lastWritePerSku(products: readonly StoredProduct[]): StoredProduct[] {
  const bySku = new Map<string, StoredProduct>();
  for (const product of products) {
    if (typeof product.sku !== 'string' || product.sku.length === 0) {
      throw new ProductStoreInputError('every stored product needs a non-empty sku');
    }
    bySku.set(product.sku, product);
  }
  return [...bySku.values()];
}
