import { describe, expect, it } from 'vitest';
import { exceedsLimit, parseCatalogPushBody } from '../functions/webhooks/push-body.js';

const item = (sku: string, extra: Record<string, unknown> = {}) => ({
  sku,
  title: `Item ${sku}`,
  price: 19.99,
  currency: 'USD',
  updated_at: '2025-11-29T02:00:00Z',
  ...extra,
});
const push = (items: unknown[], envelope: Record<string, unknown> = {}) =>
  JSON.stringify({
    catalog_version: '2025-11-29',
    pushed_at: '2025-11-29T02:00:05Z',
    items,
    ...envelope,
  });

describe('Webhooks: catalog push body', () => {
  it('parses a valid push and keeps unknown item fields for the delta sensor', () => {
    const body = push([
      item('SKU-1001', { return_policy: { type: 'final_sale', window_days: 0 } }),
    ]);

    const result = parseCatalogPushBody(body);

    expect(result).toEqual({
      ok: true,
      catalog_version: '2025-11-29',
      pushed_at: '2025-11-29T02:00:05Z',
      items: [item('SKU-1001', { return_policy: { type: 'final_sale', window_days: 0 } })],
      rejected: [],
    });
  });

  it('parses the same push from raw bytes', () => {
    const result = parseCatalogPushBody(new TextEncoder().encode(push([item('SKU-1')])));

    expect(result).toMatchObject({ ok: true, items: [{ sku: 'SKU-1' }] });
  });

  it('rejects malformed JSON with 400 and the parser message', () => {
    const result = parseCatalogPushBody('{"catalog_version": "v1", "items": [');

    expect(result).toMatchObject({
      ok: false,
      status: 400,
      message: expect.stringMatching(/^malformed JSON: /),
      issues: [],
    });
  });

  it('rejects a body that is not UTF-8 as malformed', () => {
    const result = parseCatalogPushBody(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]));

    expect(result).toMatchObject({
      ok: false,
      status: 400,
      message: expect.stringMatching(/UTF-8/),
    });
  });

  it('rejects an envelope that fails its schema with the path of every issue', () => {
    const body = JSON.stringify({ catalog_version: '', pushed_at: 'yesterday', items: {} });

    const result = parseCatalogPushBody(body);

    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.status).toBe(400);
    expect(result.issues.map((issue) => issue.path)).toEqual([
      'catalog_version',
      'pushed_at',
      'items',
    ]);
    expect(result.message).toMatch(
      /^invalid catalog push: catalog_version: .+; pushed_at: .+; items: /,
    );
  });

  it('rejects a JSON value that is not an object at the root', () => {
    const result = parseCatalogPushBody('[1, 2, 3]');

    expect(result).toMatchObject({ ok: false, status: 400, issues: [{ path: '(root)' }] });
  });

  it('keeps the valid items of a mixed push and reports each invalid one by index and SKU', () => {
    const body = push([
      item('SKU-1'),
      item('', { title: 'blank sku' }),
      { sku: 'SKU-3', price: 5 },
      42,
      item('SKU-5', { updated_at: '29/11/2025' }),
      item('SKU-6'),
    ]);

    const result = parseCatalogPushBody(body);

    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.items.map((valid) => valid.sku)).toEqual(['SKU-1', 'SKU-6']);
    expect(
      result.rejected.map(({ index, sku, issues }) => ({
        index,
        sku,
        paths: issues.map((issue) => issue.path),
      })),
    ).toEqual([
      { index: 1, sku: undefined, paths: ['items[1].sku'] },
      { index: 2, sku: 'SKU-3', paths: ['items[2].updated_at'] },
      { index: 3, sku: undefined, paths: ['items[3]'] },
      { index: 4, sku: 'SKU-5', paths: ['items[4].updated_at'] },
    ]);
    expect(result.rejected[0]).not.toHaveProperty('sku');
  });

  it('reports a push whose items all fail as ok with no items, leaving the verdict to the caller', () => {
    const result = parseCatalogPushBody(push([{ title: 'no sku' }]));

    expect(result).toMatchObject({ ok: true, items: [], rejected: [{ index: 0 }] });
  });

  it('tells when a declared length exceeds the limit and stays silent when none is known', () => {
    const limit = 1024;

    expect(exceedsLimit('1025', limit)).toBe(true);
    expect(exceedsLimit(' 1024 ', limit)).toBe(false);
    expect(exceedsLimit(2048, limit)).toBe(true);
    expect(exceedsLimit('99999999999999999999999', limit)).toBe(true);
    expect(exceedsLimit(undefined, limit)).toBe(false);
    expect(exceedsLimit(null, limit)).toBe(false);
    expect(exceedsLimit('-5', limit)).toBe(false);
    expect(exceedsLimit('12kb', limit)).toBe(false);
  });
});
