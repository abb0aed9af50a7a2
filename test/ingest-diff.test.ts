import { describe, expect, it } from 'vitest';
import { FieldChangeSchema } from '../events/catalog.js';
import {
  deepEqual,
  diffItem,
  flatten,
  type ItemDelta,
  NEW_ITEM_FIELD,
  summarizeDeltas,
} from '../functions/ingest/diff.js';

const base = {
  sku: 'SKU-1001',
  title: 'Alpine Shell Jacket',
  price: 89.5,
  currency: 'USD',
  category: 'outerwear',
  stock: 12,
  return_policy: { type: 'standard', window_days: 30 },
  updated_at: '2025-11-28T02:00:00Z',
};
const item = (changes: Record<string, unknown> = {}): Record<string, unknown> => ({
  ...structuredClone(base),
  updated_at: '2025-11-29T02:00:00Z',
  ...changes,
});
const without = (key: string, value: Record<string, unknown> = item()) => {
  const copy = { ...value };
  delete copy[key];
  return copy;
};

describe('Ingest: field diff', () => {
  it('finds nothing when only updated_at moved on', () => {
    expect(diffItem(base, item())).toEqual([]);
  });

  it('ignores object key order, as a snapshot read back from DynamoDB has its own', () => {
    const reordered = item({ return_policy: { window_days: 30, type: 'standard' } });

    expect(diffItem(base, Object.fromEntries(Object.entries(reordered).reverse()))).toEqual([]);
  });

  it('reports a changed value with old and new', () => {
    expect(diffItem(base, item({ price: 79 }))).toEqual([
      { field: 'price', kind: 'changed', old: 89.5, new: 79 },
    ]);
  });

  it('reports nested paths of return_policy', () => {
    const changes = diffItem(base, item({ return_policy: { type: 'final_sale', window_days: 0 } }));

    expect(changes).toEqual([
      { field: 'return_policy.type', kind: 'changed', old: 'standard', new: 'final_sale' },
      { field: 'return_policy.window_days', kind: 'changed', old: 30, new: 0 },
    ]);
  });

  it('reports a field absent before as added, leaf by leaf', () => {
    const changes = diffItem(
      without('return_policy', base),
      item({ return_policy: { type: 'extended', window_days: 60 } }),
    );

    expect(changes).toEqual([
      { field: 'return_policy.type', kind: 'added', new: 'extended' },
      { field: 'return_policy.window_days', kind: 'added', new: 60 },
    ]);
  });

  it('reports a field absent now as removed', () => {
    expect(diffItem(base, without('stock'))).toEqual([
      { field: 'stock', kind: 'removed', old: 12 },
    ]);
  });

  it('reports a value becoming null as changed to null, not as removed or a type change', () => {
    const changes = diffItem(base, item({ category: null, return_policy: null }));

    expect(changes).toEqual([
      { field: 'category', kind: 'changed', old: 'outerwear', new: null },
      {
        field: 'return_policy',
        kind: 'changed',
        old: { type: 'standard', window_days: 30 },
        new: null,
      },
    ]);
  });

  it('reports null becoming a value as changed', () => {
    expect(diffItem({ ...base, category: null }, item())).toEqual([
      { field: 'category', kind: 'changed', old: null, new: 'outerwear' },
    ]);
  });

  it('reports a different JSON type as type_changed', () => {
    const changes = diffItem(base, item({ price: '89.50', stock: [12] }));

    expect(changes).toEqual([
      { field: 'price', kind: 'type_changed', old: 89.5, new: '89.50' },
      { field: 'stock', kind: 'type_changed', old: 12, new: [12] },
    ]);
  });

  it('reports an object flattened to a scalar once, at the object path', () => {
    const changes = diffItem(base, item({ return_policy: 'final_sale' }));

    expect(changes).toEqual([
      {
        field: 'return_policy',
        kind: 'type_changed',
        old: { type: 'standard', window_days: 30 },
        new: 'final_sale',
      },
    ]);
  });

  it('reports a nested field that changed type under its dotted path', () => {
    const changes = diffItem(
      base,
      item({ return_policy: { type: 'standard', window_days: '30' } }),
    );

    expect(changes).toEqual([
      { field: 'return_policy.window_days', kind: 'type_changed', old: 30, new: '30' },
    ]);
  });

  it('compares arrays whole, as leaves', () => {
    const previous = { ...base, tags: ['clearance', 'outerwear'] };

    expect(diffItem(previous, item({ tags: ['outerwear', 'clearance'] }))).toEqual([
      {
        field: 'tags',
        kind: 'changed',
        old: ['clearance', 'outerwear'],
        new: ['outerwear', 'clearance'],
      },
    ]);
    expect(diffItem(previous, item({ tags: ['clearance', 'outerwear'] }))).toEqual([]);
  });

  it('reports a value that reappears under a new path as moved instead of removed + added', () => {
    const renamed = item({ returns: { type: 'standard', window_days: 30 } });

    const changes = diffItem(base, without('return_policy', renamed));

    expect(changes).toEqual([
      { field: 'return_policy.type', kind: 'moved', old: 'standard', moved_to: 'returns.type' },
      {
        field: 'return_policy.window_days',
        kind: 'moved',
        old: 30,
        moved_to: 'returns.window_days',
      },
    ]);
  });

  it('pairs a move with the added path of the same leaf name before any other equal value', () => {
    const previous = { sku: 'A', stock: 5, updated_at: '2025-11-28T02:00:00Z' };
    const current = { sku: 'A', reorder_level: 5, inventory: { stock: 5 } };

    expect(diffItem(previous, current)).toEqual([
      { field: 'stock', kind: 'moved', old: 5, moved_to: 'inventory.stock' },
      { field: 'reorder_level', kind: 'added', new: 5 },
    ]);
  });

  it('does not report a move when the value changed on the way', () => {
    const current = without('return_policy', item({ returns: { type: 'final_sale' } }));

    const kinds = diffItem(base, current).map(({ field, kind }) => `${kind} ${field}`);

    expect(kinds).toEqual([
      'removed return_policy.type',
      'removed return_policy.window_days',
      'added returns.type',
    ]);
  });

  it('ignores updated_at and the bookkeeping paths the caller names, with what is under them', () => {
    const previous = { ...base, synced_at: 'a', meta: { etag: 'x', source: 'erp' } };
    const current = item({ synced_at: 'b', meta: { etag: 'y', source: 'pim' } });

    const changes = diffItem(previous, current, { ignore: ['synced_at', 'meta.etag'] });

    expect(changes).toEqual([{ field: 'meta.source', kind: 'changed', old: 'erp', new: 'pim' }]);
    expect(diffItem(previous, current, { ignore: ['meta'] })).toEqual([
      { field: 'synced_at', kind: 'changed', old: 'a', new: 'b' },
    ]);
  });

  it('flattens nested objects to dotted paths and keeps arrays and empty objects whole', () => {
    expect(flatten({ a: 1, b: { c: [1, 2], d: {}, e: { f: null } } })).toEqual([
      ['a', 1],
      ['b.c', [1, 2]],
      ['b.d', {}],
      ['b.e.f', null],
    ]);
  });

  it('compares JSON values structurally', () => {
    expect(deepEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
    expect(deepEqual({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(deepEqual([1, 2], { 0: 1, 1: 2 })).toBe(false);
    expect(deepEqual(null, {})).toBe(false);
    expect(deepEqual(1, '1')).toBe(false);
  });
});

describe('Ingest: delta summary', () => {
  const priceChange = (sku: string, old: number, next: number): ItemDelta => ({
    sku,
    changes: [{ field: 'price', kind: 'changed', old, new: next }],
  });

  it('aggregates per field and kind with counts, the first five SKUs and samples', () => {
    const perItem = Array.from({ length: 7 }, (_, index) =>
      priceChange(`SKU-${index}`, 10 + index, 20 + index),
    );

    const [summary, ...rest] = summarizeDeltas(perItem);

    expect(rest).toEqual([]);
    expect(summary).toEqual({
      field: 'price',
      kind: 'changed',
      sku_count: 7,
      sample_skus: ['SKU-0', 'SKU-1', 'SKU-2', 'SKU-3', 'SKU-4'],
      samples: [0, 1, 2, 3, 4].map((index) => ({
        sku: `SKU-${index}`,
        old: 10 + index,
        new: 20 + index,
      })),
    });
  });

  it('keeps kinds, fields and move targets apart and orders by SKU count', () => {
    const perItem: ItemDelta[] = [
      {
        sku: 'A',
        changes: [
          { field: 'return_policy.type', kind: 'moved', old: 'standard', moved_to: 'returns.type' },
          { field: 'price', kind: 'type_changed', old: 1, new: '1' },
        ],
      },
      {
        sku: 'B',
        changes: [
          { field: 'return_policy.type', kind: 'moved', old: 'extended', moved_to: 'returns.type' },
          { field: 'price', kind: 'changed', old: 1, new: 2 },
          { field: 'stock', kind: 'removed', old: 3 },
        ],
      },
      {
        sku: 'C',
        changes: [{ field: 'return_policy.type', kind: 'moved', old: 'x', moved_to: 'policy' }],
      },
    ];

    const summary = summarizeDeltas(perItem, { newSkus: ['N-1', 'N-2'] });

    expect(summary.map((change) => [change.field, change.kind, change.sku_count])).toEqual([
      [NEW_ITEM_FIELD, 'added', 2],
      ['return_policy.type', 'moved', 2],
      ['price', 'changed', 1],
      ['price', 'type_changed', 1],
      ['return_policy.type', 'moved', 1],
      ['stock', 'removed', 1],
    ]);
    expect(summary[1]).toMatchObject({
      moved_to: 'returns.type',
      samples: [
        { sku: 'A', old: 'standard', new: 'standard' },
        { sku: 'B', old: 'extended', new: 'extended' },
      ],
    });
    expect(summary[4]?.moved_to).toBe('policy');
    expect(summary[5]?.samples).toEqual([{ sku: 'B', old: 3 }]);
  });

  it('summarises first-time SKUs as one (item) entry whose samples name the SKUs only', () => {
    const summary = summarizeDeltas([], { newSkus: ['SKU-9', 'SKU-8'] });

    expect(summary).toEqual([
      {
        field: '(item)',
        kind: 'added',
        sku_count: 2,
        sample_skus: ['SKU-9', 'SKU-8'],
        samples: [{ sku: 'SKU-9' }, { sku: 'SKU-8' }],
      },
    ]);
  });

  it('counts a SKU once per entry even when it is listed twice', () => {
    const summary = summarizeDeltas([priceChange('A', 1, 2), priceChange('A', 2, 3)]);

    expect(summary[0]).toMatchObject({ sku_count: 1, sample_skus: ['A'] });
  });

  it('produces entries that fit FieldChangeSchema', () => {
    const perItem: ItemDelta[] = [
      { sku: 'A', changes: diffItem(base, item({ price: '1', stock: null, extra: { x: 1 } })) },
    ];

    const summary = summarizeDeltas(perItem, { newSkus: ['B'], sampleLimit: 1 });

    expect(summary).toHaveLength(4);
    for (const change of summary) expect(FieldChangeSchema.parse(change)).toEqual(change);
  });
});
