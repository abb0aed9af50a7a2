import {
  assertLimit,
  compareNewestFirst,
  type IndexEntry,
  indexEntryOf,
  type ListProductsQuery,
  lastWritePerSku,
  type ProductSnapshot,
  type ProductStore,
  type StoredProduct,
} from './product-store.js';

/**
 * A {@link ProductStore} in process memory, for tests, benchmarks and sandboxed verification runs.
 * Records are copied through JSON on the way in and out, as they would be through DynamoDB, so a
 * caller can never change stored state by mutating an object it passed or received.
 */
export class MemoryProductStore implements ProductStore {
  readonly #records = new Map<string, string>();

  async put(products: readonly StoredProduct[]): Promise<void> {
    for (const { sku, record } of lastWritePerSku(products)) {
      this.#records.set(sku, JSON.stringify(record) ?? 'null');
    }
  }

  async get(sku: string): Promise<StoredProduct | undefined> {
    const json = this.#records.get(sku);
    return json === undefined ? undefined : { sku, record: JSON.parse(json) };
  }

  async getMany(skus: readonly string[]): Promise<StoredProduct[]> {
    const products: StoredProduct[] = [];
    for (const sku of skus) {
      const product = await this.get(sku);
      if (product) products.push(product);
    }
    return products;
  }

  async list(query: ListProductsQuery): Promise<StoredProduct[]> {
    assertLimit(query.limit);
    const entries: Array<[string, IndexEntry]> = [];
    for (const [sku, json] of this.#records) {
      const entry = indexEntryOf(JSON.parse(json));
      if (query.category === undefined || entry.category === query.category) {
        entries.push([sku, entry]);
      }
    }
    entries.sort(compareNewestFirst);
    const products: StoredProduct[] = [];
    for (const [sku] of entries.slice(0, query.limit)) {
      const product = await this.get(sku);
      if (product) products.push(product);
    }
    return products;
  }

  async delete(skus: readonly string[]): Promise<void> {
    for (const sku of skus) this.#records.delete(sku);
  }

  async skus(): Promise<string[]> {
    return [...this.#records.keys()].sort();
  }

  async snapshot(skus?: readonly string[]): Promise<ProductSnapshot> {
    const covered = skus ? [...new Set(skus)] : [...this.#records.keys()].sort();
    const products: StoredProduct[] = [];
    for (const sku of covered) {
      const product = await this.get(sku);
      if (product) products.push(product);
    }
    return { skus: covered, products };
  }

  async restore(snapshot: ProductSnapshot): Promise<void> {
    const present = new Set(snapshot.products.map((product) => product.sku));
    await this.put(snapshot.products);
    await this.delete(snapshot.skus.filter((sku) => !present.has(sku)));
  }
}
