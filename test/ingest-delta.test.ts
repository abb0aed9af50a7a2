import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CatalogDeltaDataSchema, type CatalogItem } from '../events/catalog.js';
import { createEvent } from '../events/registry.js';
import {
  createDynamoClients,
  type DynamoClients,
} from '../functions/adapters/kv/dynamodb-client.js';
import { createDynamoKv } from '../functions/adapters/kv/dynamodb-kv.js';
import {
  type EmbeddedDynalite,
  startDynalite,
} from '../functions/adapters/kv/embedded-dynalite.js';
import { deleteTables, ensureTables, tableNames } from '../functions/adapters/kv/tables.js';
import { computeCatalogDelta } from '../functions/ingest/delta.js';
import {
  createSnapshotRepository,
  type SnapshotRepository,
} from '../functions/ingest/snapshots.js';
import { uniqueName } from './support/services.js';

const NIGHT_1 = '2025-11-28T02:00:00Z';
const NIGHT_2 = '2025-11-29T02:00:00Z';
const CLEARANCE = ['SKU-1001', 'SKU-1004', 'SKU-1007'];

/** The demo catalog: ten items, three of them clearance. */
const catalog = (updatedAt: string, edit: (item: CatalogItem) => CatalogItem = (i) => i) =>
  Array.from({ length: 10 }, (_, index): CatalogItem => {
    const sku = `SKU-${1001 + index}`;
    return edit({
      sku,
      title: `Item ${index}`,
      price: 20 + index,
      currency: 'USD',
      category: CLEARANCE.includes(sku) ? 'clearance' : 'outerwear',
      stock: index * 3,
      return_policy: { type: 'standard', window_days: 30 },
      updated_at: updatedAt,
    });
  });

