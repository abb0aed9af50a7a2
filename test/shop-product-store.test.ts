import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDynamoClients,
  type DynamoClients,
} from '../functions/adapters/kv/dynamodb-client.js';
import { createDynamoKv } from '../functions/adapters/kv/dynamodb-kv.js';
import {
  type EmbeddedDynalite,
  startDynalite,
} from '../functions/adapters/kv/embedded-dynalite.js';
import { ensureTables, tableNames } from '../functions/adapters/kv/tables.js';
import type { Item, KeyValue } from '../functions/ports/kv.js';
import { toProductRecord } from '../functions/shop/catalog-sync.js';
import { toProductRecord as toProductRecordR2 } from '../functions/shop/catalog-sync-r2.js';
import { MemoryProductStore } from '../functions/shop/memory-product-store.js';
import {
  type ProductStore,
  ProductStoreConflictError,
  ProductStoreInputError,
  type StoredProduct,
} from '../functions/shop/product-store.js';
import { createKvProductStore } from '../functions/shop/records-repo.js';
import { seedCatalog } from '../functions/shop/seed.js';
import { uniqueName } from './support/services.js';

const catalog = seedCatalog({ count: 60 });

/** Products synced at `minute` past the hour, so the newest-first order is known in advance. */
const productsAt = (minute: number, count = catalog.length, mapper = toProductRecord) =>
  catalog.slice(0, count).map(
    (item): StoredProduct => ({
      sku: item.sku,
      record: mapper(item, `2025-02-10T11:${String(minute).padStart(2, '0')}:00.000Z`),
    }),
  );

interface Subject {
  readonly name: string;
  /** A fresh, empty store. */
  create(): ProductStore;
}

let dynalite: EmbeddedDynalite | undefined;
let clients: DynamoClients | undefined;
let kv: KeyValue | undefined;
const names = tableNames(uniqueName('products'));

const requireKv = (): KeyValue => {
  if (!kv) throw new Error('dynalite not started');
  return kv;
};

beforeAll(async () => {
  dynalite = await startDynalite();
  clients = createDynamoClients({ endpoint: dynalite.endpoint });
  await ensureTables(clients.client, names);
  kv = createDynamoKv(clients.doc, { transactions: 'emulated' });
});
afterAll(async () => {
  clients?.client.destroy();
  await dynalite?.stop();
});

const subjects: Subject[] = [
  { name: 'in memory', create: () => new MemoryProductStore() },
  {
    name: 'on the KeyValue port (dynalite)',
    // A fresh key prefix per store keeps tests independent inside one table.
    create: () =>
      createKvProductStore(requireKv(), { table: names.kv, keyPrefix: uniqueName('product') }),
  },
];

