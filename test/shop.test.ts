import { describe, expect, it } from 'vitest';
import { type CatalogItem, CatalogItemSchema } from '../functions/shop/catalog.js';
import { toProductRecord } from '../functions/shop/catalog-sync.js';
import { toProductRecord as toProductRecordR2 } from '../functions/shop/catalog-sync-r2.js';
import { ProductRecordSchema, validateRecord } from '../functions/shop/contract.js';
import {
  FLAGSHIP_ORDER_AGE_DAYS,
  FLAGSHIP_ORDER_ID,
  findOrder,
  type Order,
  ordersContaining,
  seedOrders,
} from '../functions/shop/orders.js';
import {
  checkReturnEligibility,
  EligibilityRequestSchema,
  eligibilityAnswer,
} from '../functions/shop/returns.js';
import { FLAGSHIP_SKU, SEED_CATEGORIES, seedCatalog } from '../functions/shop/seed.js';

const NOW = new Date('2025-02-10T12:00:00.000Z');
const SYNCED_AT = '2025-02-10T11:00:00.000Z';
const DAY_MS = 86_400_000;

/** The flagship feed item, copied per test so no test can change another's input. */
const flagshipItem = (): CatalogItem => {
  const item = seedCatalog().find((candidate) => candidate.sku === FLAGSHIP_SKU);
  if (!item) throw new Error('seed catalog lost the flagship SKU');
  return structuredClone(item);
};

const orderOf = (placedAt: Date, sku = FLAGSHIP_SKU): Order => ({
  order_id: '9001',
  placed_at: placedAt.toISOString(),
  items: [{ sku, quantity: 1 }],
});

