import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { CatalogItem } from '../functions/shop/catalog.js';
import { toProductRecord } from '../functions/shop/catalog-sync.js';
import { toProductRecord as toProductRecordR2 } from '../functions/shop/catalog-sync-r2.js';
import { shopTarget } from '../functions/shop/manifest.js';
import { MemoryProductStore } from '../functions/shop/memory-product-store.js';
import { FLAGSHIP_ORDER_ID, findOrder, seedOrders } from '../functions/shop/orders.js';
import { buildShopRelease, SHOP_REPO_ROOT } from '../functions/shop/releases.js';
import { checkReturnEligibility, eligibilityAnswer } from '../functions/shop/returns.js';
import { FLAGSHIP_SKU, seedCatalog } from '../functions/shop/seed.js';
import {
  defineTarget,
  globToRegExp,
  isPatchable,
  type LoadedMapper,
  type ResyncDeps,
  type TargetProbe,
} from '../functions/target/define-target.js';
import { checkProbeResponse, checkSmokeCase } from '../functions/target/expectations.js';
import { LocalDeployer } from '../functions/target/local-deployer.js';

const NOW = new Date('2025-02-10T12:00:00.000Z');
const catalog = seedCatalog();
const snapshots = new Map<string, CatalogItem>(catalog.map((item) => [item.sku, item]));
const dir = mkdtempSync(path.join(os.tmpdir(), 'manifest-'));

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const flagshipItem = (): CatalogItem => {
  const item = snapshots.get(FLAGSHIP_SKU);
  if (!item) throw new Error('seed catalog lost the flagship SKU');
  return structuredClone(item);
};
const probeNamed = (name: string): TargetProbe => {
  const probe = shopTarget.probes.find((candidate) => candidate.name === name);
  if (!probe) throw new Error(`no probe ${name}`);
  return probe;
};
const smokeNamed = (name: string) => {
  const smoke = shopTarget.smokeCases.find((candidate) => candidate.name === name);
  if (!smoke) throw new Error(`no smoke case ${name}`);
  return smoke;
};

/** Resync dependencies over a memory store and the stored feed items. */
const resyncDeps = (store: MemoryProductStore, mapper: LoadedMapper): ResyncDeps => ({
  snapshotOf: async (sku) => structuredClone(snapshots.get(sku)),
  write: (product) => store.put([product]),
  mapper,
  now: () => NOW,
});