describe('Ingest: catalog delta (dynalite)', () => {
  let dynalite: EmbeddedDynalite | undefined;
  let clients: DynamoClients | undefined;
  let names = tableNames(uniqueName('delta'));
  let snapshots: SnapshotRepository;
  let pushes = 0;
  const delta = (items: CatalogItem[], options?: Parameters<typeof computeCatalogDelta>[2]) => {
    pushes += 1;
    return computeCatalogDelta(
      { push_id: `push-${pushes}`, catalog_version: `v${pushes}`, items },
      snapshots,
      options,
    );
  };

  beforeAll(async () => {
    dynalite = await startDynalite();
    // An explicit region: without one the SDK re-runs its region chain on every request.
    clients = createDynamoClients({ endpoint: dynalite.endpoint, region: 'us-east-1' });
  });
  beforeEach(async () => {
    if (!clients) throw new Error('dynalite not started');
    names = tableNames(uniqueName('delta'));
    pushes = 0;
    await ensureTables(clients.client, names);
    snapshots = createSnapshotRepository(
      createDynamoKv(clients.doc, { transactions: 'emulated' }),
      {
        table: names.snapshots,
      },
    );
  });
  afterEach(async () => {
    if (clients) await deleteTables(clients.client, names);
  });
  afterAll(async () => {
    clients?.client.destroy();
    await dynalite?.stop();
  });

  it('reports a first push as new SKUs only, one (item) entry, and writes every snapshot', async () => {
    const result = await delta(catalog(NIGHT_1));

    expect(result).toMatchObject({ written: 10, stale: 0, duplicates: 0, changedSkus: [] });
    expect(result.newSkus).toHaveLength(10);
    expect(result.delta.changes).toEqual([
      expect.objectContaining({ field: '(item)', kind: 'added', sku_count: 10 }),
    ]);
    expect((await snapshots.getSnapshot('SKU-1010'))?.item.price).toBe(29);
  });

  it('reports a return_policy change of the clearance items with their SKUs', async () => {
    await delta(catalog(NIGHT_1));
    const night2 = catalog(NIGHT_2, (item) =>
      item.category === 'clearance'
        ? { ...item, return_policy: { type: 'final_sale', window_days: 30 } }
        : item,
    );

    const result = await delta(night2);

    expect(result.delta).toEqual({
      push_id: 'push-2',
      catalog_version: 'v2',
      items: 10,
      changes: [
        {
          field: 'return_policy.type',
          kind: 'changed',
          sku_count: 3,
          sample_skus: CLEARANCE,
          samples: CLEARANCE.map((sku) => ({ sku, old: 'standard', new: 'final_sale' })),
        },
      ],
    });
    expect(result).toMatchObject({ written: 10, stale: 0, newSkus: [], changedSkus: CLEARANCE });
  });

  it('reports a price-only push as price changes only', async () => {
    await delta(catalog(NIGHT_1));

    const result = await delta(catalog(NIGHT_2, (item) => ({ ...item, price: 15 })));

    expect(
      result.delta.changes.map(({ field, kind, sku_count }) => ({ field, kind, sku_count })),
    ).toEqual([{ field: 'price', kind: 'changed', sku_count: 10 }]);
    expect(result.delta.changes[0]?.samples[0]).toEqual({ sku: 'SKU-1001', old: 20, new: 15 });
  });

  it('never lets an older push overwrite a newer snapshot, and does not diff it', async () => {
    await delta(catalog(NIGHT_2, (item) => ({ ...item, price: 99 })));

    const late = await delta(catalog(NIGHT_1, (item) => ({ ...item, price: 1 })));

    expect(late).toMatchObject({ written: 0, stale: 10, newSkus: [], changedSkus: [] });
    expect(late.delta.changes).toEqual([]);
    expect(await snapshots.getSnapshot('SKU-1001')).toMatchObject({
      updated_at: NIGHT_2,
      item: { price: 99 },
    });
  });

  it('treats a redelivered push as stale: nothing written, nothing reported twice', async () => {
    const night1 = catalog(NIGHT_1);
    await delta(night1);
    await delta(catalog(NIGHT_2, (item) => ({ ...item, stock: 0 })));

    const again = await delta(catalog(NIGHT_2, (item) => ({ ...item, stock: 0 })));

    expect(again).toMatchObject({ written: 0, stale: 10 });
    expect(again.delta.changes).toEqual([]);
  });

  it('reports nothing for an item a newer writer stored first, and leaves that snapshot', async () => {
    await delta(catalog(NIGHT_1).slice(0, 2));
    const racing: SnapshotRepository = {
      ...snapshots,
      async replaceSnapshot(item) {
        // Another consumer stores a newer version of SKU-1002 just before our write.
        if (item.sku === 'SKU-1002') {
          await snapshots.putSnapshot({ ...item, price: 77, updated_at: '2025-12-24T00:00:00Z' });
        }
        return snapshots.replaceSnapshot(item);
      },
    };

    const result = await computeCatalogDelta(
      {
        push_id: 'push-race',
        catalog_version: 'v-race',
        items: catalog(NIGHT_2, (item) => ({ ...item, price: 5 })).slice(0, 2),
      },
      racing,
    );

    expect(result).toMatchObject({ written: 1, stale: 1, changedSkus: ['SKU-1001'] });
    expect(result.delta.changes[0]).toMatchObject({ field: 'price', sku_count: 1 });
    expect((await snapshots.getSnapshot('SKU-1002'))?.item.price).toBe(77);
  });

  it('diffs against the snapshot it replaced, even one stored after the push began', async () => {
    await delta(catalog(NIGHT_1).slice(0, 2));
    const racing: SnapshotRepository = {
      ...snapshots,
      async replaceSnapshot(item) {
        // Between NIGHT_1 and NIGHT_2 another consumer stores an intermediate version.
        if (item.sku === 'SKU-1002') {
          await snapshots.putSnapshot({ ...item, price: 60, updated_at: '2025-11-28T12:00:00Z' });
        }
        return snapshots.replaceSnapshot(item);
      },
    };

    const result = await computeCatalogDelta(
      {
        push_id: 'push-intermediate',
        catalog_version: 'v-intermediate',
        items: catalog(NIGHT_2, (item) => ({ ...item, price: 5 })).slice(0, 2),
      },
      racing,
    );

    expect(result).toMatchObject({ written: 2, stale: 0 });
    expect(result.delta.changes[0]?.samples).toEqual([
      { sku: 'SKU-1001', old: 20, new: 5 },
      { sku: 'SKU-1002', old: 60, new: 5 },
    ]);
    expect(await snapshots.getSnapshot('SKU-1002')).toMatchObject({
      updated_at: NIGHT_2,
      item: { price: 5 },
    });
  });

  it('mixes new, stale and changed items of one push', async () => {
    await delta(catalog(NIGHT_1).slice(0, 5));
    await snapshots.putSnapshot({ sku: 'SKU-1002', price: 1, updated_at: '2025-12-24T00:00:00Z' });

    const result = await delta(catalog(NIGHT_2, (item) => ({ ...item, price: '20.00' })));

    expect(result).toMatchObject({ written: 9, stale: 1 });
    expect(result.newSkus).toEqual(['SKU-1006', 'SKU-1007', 'SKU-1008', 'SKU-1009', 'SKU-1010']);
    expect(result.changedSkus).toEqual(['SKU-1001', 'SKU-1003', 'SKU-1004', 'SKU-1005']);
    expect(
      result.delta.changes.map(({ field, kind, sku_count }) => [field, kind, sku_count]),
    ).toEqual([
      ['(item)', 'added', 5],
      ['price', 'type_changed', 4],
    ]);
  });

  it('reports a renamed field as moved and ignores the bookkeeping fields it is told to', async () => {
    await delta(catalog(NIGHT_1, (item) => ({ ...item, synced_at: NIGHT_1 })));
    const renamed = catalog(NIGHT_2, ({ return_policy, ...item }) => ({
      ...item,
      returns: return_policy,
      synced_at: NIGHT_2,
    }));

    const result = await delta(renamed, { ignore: ['synced_at'] });

    expect(
      result.delta.changes.map(({ field, kind, moved_to }) => [field, kind, moved_to]),
    ).toEqual([
      ['return_policy.type', 'moved', 'returns.type'],
      ['return_policy.window_days', 'moved', 'returns.window_days'],
    ]);
  });

  it('takes a SKU listed twice once: the entry with the latest updated_at', async () => {
    await delta(catalog(NIGHT_1).slice(0, 1));
    const [first] = catalog(NIGHT_2);
    if (!first) throw new Error('empty catalog');

    const result = await delta([
      { ...first, price: 50 },
      { ...first, price: 40, updated_at: NIGHT_1 },
    ]);

    expect(result).toMatchObject({ duplicates: 1, written: 1, stale: 0 });
    expect(result.delta.changes[0]?.samples).toEqual([{ sku: 'SKU-1001', old: 20, new: 50 }]);
    expect(result.delta.items).toBe(2);
  });

  it('produces data that a catalog.delta event accepts', async () => {
    await delta(catalog(NIGHT_1));

    const { delta: data } = await delta(
      catalog(NIGHT_2, (item) => ({ ...item, stock: null, category: 7, extra: { a: [1] } })),
    );

    expect(CatalogDeltaDataSchema.parse(data)).toEqual(data);
    expect(createEvent('catalog.delta', data, { source: 'ingest' }).data).toEqual(data);
    expect(data.changes.map(({ field, kind }) => `${kind} ${field}`).sort()).toEqual([
      'added extra.a',
      'changed stock',
      'type_changed category',
    ]);
  });
});