describe('Target: demo shop', () => {
  describe('catalog feed', () => {
    it('accepts a documented item and keeps fields the shop does not read', () => {
      const item = { ...flagshipItem(), warehouse: 'eu-1' };

      const parsed = CatalogItemSchema.parse(item);

      expect(parsed).toMatchObject({ sku: FLAGSHIP_SKU, warehouse: 'eu-1' });
    });

    it('rejects a currency that is not an ISO 4217 code and a fractional stock', () => {
      const item = { ...flagshipItem(), currency: 'usd', stock: 1.5 };

      const parsed = CatalogItemSchema.safeParse(item);

      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues.map((issue) => issue.path.join('.')).sort()).toEqual([
        'currency',
        'stock',
      ]);
    });
  });

  describe('seed catalog', () => {
    it('has at least 500 unique SKUs across at least 5 categories, clearance among them', () => {
      const items = seedCatalog();

      const skus = new Set(items.map((item) => item.sku));
      const categories = new Set(items.map((item) => item.category));
      expect(items.length).toBeGreaterThanOrEqual(500);
      expect(skus.size).toBe(items.length);
      expect(categories.size).toBeGreaterThanOrEqual(5);
      expect([...categories].sort()).toEqual([...SEED_CATEGORIES].sort());
    });

    it('puts SKU-1001 in clearance with a standard return policy', () => {
      const item = flagshipItem();

      expect(item.category).toBe('clearance');
      expect(item.return_policy).toEqual({ type: 'standard', window_days: 30 });
    });

    it('produces only items of the documented feed shape', () => {
      const items = seedCatalog();

      const invalid = items.filter((item) => !CatalogItemSchema.safeParse(item).success);

      expect(invalid).toEqual([]);
    });

    it('repeats exactly for the same options and differs for another seed', () => {
      const first = seedCatalog({ seed: 7, baseTime: '2025-01-01T00:00:00.000Z' });
      const second = seedCatalog({ seed: 7, baseTime: '2025-01-01T00:00:00.000Z' });
      const other = seedCatalog({ seed: 8, baseTime: '2025-01-01T00:00:00.000Z' });

      expect(second).toEqual(first);
      expect(other).not.toEqual(first);
    });

    it('dates every item within the 30 days before the base time', () => {
      const base = new Date('2025-01-01T00:00:00.000Z');

      const times = seedCatalog({ baseTime: base }).map((item) => Date.parse(item.updated_at));

      expect(Math.max(...times)).toBeLessThanOrEqual(base.getTime());
      expect(Math.min(...times)).toBeGreaterThan(base.getTime() - 30 * DAY_MS);
    });
  });

  describe('catalog sync (release R1)', () => {
    it('maps every seed item to a record that meets the contract', () => {
      const items = seedCatalog();

      const failures = items
        .map((item) => ({
          sku: item.sku,
          result: validateRecord(toProductRecord(item, SYNCED_AT)),
        }))
        .filter(({ result }) => !result.ok);

      expect(failures).toEqual([]);
    });

    it('copies every documented field and stamps the sync time', () => {
      const item = flagshipItem();

      const record = toProductRecord(item, SYNCED_AT);

      const { sku, title, price, currency, category, stock, return_policy, updated_at } = item;
      expect(record).toEqual({
        sku,
        title,
        price,
        currency,
        category,
        stock,
        return_policy,
        updated_at,
        synced_at: SYNCED_AT,
      });
    });
  });

  describe('catalog sync (release R2)', () => {
    it('drops return_policy, and the contract names that field', () => {
      const record = toProductRecordR2(flagshipItem(), SYNCED_AT);

      const result = validateRecord(record);

      expect(record).not.toHaveProperty('return_policy');
      expect(result).toEqual({
        ok: false,
        issues: [
          {
            field: 'return_policy',
            path: 'return_policy',
            message: expect.any(String),
            value: undefined,
          },
        ],
      });
    });

    it('keeps every other field exactly as R1 does', () => {
      const item = flagshipItem();

      const { return_policy: _dropped, ...rest } = toProductRecord(item, SYNCED_AT);

      expect(toProductRecordR2(item, SYNCED_AT)).toEqual(rest);
    });
  });

  describe('record contract', () => {
    it('accepts a complete record and returns it typed', () => {
      const record = toProductRecord(flagshipItem(), SYNCED_AT);

      const result = validateRecord(record);

      expect(result).toEqual({ ok: true, record });
    });

    it('reports a null field with its value', () => {
      const record = { ...toProductRecord(flagshipItem(), SYNCED_AT), return_policy: null };

      const result = validateRecord(record);

      expect(result.ok).toBe(false);
      expect(!result.ok && result.issues).toEqual([
        expect.objectContaining({ field: 'return_policy', path: 'return_policy', value: null }),
      ]);
    });

    it('names the top-level field and the full path of a nested failure', () => {
      const base = toProductRecord(flagshipItem(), SYNCED_AT);
      const record = { ...base, return_policy: { type: 'standard', window_days: -1 } };

      const result = validateRecord(record);

      expect(!result.ok && result.issues).toEqual([
        expect.objectContaining({
          field: 'return_policy',
          path: 'return_policy.window_days',
          value: -1,
        }),
      ]);
    });

    it('requires synced_at, which feed items do not carry', () => {
      const result = validateRecord(flagshipItem());

      expect(!result.ok && result.issues.map((issue) => issue.field)).toEqual(['synced_at']);
    });

    it('reports a record that is not an object under the empty field name', () => {
      const result = validateRecord('SKU-1001');

      expect(!result.ok && result.issues).toEqual([
        expect.objectContaining({ field: '', path: '', value: 'SKU-1001' }),
      ]);
    });

    it('is the schema ProductRecordSchema exports', () => {
      const record = toProductRecord(flagshipItem(), SYNCED_AT);

      expect(ProductRecordSchema.parse(record)).toEqual(record);
    });
  });

  describe('orders fixture', () => {
    it('holds SKU-1001 in order 8734, placed days before now', () => {
      const orders = seedOrders({ now: NOW });

      const order = findOrder(orders, FLAGSHIP_ORDER_ID);

      expect(order?.items).toEqual([{ sku: FLAGSHIP_SKU, quantity: 1 }]);
      expect(order?.placed_at).toBe(
        new Date(NOW.getTime() - FLAGSHIP_ORDER_AGE_DAYS * DAY_MS).toISOString(),
      );
    });

    it('has a few dozen other orders with unique ids across every category', () => {
      const orders = seedOrders({ now: NOW });
      const categoryOf = new Map(seedCatalog().map((item) => [item.sku, item.category]));

      const ids = new Set(orders.map((order) => order.order_id));
      const categories = new Set(
        orders.flatMap((order) => order.items.map((item) => categoryOf.get(item.sku))),
      );
      expect(orders.length).toBeGreaterThanOrEqual(25);
      expect(ids.size).toBe(orders.length);
      expect([...categories].sort()).toEqual([...SEED_CATEGORIES].sort());
    });

    it('places orders in the past only, some beyond a 30-day window', () => {
      const orders = seedOrders({ now: NOW });

      const ages = orders.map((order) => NOW.getTime() - Date.parse(order.placed_at));

      expect(Math.min(...ages)).toBeGreaterThanOrEqual(0);
      expect(ages.some((age) => age > 30 * DAY_MS)).toBe(true);
    });

    it('keeps ids and contents for another now, moving only the dates', () => {
      const later = new Date(NOW.getTime() + 3 * DAY_MS);

      const first = seedOrders({ now: NOW });
      const second = seedOrders({ now: later });

      expect(second.map(({ order_id, items }) => ({ order_id, items }))).toEqual(
        first.map(({ order_id, items }) => ({ order_id, items })),
      );
      expect(Date.parse(second[0]?.placed_at ?? '') - Date.parse(first[0]?.placed_at ?? '')).toBe(
        3 * DAY_MS,
      );
    });

    it('finds the orders containing a SKU, and none for an unknown SKU', () => {
      const orders = seedOrders({ now: NOW });

      const containing = ordersContaining(orders, FLAGSHIP_SKU);

      expect(containing[0]?.order_id).toBe(FLAGSHIP_ORDER_ID);
      expect(
        containing.every((order) => order.items.some((item) => item.sku === FLAGSHIP_SKU)),
      ).toBe(true);
      expect(ordersContaining(orders, 'SKU-0000')).toEqual([]);
    });
  });

  describe('returns eligibility', () => {
    const request = { order_id: FLAGSHIP_ORDER_ID, sku: FLAGSHIP_SKU };
    const flagshipOrder = (): Order | undefined =>
      findOrder(seedOrders({ now: NOW }), FLAGSHIP_ORDER_ID);

    it('finds order 8734 returnable for SKU-1001 with a valid record', () => {
      const record = toProductRecord(flagshipItem(), SYNCED_AT);

      const result = checkReturnEligibility({ request, record, order: flagshipOrder(), now: NOW });

      expect(result).toEqual({
        ok: true,
        eligible: true,
        reason: 'within_return_window',
        window_days: 30,
      });
    });

    it('answers SchemaMismatch naming return_policy for a record R2 wrote', () => {
      const record = toProductRecordR2(flagshipItem(), SYNCED_AT);

      const result = checkReturnEligibility({ request, record, order: flagshipOrder(), now: NOW });

      expect(result).toMatchObject({
        ok: false,
        kind: 'SchemaMismatch',
        sku: FLAGSHIP_SKU,
        field: 'return_policy',
      });
    });

    it('validates the record before looking at the order', () => {
      const record = { sku: FLAGSHIP_SKU };

      const result = checkReturnEligibility({ request, record, order: undefined, now: NOW });

      expect(result).toMatchObject({ ok: false, kind: 'SchemaMismatch' });
    });

    it('never returns a final-sale item', () => {
      const item = {
        ...flagshipItem(),
        return_policy: { type: 'final_sale' as const, window_days: 0 },
      };
      const record = toProductRecord(item, SYNCED_AT);

      const result = checkReturnEligibility({ request, record, order: orderOf(NOW), now: NOW });

      expect(result).toEqual({ ok: true, eligible: false, reason: 'final_sale', window_days: 0 });
    });

    it('counts the window from the order date, the last moment included', () => {
      const record = toProductRecord(flagshipItem(), SYNCED_AT);
      const placed = new Date(NOW.getTime() - 30 * DAY_MS);

      const onTheDay = checkReturnEligibility({
        request,
        record,
        order: orderOf(placed),
        now: NOW,
      });
      const justAfter = checkReturnEligibility({
        request,
        record,
        order: orderOf(new Date(placed.getTime() - 1)),
        now: NOW,
      });

      expect(onTheDay).toMatchObject({ eligible: true, reason: 'within_return_window' });
      expect(justAfter).toMatchObject({ eligible: false, reason: 'return_window_expired' });
    });

    it('tells a missing product, a missing order and a SKU not in the order apart', () => {
      const record = toProductRecord(flagshipItem(), SYNCED_AT);

      const noProduct = checkReturnEligibility({
        request,
        record: undefined,
        order: undefined,
        now: NOW,
      });
      const noOrder = checkReturnEligibility({ request, record, order: undefined, now: NOW });
      const notInOrder = checkReturnEligibility({
        request,
        record,
        order: orderOf(NOW, 'SKU-1002'),
        now: NOW,
      });

      expect([noProduct, noOrder, notInOrder].map((result) => !result.ok && result.kind)).toEqual([
        'ProductNotFound',
        'OrderNotFound',
        'ItemNotInOrder',
      ]);
    });

    it('parses the request body and refuses one without a SKU', () => {
      expect(EligibilityRequestSchema.safeParse(request).success).toBe(true);
      expect(EligibilityRequestSchema.safeParse({ order_id: '8734' }).success).toBe(false);
    });

    it('answers 200 with { eligible, reason, window_days } for a decision', () => {
      const record = toProductRecord(flagshipItem(), SYNCED_AT);
      const result = checkReturnEligibility({ request, record, order: flagshipOrder(), now: NOW });

      const answer = eligibilityAnswer(result);

      expect(answer).toEqual({
        status: 200,
        body: { eligible: true, reason: 'within_return_window', window_days: 30 },
      });
    });

    it('answers a SchemaMismatch with a 500 naming the field, without stored values', () => {
      const record = { ...toProductRecord(flagshipItem(), SYNCED_AT), return_policy: null };
      const result = checkReturnEligibility({ request, record, order: flagshipOrder(), now: NOW });

      const answer = eligibilityAnswer(result);

      expect(answer).toMatchInlineSnapshot(`
        {
          "body": {
            "error": "SchemaMismatch",
            "field": "return_policy",
            "issues": [
              {
                "field": "return_policy",
                "message": "Invalid input: expected object, received null",
                "path": "return_policy",
              },
            ],
            "sku": "SKU-1001",
          },
          "status": 500,
        }
      `);
    });

    it('answers 404 for an unknown order', () => {
      const record = toProductRecord(flagshipItem(), SYNCED_AT);
      const result = checkReturnEligibility({ request, record, order: undefined, now: NOW });

      expect(eligibilityAnswer(result)).toEqual({
        status: 404,
        body: { error: 'OrderNotFound', order_id: FLAGSHIP_ORDER_ID },
      });
    });
  });
});