describe('Target: manifest', () => {
  describe('defineTarget', () => {
    it('returns the manifest it is given, unchanged', () => {
      const manifest = { ...shopTarget, name: 'copy' };

      expect(defineTarget(manifest)).toBe(manifest);
    });

    it('matches patchable globs: ** across directories, * within one', () => {
      expect(globToRegExp('src/**/*.ts').test('src/a.ts')).toBe(true);
      expect(globToRegExp('src/**/*.ts').test('src/x/y/a.ts')).toBe(true);
      expect(globToRegExp('src/*.ts').test('src/x/a.ts')).toBe(false);
      expect(globToRegExp('src/a?.ts').test('src/ab.ts')).toBe(true);
      expect(globToRegExp('src/a.ts').test('src/abts')).toBe(false);
    });
  });

  describe('demo shop manifest', () => {
    it('lets a patch touch the mapper file only', () => {
      expect(shopTarget.name).toBe('demo-shop');
      expect(isPatchable(shopTarget, 'functions/shop/catalog-sync.ts')).toBe(true);
      expect(isPatchable(shopTarget, './functions/shop/catalog-sync.ts')).toBe(true);
      expect(isPatchable(shopTarget, 'functions/shop/catalog-sync-r2.ts')).toBe(false);
      expect(isPatchable(shopTarget, 'functions/shop/contract.ts')).toBe(false);
    });

    it('points at a mapper file inside its source root that exports the mapper', async () => {
      const file = path.join(SHOP_REPO_ROOT, shopTarget.mapper.file);

      const module: Record<string, unknown> = await import(pathToFileURL(file).href);

      expect(shopTarget.mapper.file.startsWith(`${shopTarget.sourceRoot}/`)).toBe(true);
      expect(existsSync(file)).toBe(true);
      expect(typeof module[shopTarget.mapper.export]).toBe('function');
    });

    it('documents the feed and the record with their contracts', () => {
      const item = flagshipItem();

      expect(shopTarget.catalogItemContract.safeParse(item).success).toBe(true);
      expect(shopTarget.recordContract.safeParse(item).success).toBe(false);
      expect(
        shopTarget.recordContract.safeParse(toProductRecord(flagshipItem(), NOW.toISOString()))
          .success,
      ).toBe(true);
    });

    it('probes eligibility through the first order that holds the SKU', () => {
      const request = probeNamed('returns-eligibility').request(FLAGSHIP_SKU, { now: NOW });

      expect(request).toEqual({
        method: 'POST',
        path: '/shop/returns/eligibility',
        body: { order_id: FLAGSHIP_ORDER_ID, sku: FLAGSHIP_SKU },
      });
    });

    it('skips the eligibility probe for a SKU nobody ordered', () => {
      const ordered = new Set(
        seedOrders({ now: NOW }).flatMap((order) => order.items.map((line) => line.sku)),
      );
      const unordered = catalog.find((item) => !ordered.has(item.sku));
      if (!unordered) throw new Error('every seed SKU was ordered');

      expect(
        probeNamed('returns-eligibility').request(unordered.sku, { now: NOW }),
      ).toBeUndefined();
    });

    it('probes the product read with the SKU in the path', () => {
      expect(probeNamed('product-read').request('SKU 1/2', { now: NOW })).toEqual({
        method: 'GET',
        path: '/shop/products/SKU%201%2F2',
      });
    });

    it('passes a healthy eligibility answer and fails a SchemaMismatch answer', () => {
      const probe = probeNamed('returns-eligibility');
      const order = findOrder(seedOrders({ now: NOW }), FLAGSHIP_ORDER_ID);
      const request = { order_id: FLAGSHIP_ORDER_ID, sku: FLAGSHIP_SKU };
      const item = flagshipItem();
      const healthy = eligibilityAnswer(
        checkReturnEligibility({
          request,
          record: toProductRecord(item, NOW.toISOString()),
          order,
          now: NOW,
        }),
      );
      const broken = eligibilityAnswer(
        checkReturnEligibility({
          request,
          record: toProductRecordR2(item, NOW.toISOString()),
          order,
          now: NOW,
        }),
      );

      expect(checkProbeResponse(probe, healthy)).toEqual({ passed: true });
      expect(checkProbeResponse(probe, broken)).toEqual({
        passed: false,
        reason: 'status',
        expected: 200,
      });
    });

    it('fails a product read whose body breaks the record contract', () => {
      const item = flagshipItem();
      const body = toProductRecordR2(item, NOW.toISOString());

      const result = checkProbeResponse(probeNamed('product-read'), { status: 200, body });

      expect(result).toMatchObject({
        passed: false,
        reason: 'contract',
        issues: [{ path: ['return_policy'] }],
      });
    });

    it('has smoke cases that a healthy shop passes and a wrong answer fails', () => {
      const flagship = smokeNamed('answers the flagship eligibility check within contract');

      const passes = checkSmokeCase(flagship, {
        status: 200,
        body: { eligible: false, reason: 'final_sale', window_days: 0 },
      });
      const fails = checkSmokeCase(flagship, {
        status: 500,
        body: { error: 'SchemaMismatch', field: 'return_policy' },
      });
      const unknownOrder = checkSmokeCase(smokeNamed('answers 404 for an unknown order'), {
        status: 404,
        body: { error: 'OrderNotFound' },
      });

      expect(passes).toEqual({ passed: true });
      expect(fails).toMatchObject({ passed: false, reason: 'status' });
      expect(unknownOrder).toEqual({ passed: true });
    });

    it('evaluates a predicate smoke expectation', () => {
      const smoke = {
        name: 'teapot',
        request: { method: 'GET' as const, path: '/' },
        expect: (status: number) => status === 418,
      };

      expect(checkSmokeCase(smoke, { status: 418, body: null })).toEqual({ passed: true });
      expect(checkSmokeCase(smoke, { status: 200, body: null })).toEqual({
        passed: false,
        reason: 'predicate',
      });
    });
  });

  describe('resync', () => {
    it('re-derives a record through the given mapper and writes it', async () => {
      const store = new MemoryProductStore();

      const result = await shopTarget.resync(
        FLAGSHIP_SKU,
        resyncDeps(store, toProductRecord as LoadedMapper),
      );

      expect(result).toMatchObject({
        ok: true,
        sku: FLAGSHIP_SKU,
        record: { synced_at: NOW.toISOString() },
      });
      expect((await store.get(FLAGSHIP_SKU))?.record).toEqual(
        result.ok ? result.record : undefined,
      );
    });

    it('writes nothing when the mapper produces a record that breaks the contract', async () => {
      const store = new MemoryProductStore();

      const result = await shopTarget.resync(
        FLAGSHIP_SKU,
        resyncDeps(store, toProductRecordR2 as LoadedMapper),
      );

      expect(result).toMatchObject({
        ok: false,
        reason: 'invalid_record',
        issues: [{ path: ['return_policy'] }],
      });
      expect(await store.get(FLAGSHIP_SKU)).toBeUndefined();
    });

    it('reports a SKU without a stored item, and a mapper that throws', async () => {
      const store = new MemoryProductStore();
      const throwing: LoadedMapper = () => {
        throw new TypeError('cannot read return_policy');
      };

      const missing = await shopTarget.resync(
        'SKU-0000',
        resyncDeps(store, toProductRecord as LoadedMapper),
      );
      const failed = await shopTarget.resync(FLAGSHIP_SKU, resyncDeps(store, throwing));

      expect(missing).toEqual({ ok: false, sku: 'SKU-0000', reason: 'no_snapshot' });
      expect(failed).toEqual({
        ok: false,
        sku: FLAGSHIP_SKU,
        reason: 'mapper_failed',
        message: 'cannot read return_policy',
      });
    });

    it('repairs records R2 damaged once R1 is active again, through the deployer', async () => {
      const store = new MemoryProductStore();
      const deployer = new LocalDeployer({ exportName: shopTarget.mapper.export, dir });
      const r1 = await buildShopRelease('R1');
      await deployer.activate(await buildShopRelease('R2', { parent: r1 }));
      const damaged = catalog.filter((item) => item.category === 'clearance').slice(0, 10);
      const r2Mapper = deployer.active()?.mapper;
      if (!r2Mapper) throw new Error('R2 not active');
      await store.put(
        damaged.map((item) => ({ sku: item.sku, record: r2Mapper(item, NOW.toISOString()) })),
      );
      const order = findOrder(seedOrders({ now: NOW }), FLAGSHIP_ORDER_ID);
      const request = { order_id: FLAGSHIP_ORDER_ID, sku: FLAGSHIP_SKU };
      const before = checkReturnEligibility({
        request,
        record: (await store.get(FLAGSHIP_SKU))?.record,
        order,
        now: NOW,
      });

      await deployer.activate(r1);
      const mapper = deployer.active()?.mapper;
      if (!mapper) throw new Error('R1 not active');
      const results = await Promise.all(
        damaged.map((item) => shopTarget.resync(item.sku, resyncDeps(store, mapper))),
      );

      const after = checkReturnEligibility({
        request,
        record: (await store.get(FLAGSHIP_SKU))?.record,
        order,
        now: NOW,
      });
      expect(before).toMatchObject({ ok: false, kind: 'SchemaMismatch', field: 'return_policy' });
      expect(results.every((result) => result.ok)).toBe(true);
      expect(after).toMatchObject({ ok: true, eligible: true });
    });
  });
});
