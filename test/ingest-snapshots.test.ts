import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CatalogItem } from '../events/catalog.js';
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
import {
  createSnapshotRepository,
  mapWithConcurrency,
  SnapshotRecordError,
  type SnapshotRepository,
  SnapshotVersionError,
  snapshotKey,
} from '../functions/ingest/snapshots.js';
import type { KeyValue } from '../functions/ports/kv.js';
import { uniqueName } from './support/services.js';

const item = (
  sku: string,
  updatedAt: string,
  extra: Record<string, unknown> = {},
): CatalogItem => ({
  sku,
  title: `Item ${sku}`,
  price: 10,
  currency: 'USD',
  updated_at: updatedAt,
  ...extra,
});

describe('Ingest: snapshots (dynalite)', () => {
  const names = tableNames(uniqueName('snapshots'));
  let dynalite: EmbeddedDynalite | undefined;
  let clients: DynamoClients | undefined;
  let kv: KeyValue;
  let snapshots: SnapshotRepository;

  beforeAll(async () => {
    dynalite = await startDynalite();
    // An explicit region: without one the SDK re-runs its region chain on every request.
    clients = createDynamoClients({ endpoint: dynalite.endpoint, region: 'us-east-1' });
    await ensureTables(clients.client, names);
    kv = createDynamoKv(clients.doc, { transactions: 'emulated' });
    snapshots = createSnapshotRepository(kv, {
      table: names.snapshots,
      now: () => new Date('2025-11-29T03:00:00Z'),
    });
  });
  afterAll(async () => {
    if (clients) await deleteTables(clients.client, names);
    clients?.client.destroy();
    await dynalite?.stop();
  });

  it('has no snapshot for a SKU never seen', async () => {
    expect(await snapshots.getSnapshot('NEVER-SEEN')).toBeUndefined();
  });

  it('stores an item under item#<sku> / latest and reads it back whole', async () => {
    const stored = item('SKU-A', '2025-11-29T02:00:00-05:00', {
      pk: 'a feed field named like our key',
      return_policy: { type: 'final_sale', window_days: 0 },
    });

    const outcome = await snapshots.putSnapshot(stored);

    expect(outcome).toBe('written');
    expect(await snapshots.getSnapshot('SKU-A')).toEqual({
      sku: 'SKU-A',
      updated_at: '2025-11-29T02:00:00-05:00',
      updated_at_ms: Date.parse('2025-11-29T07:00:00Z'),
      stored_at: '2025-11-29T03:00:00.000Z',
      item: stored,
    });
    expect(await kv.get(names.snapshots, { pk: 'item#SKU-A', sk: 'latest' })).toMatchObject({
      pk: 'item#SKU-A',
      sk: 'latest',
    });
  });

  it('never lets an older item overwrite a newer snapshot', async () => {
    await snapshots.putSnapshot(item('SKU-B', '2025-11-29T02:00:00Z', { price: 30 }));

    const older = await snapshots.putSnapshot(item('SKU-B', '2025-11-28T02:00:00Z', { price: 10 }));
    const same = await snapshots.putSnapshot(item('SKU-B', '2025-11-29T02:00:00Z', { price: 20 }));

    expect([older, same]).toEqual(['stale', 'stale']);
    expect((await snapshots.getSnapshot('SKU-B'))?.item.price).toBe(30);
  });

  it('replaces a snapshot with a newer item', async () => {
    await snapshots.putSnapshot(item('SKU-C', '2025-11-28T02:00:00Z', { price: 10 }));

    const outcome = await snapshots.putSnapshot(item('SKU-C', '2025-11-28T02:00:00.001Z'));

    expect(outcome).toBe('written');
    expect(await snapshots.getSnapshot('SKU-C')).toMatchObject({
      updated_at: '2025-11-28T02:00:00.001Z',
      item: { price: 10 },
    });
  });

  it('replaces a snapshot and answers the one it replaced, none for a new SKU', async () => {
    const older = item('SKU-R', '2025-11-28T02:00:00Z', { price: 10 });
    const newer = item('SKU-R', '2025-11-29T02:00:00Z', { price: 12 });

    const first = await snapshots.replaceSnapshot(older);
    const second = await snapshots.replaceSnapshot(newer);

    expect(first).toEqual({ outcome: 'written', previous: undefined });
    expect(second).toEqual({
      outcome: 'written',
      previous: {
        sku: 'SKU-R',
        updated_at: '2025-11-28T02:00:00Z',
        updated_at_ms: Date.parse('2025-11-28T02:00:00Z'),
        stored_at: '2025-11-29T03:00:00.000Z',
        item: older,
      },
    });
    expect((await snapshots.getSnapshot('SKU-R'))?.item).toEqual(newer);
  });

  it('answers stale from replaceSnapshot and keeps the stored snapshot when it is as new', async () => {
    await snapshots.putSnapshot(item('SKU-S', '2025-11-29T02:00:00Z', { price: 30 }));

    const older = await snapshots.replaceSnapshot(item('SKU-S', '2025-11-28T02:00:00Z'));
    const same = await snapshots.replaceSnapshot(item('SKU-S', '2025-11-29T02:00:00Z'));

    expect([older, same]).toEqual([{ outcome: 'stale' }, { outcome: 'stale' }]);
    expect((await snapshots.getSnapshot('SKU-S'))?.item.price).toBe(30);
  });

  it('writes and reads many items in batches, results in input order', async () => {
    const items = Array.from({ length: 120 }, (_, index) =>
      item(`BATCH-${index}`, '2025-11-29T02:00:00Z', { stock: index }),
    );
    await snapshots.putSnapshot(item('BATCH-7', '2025-12-01T00:00:00Z'));

    const outcomes = await snapshots.putSnapshots(items);
    const found = await snapshots.getSnapshots([...items.map((i) => i.sku), 'BATCH-missing']);

    expect(outcomes.filter((outcome) => outcome === 'stale')).toHaveLength(1);
    expect(outcomes[7]).toBe('stale');
    expect(found.size).toBe(120);
    expect(found.get('BATCH-42')?.item.stock).toBe(42);
    expect(found.has('BATCH-missing')).toBe(false);
  });

  it('refuses a record that is not a snapshot with a SnapshotRecordError', async () => {
    await kv.put(names.snapshots, { ...snapshotKey('SKU-JUNK'), note: 'written by hand' });

    await expect(snapshots.getSnapshot('SKU-JUNK')).rejects.toThrow(SnapshotRecordError);
    await expect(snapshots.getSnapshots(['SKU-JUNK'])).rejects.toThrow(SnapshotRecordError);
  });

  it('refuses an item whose updated_at is not a date with a SnapshotVersionError', async () => {
    await expect(snapshots.putSnapshot(item('SKU-D', 'not-a-date'))).rejects.toMatchObject({
      name: 'SnapshotVersionError',
      sku: 'SKU-D',
    });
    await expect(snapshots.putSnapshot(item('SKU-D', 'not-a-date'))).rejects.toBeInstanceOf(
      SnapshotVersionError,
    );
  });
});

describe('Ingest: bounded concurrency', () => {
  it('never has more calls in flight than the limit and keeps input order', async () => {
    let inFlight = 0;
    let peak = 0;
    const input = Array.from({ length: 50 }, (_, index) => index);

    const output = await mapWithConcurrency(input, 4, async (value) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight -= 1;
      return value * 2;
    });

    expect(peak).toBe(4);
    expect(output).toEqual(input.map((value) => value * 2));
  });

  it('rejects with the first failure and starts nothing after it', async () => {
    const started: number[] = [];

    const run = mapWithConcurrency([0, 1, 2, 3, 4, 5], 2, async (value) => {
      started.push(value);
      await new Promise((resolve) => setImmediate(resolve));
      if (value === 1) throw new Error('boom');
      return value;
    });

    await expect(run).rejects.toThrow('boom');
    expect(started).toEqual([0, 1, 2]);
  });

  it('refuses a limit that is not a positive integer', async () => {
    await expect(mapWithConcurrency([1], 0, async (value) => value)).rejects.toThrow(RangeError);
  });
});
