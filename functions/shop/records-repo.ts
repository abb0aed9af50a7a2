import type { Item, KeyValue } from '../ports/kv.js';
import {
  assertLimit,
  compareNewestFirst,
  type IndexEntry,
  indexEntryOf,
  type ListProductsQuery,
  lastWritePerSku,
  type ProductSnapshot,
  type ProductStore,
  ProductStoreConflictError,
  type StoredProduct,
} from './product-store.js';

export interface KvProductStoreOptions {
  /** Table with a string partition key `pk` (the system's `kv` table or a dedicated one). */
  readonly table: string;
  /** Key prefix: records live at `<prefix>#<sku>`, index shards at `<prefix>-index#<n>`. */
  readonly keyPrefix?: string;
  /**
   * Index items the SKUs are spread over (default {@link DEFAULT_INDEX_SHARDS}). Each holds one
   * small entry per SKU (about 80 bytes) and an item is capped at 400 KB, so 64 shards index
   * roughly 300,000 SKUs. Every sync rewrites the shards its SKUs fall in, so smaller shards make a
   * small sync cheaper. Fixed for the life of a table: changing it would orphan entries (a table
   * written with the earlier default needs `indexShards: 8`).
   */
  readonly indexShards?: number;
  /** Index shards updated in parallel per call (default 16). */
  readonly concurrency?: number;
  /** Compare-and-swap attempts per index shard before giving up (default 25). */
  readonly maxIndexAttempts?: number;
}

/**
 * Index shards of a store that does not say: at 10,000 SKUs a shard is about 12 KB, so the
 * compare-and-swap of a one-item sync moves 24 KB instead of the 200 KB eight shards would.
 */
export const DEFAULT_INDEX_SHARDS = 64;

/**
 * A {@link ProductStore} on the KeyValue port (DynamoDB semantics).
 *
 * Records are overwritten whole, so they go in batches (`putMany`: 25 per BatchWriteItem) and are
 * read in batches (`getMany`: 100 per BatchGetItem); a sync of 10,000 records is about 400 write
 * requests, not 10,000.
 *
 * The port has no Query or Scan, so listing is served by index items this store maintains
 * itself: each SKU hashes to one of `indexShards` items holding `{ [sku]: { category,
 * synced_at } }`, updated by optimistic compare-and-swap on a `version` attribute. `list` reads the
 * shards, filters and sorts the entries, then reads the records it returns.
 *
 * A put writes the records and their index entries at once (the index is most of a small put's
 * cost, so waiting for one before starting the other doubles it). A crash in between leaves the
 * two out of step until the next put of that SKU: `list` still never names a record that was not
 * written (it skips entries whose record is missing) and never lists a record under a category
 * its stored record does not have; only its order may follow the entry's `synced_at`.
 *
 * @example
 * ```ts
 * const store = createKvProductStore(ports.kv, { table: ports.tables.kv });
 * await store.put([{ sku: 'SKU-1001', record }]);
 * ```
 */