describe.each(subjects)('Target: demo shop product store ($name)', ({ create }) => {
  it('reads back a record exactly as it was written', async () => {
    const store = create();
    const [product] = productsAt(0, 1);
    if (!product) throw new Error('empty catalog');

    await store.put([product]);

    expect(await store.get(product.sku)).toEqual(product);
  });

  it('keeps a broken record as written, so readers see what the sync really stored', async () => {
    const store = create();
    const broken = productsAt(0, 1, toProductRecordR2)[0];
    if (!broken) throw new Error('empty catalog');

    await store.put([broken]);

    const stored = await store.get(broken.sku);
    expect(stored?.record).toEqual(broken.record);
    expect(stored?.record).not.toHaveProperty('return_policy');
  });

  it('answers undefined for a SKU it never stored', async () => {
    const store = create();

    expect(await store.get('SKU-0000')).toBeUndefined();
  });

  it('replaces a stored record, and within one put the last write of a SKU wins', async () => {
    const store = create();
    const [older] = productsAt(1, 1);
    const [newer] = productsAt(2, 1);
    const [newest] = productsAt(3, 1);
    if (!older || !newer || !newest) throw new Error('empty catalog');
    await store.put([older]);

    await store.put([newer, newest]);

    expect(await store.get(older.sku)).toEqual(newest);
  });

  it('lists newest first by synced_at, then by SKU, up to the limit', async () => {
    const store = create();
    await store.put(productsAt(1, 10));
    await store.put(productsAt(5, 3));

    const listed = await store.list({ limit: 5 });

    const firstThree = productsAt(5, 3).map((product) => product.sku);
    const rest = productsAt(1, 10)
      .map((product) => product.sku)
      .filter((sku) => !firstThree.includes(sku))
      .sort();
    expect(listed.map((product) => product.sku)).toEqual([
      ...firstThree.sort(),
      ...rest.slice(0, 2),
    ]);
  });

  it('lists one category only', async () => {
    const store = create();
    await store.put(productsAt(1));

    const listed = await store.list({ category: 'clearance', limit: 100 });

    const expected = catalog
      .filter((item) => item.category === 'clearance')
      .map((item) => item.sku);
    expect(listed.map((product) => product.sku).sort()).toEqual(expected.sort());
    expect(listed.length).toBeGreaterThan(0);
  });

  it('moves a record to its new category when it is rewritten', async () => {
    const store = create();
    const [product] = productsAt(1, 1);
    if (!product) throw new Error('empty catalog');
    await store.put([product]);

    await store.put([
      { sku: product.sku, record: { ...(product.record as object), category: 'home' } },
    ]);

    const clearance = await store.list({ category: 'clearance', limit: 100 });
    const home = await store.list({ category: 'home', limit: 100 });
    expect(clearance.map((listed) => listed.sku)).not.toContain(product.sku);
    expect(home.map((listed) => listed.sku)).toContain(product.sku);
  });

  it('lists records without a synced_at after every dated one', async () => {
    const store = create();
    await store.put(productsAt(1, 2));
    await store.put([{ sku: 'SKU-9999', record: { sku: 'SKU-9999' } }]);

    const listed = await store.list({ limit: 10 });

    expect(listed.at(-1)?.sku).toBe('SKU-9999');
    expect(listed).toHaveLength(3);
  });

  it('refuses a limit that is not a positive integer', async () => {
    const store = create();

    await expect(store.list({ limit: 0 })).rejects.toBeInstanceOf(ProductStoreInputError);
  });

  it('refuses a product without a SKU and writes nothing', async () => {
    const store = create();

    await expect(store.put([{ sku: '', record: {} }])).rejects.toMatchObject({
      name: 'ProductStoreInputError',
    });
    expect(await store.list({ limit: 10 })).toEqual([]);
  });

  it('deletes records and forgets them in listings', async () => {
    const store = create();
    const products = productsAt(1, 3);
    await store.put(products);
    const [first] = products;
    if (!first) throw new Error('empty catalog');

    await store.delete([first.sku, 'SKU-0000']);

    expect(await store.get(first.sku)).toBeUndefined();
    expect((await store.list({ limit: 10 })).map((product) => product.sku)).not.toContain(
      first.sku,
    );
  });

  it('restores a snapshot: damaged records come back, records created since are removed', async () => {
    const store = create();
    const healthy = productsAt(1, 4);
    await store.put(healthy);
    const covered = [...healthy.map((product) => product.sku), 'SKU-9999'];
    const snapshot = await store.snapshot(covered);
    await store.put(productsAt(2, 4, toProductRecordR2));
    await store.put([{ sku: 'SKU-9999', record: { sku: 'SKU-9999' } }]);

    await store.restore(snapshot);

    const restored = await Promise.all(covered.map((sku) => store.get(sku)));
    expect(restored).toEqual([...healthy, undefined]);
  });

  it('reads many SKUs in the order asked, leaving out those without a record', async () => {
    const store = create();
    const products = productsAt(5, 3);
    await store.put(products);
    const [a, b, c] = products;
    if (!a || !b || !c) throw new Error('catalog too small');

    const read = await store.getMany([c.sku, 'SKU-NONE', a.sku, b.sku]);

    expect(read).toEqual([c, a, b]);
  });

  it('snapshots every stored SKU when none are named', async () => {
    const store = create();
    const products = productsAt(1, 5);
    await store.put(products);

    const snapshot = await store.snapshot();

    expect(snapshot.skus).toEqual(products.map((product) => product.sku).sort());
    expect(snapshot.products).toHaveLength(5);
  });
});