export function createKvProductStore(kv: KeyValue, options: KvProductStoreOptions): ProductStore {
  const { table } = options;
  const prefix = options.keyPrefix ?? 'product';
  const shards = Math.max(1, Math.floor(options.indexShards ?? DEFAULT_INDEX_SHARDS));
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 16));
  const maxAttempts = Math.max(1, Math.floor(options.maxIndexAttempts ?? 25));

  const recordKey = (sku: string) => ({ pk: `${prefix}#${sku}` });
  const shardKey = (shard: number) => ({ pk: `${prefix}-index#${shard}` });
  const shardOf = (sku: string) => fnv1a(sku) % shards;

  async function get(sku: string): Promise<StoredProduct | undefined> {
    const item = await kv.get(table, recordKey(sku));
    // An item written with `record: undefined` has no attribute; it round-trips as null.
    return item ? { sku, record: item.record ?? null } : undefined;
  }

  /**
   * Applies `change` to each touched shard's entries, retrying on concurrent writers. The shards
   * are first read in one batch; only a shard whose compare-and-swap lost is read again alone.
   */
  async function updateIndex(
    changes: ReadonlyMap<number, ReadonlyMap<string, IndexEntry | null>>,
  ): Promise<void> {
    const touched = [...changes.keys()];
    const prefetched = await kv.getMany(table, touched.map(shardKey));
    const firstRead = new Map(touched.map((shard, index) => [shard, prefetched[index]]));
    await mapLimit([...changes], concurrency, async ([shard, change]) => {
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        const stored = attempt === 1 ? firstRead.get(shard) : await kv.get(table, shardKey(shard));
        const entries = { ...entriesOf(stored) };
        for (const [sku, entry] of change) {
          if (entry) entries[sku] = entry;
          else delete entries[sku];
        }
        const version = typeof stored?.version === 'number' ? stored.version : 0;
        const result = await kv.put(
          table,
          { ...shardKey(shard), entries, version: version + 1 },
          stored ? { ifVersion: { attr: 'version', equals: version } } : { ifNotExists: 'pk' },
        );
        if (result.ok) return;
        // Jittered back-off, so writers that just collided do not collide again in lockstep.
        await sleep(Math.random() * Math.min(2 ** attempt, 50));
      }
      throw new ProductStoreConflictError(
        `index shard ${shard} of ${table} kept changing under ${maxAttempts} attempts`,
        maxAttempts,
      );
    });
  }

  function groupByShard(
    changes: ReadonlyArray<readonly [string, IndexEntry | null]>,
  ): Map<number, Map<string, IndexEntry | null>> {
    const grouped = new Map<number, Map<string, IndexEntry | null>>();
    for (const [sku, entry] of changes) {
      const shard = shardOf(sku);
      const group = grouped.get(shard) ?? new Map<string, IndexEntry | null>();
      group.set(sku, entry);
      grouped.set(shard, group);
    }
    return grouped;
  }

  async function readIndex(): Promise<Array<[string, IndexEntry]>> {
    const items = await kv.getMany(
      table,
      Array.from({ length: shards }, (_, shard) => shardKey(shard)),
    );
    return items.flatMap((item) => Object.entries(entriesOf(item)));
  }

  async function readAll(skus: readonly string[]): Promise<StoredProduct[]> {
    const items = await kv.getMany(table, skus.map(recordKey));
    const products: StoredProduct[] = [];
    for (const [index, item] of items.entries()) {
      const sku = skus[index];
      // An item written with `record: undefined` has no attribute; it round-trips as null.
      if (item && sku !== undefined) products.push({ sku, record: item.record ?? null });
    }
    return products;
  }

  const store: ProductStore = {
    async put(products) {
      const latest = lastWritePerSku(products);
      await Promise.all([
        kv.putMany(
          table,
          latest.map(({ sku, record }) => ({ ...recordKey(sku), sku, record })),
        ),
        updateIndex(groupByShard(latest.map(({ sku, record }) => [sku, indexEntryOf(record)]))),
      ]);
    },

    get,

    getMany: readAll,

    async list(query: ListProductsQuery) {
      assertLimit(query.limit);
      const entries = (await readIndex()).filter(
        ([, entry]) => query.category === undefined || entry.category === query.category,
      );
      entries.sort(compareNewestFirst);
      const products = await readAll(entries.slice(0, query.limit).map(([sku]) => sku));
      // An entry a crashed put left ahead of its record never lists it under the wrong category.
      return query.category === undefined
        ? products
        : products.filter((product) => indexEntryOf(product.record).category === query.category);
    },

    async delete(skus) {
      // Index first: a crash in between leaves an unlisted record, never a listed missing one.
      await updateIndex(groupByShard(skus.map((sku) => [sku, null])));
      await kv.deleteMany(table, skus.map(recordKey));
    },

    async skus() {
      return (await readIndex()).map(([sku]) => sku).sort();
    },

    async snapshot(skus?: readonly string[]): Promise<ProductSnapshot> {
      const covered = skus ? [...new Set(skus)] : await store.skus();
      return { skus: covered, products: await readAll(covered) };
    },

    async restore(snapshot) {
      const present = new Set(snapshot.products.map((product) => product.sku));
      await store.put(snapshot.products);
      await store.delete(snapshot.skus.filter((sku) => !present.has(sku)));
    },
  };
  return store;
}

/** The index entries of a shard item, ignoring anything malformed. */
function entriesOf(item: Item | undefined): Record<string, IndexEntry> {
  const raw = item?.entries;
  if (typeof raw !== 'object' || raw === null) return {};
  const entries: Record<string, IndexEntry> = {};
  for (const [sku, value] of Object.entries(raw)) entries[sku] = indexEntryOf(value);
  return entries;
}

/** 32-bit FNV-1a: a stable spread of SKUs over shards, the same in every process. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Maps with at most `limit` calls in flight, keeping input order in the output. */
async function mapLimit<T, R>(
  values: readonly T[],
  limit: number,
  map: (value: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(values.length);
  let next = 0;
  const worker = async () => {
    while (next < values.length) {
      const index = next++;
      results[index] = await map(values[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, values.length) }, worker));
  return results;
}