describe('Target: demo shop product store on the KeyValue port', () => {
  it('keeps concurrent writers of the same index shard from losing entries', async () => {
    const store = createKvProductStore(requireKv(), {
      table: names.kv,
      keyPrefix: uniqueName('product'),
      indexShards: 1,
    });
    const products = productsAt(1, 16);

    await Promise.all(products.map((product) => store.put([product])));

    const listed = await store.list({ limit: 100 });
    expect(listed.map((product) => product.sku).sort()).toEqual(
      products.map((product) => product.sku).sort(),
    );
  });

  it('writes and reads a large sync in batches, not one request per record', async () => {
    const base = requireKv();
    const calls: Record<string, number> = {};
    const counted = new Proxy(base, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          calls[String(property)] = (calls[String(property)] ?? 0) + 1;
          return value.apply(target, args);
        };
      },
    });
    const store = createKvProductStore(counted, {
      table: names.kv,
      keyPrefix: uniqueName('product'),
      indexShards: 4,
    });
    const products = seedCatalog({ count: 260 }).map(
      (item): StoredProduct => ({
        sku: item.sku,
        record: toProductRecord(item, '2025-02-10T12:00:00.000Z'),
      }),
    );

    await store.put(products);
    const read = await store.getMany(products.map((product) => product.sku));
    const listed = await store.list({ limit: 300 });

    expect(read).toEqual(products);
    expect(listed).toHaveLength(260);
    // One batched write of the records; the touched index shards read in one batch, then one
    // versioned write per shard.
    expect(calls).toMatchObject({ putMany: 1, put: 4 });
    expect(calls.get ?? 0).toBe(0);
  });

  it('a put whose record write fails lists nothing that was not stored, nor under a category its record lacks', async () => {
    const base = requireKv();
    const keyPrefix = uniqueName('product');
    const [kept, added] = productsAt(1, 2);
    if (!kept || !added) throw new Error('catalog too small');
    await createKvProductStore(base, { table: names.kv, keyPrefix, indexShards: 2 }).put([kept]);
    // The index is written, the records are not: as a crash between the two would leave them.
    const failing: KeyValue = {
      ...base,
      putMany: async () => {
        throw new Error('connection reset');
      },
    };
    const store = createKvProductStore(failing, { table: names.kv, keyPrefix, indexShards: 2 });
    const moved = { sku: kept.sku, record: { ...(kept.record as object), category: 'home' } };

    await expect(store.put([moved, added])).rejects.toThrow('connection reset');

    expect(await store.list({ category: 'home', limit: 10 })).toEqual([]);
    expect(await store.list({ limit: 10 })).toEqual([kept]);
  });

  it('gives up with a conflict error when the index keeps changing', async () => {
    const base = requireKv();
    // Every index read is followed by a concurrent write that bumps the version first.
    const bump = async (table: string, item: Item | undefined) => {
      if (item && String(item.pk).includes('-index#')) {
        await base.put(table, { ...item, version: Number(item.version) + 1 });
      }
    };
    const racing: KeyValue = {
      ...base,
      get: async (table, key) => {
        const item = await base.get(table, key);
        await bump(table, item);
        return item;
      },
      getMany: async (table, keys) => {
        const items = await base.getMany(table, keys);
        for (const item of items) await bump(table, item);
        return items;
      },
    };
    const keyPrefix = uniqueName('product');
    await createKvProductStore(base, { table: names.kv, keyPrefix, indexShards: 1 }).put(
      productsAt(1, 1),
    );
    const store = createKvProductStore(racing, {
      table: names.kv,
      keyPrefix,
      indexShards: 1,
      maxIndexAttempts: 3,
    });

    const error = await store.put(productsAt(2, 1)).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ProductStoreConflictError);
    expect(error).toMatchObject({ name: 'ProductStoreConflictError', attempts: 3 });
  });
});
