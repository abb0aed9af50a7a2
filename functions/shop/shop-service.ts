import { createSnapshotRepository, snapshotKey } from '../ingest/snapshots.js';
import type { KeyValue } from '../ports/kv.js';
import { LocalDeployer } from '../target/local-deployer.js';
import type { PointerLocation, SharedDeployer } from '../target/release-pointer.js';
import type { Release } from '../target/releases.js';
import type { SyncResult, TargetRuntime } from '../target/target-runtime.js';
import { shopTarget } from './manifest.js';
import { type Order, seedOrders } from './orders.js';
import type { ProductStore, StoredProduct } from './product-store.js';
import { createKvProductStore } from './records-repo.js';
import { buildShopRelease, SHOP_REPO_ROOT, type ShopReleaseId } from './releases.js';
import { seedCatalog } from './seed.js';

export interface ShopServiceOptions {
  readonly kv: KeyValue;
  /** The table product records live in (pk `pk`). */
  readonly table: string;
  /** The catalog snapshots table (pk `pk`, sk `sk`) the ingest stage maintains. */
  readonly snapshotsTable: string;
  /** Where release bundles are kept (content-addressed). */
  readonly releasesDir?: string;
  /**
   * Index shards of the product store (default {@link SHOP_INDEX_SHARDS}). Every sync rewrites
   * the shards its SKUs fall in, so fewer shards mean fewer writes per sync and larger items:
   * 16 suit catalogs up to a few tens of thousands of SKUs (about 50 KB a shard at 10,000).
   */
  readonly indexShards?: number;
  /**
   * `seed` (default): start from release R1 and the seed catalog, as the local runtime does.
   * `attach`: join a shop whose state already lives in the stores, as each Lambda cold start
   * does: nothing is reset, the active release is the persisted pointer's (R1 when there is
   * none yet), and {@link TargetRuntime.refresh} follows the pointer when another function moves
   * it.
   */
  readonly start?: 'seed' | 'attach';
  /** Where the active release pointer persists; required by `attach`. */
  readonly pointer?: PointerLocation;
  /**
   * Ships the shop's releases (default: a {@link LocalDeployer} on `pointer`). Given, it records
   * the pointer itself, e.g. a `PointerDeployer` around the Lambda deployer.
   */
  readonly deployer?: SharedDeployer;
  /** The source tree the releases are built from (default {@link SHOP_REPO_ROOT}). */
  readonly repoRoot?: string;
  /** A release that is not one of the shop's own (a verified candidate), by id. */
  readonly resolveRelease?: (id: string) => Promise<Release | undefined>;
  readonly now?: () => Date;
}

/** Index shards of the demo shop's product store. */
export const SHOP_INDEX_SHARDS = 16;

/** The demo shop running in this process: its records, orders, releases and sync. */
export interface ShopService extends TargetRuntime {
  readonly orders: readonly Order[];
  /** Restores release R1 and the seed catalog, synced through R1. */
  reset(): Promise<void>;
  /** Activates one of the shop's built-in releases by id (R1, R2, R3). */
  activateBuiltIn(id: ShopReleaseId): Promise<Release>;
  /** Every SKU the shop has stored a record for. */
  skus(): Promise<string[]>;
  /**
   * Whether the shop's API answers. Switched off, the HTTP front drops every `/shop/*`
   * connection without an answer, as a dead load balancer does: the outage scenario's fault.
   * `reset()` switches it back on.
   */
  available(): boolean;
  setAvailable(available: boolean): void;
}

/**
 * Builds R1, R2 and R3, activates R1 and loads the seed catalog, so the shop answers as soon as the
 * promise resolves.
 */
export async function createShopService(options: ShopServiceOptions): Promise<ShopService> {
  const now = options.now ?? (() => new Date());
  const records: ProductStore = createKvProductStore(options.kv, {
    table: options.table,
    indexShards: options.indexShards ?? SHOP_INDEX_SHARDS,
  });
  const start = options.start ?? 'seed';
  if (start === 'attach' && !options.pointer && !options.deployer) {
    throw new Error('attaching to the shop needs the release pointer location');
  }
  const deployer: SharedDeployer =
    options.deployer ??
    new LocalDeployer({
      exportName: shopTarget.mapper.export,
      ...(options.releasesDir ? { dir: options.releasesDir } : {}),
      ...(options.pointer ? { pointer: options.pointer } : {}),
    });
  const repoRoot = options.repoRoot ?? SHOP_REPO_ROOT;
  const r1 = await buildShopRelease('R1', { repoRoot });
  const r2 = await buildShopRelease('R2', { parent: r1, repoRoot });
  const r3 = await buildShopRelease('R3', { parent: r1, repoRoot });
  const releases = new Map<string, Release>([
    [r1.id, r1],
    [r2.id, r2],
    [r3.id, r3],
  ]);
  const orders = seedOrders({ now: now() });
  const snapshots = createSnapshotRepository(options.kv, { table: options.snapshotsTable });
  // SKUs the shop has synced, for the scheduled probe's rotation.
  const known = new Set<string>();
  let up = true;

  const activate = async (release: Release): Promise<Release> => {
    const result = await deployer.activate(release);
    if (!result.ok) throw new Error(`release ${release.id} refused: ${result.reason}`);
    return release;
  };

  const addRelease = (release: Release): void => {
    if (!releases.has(release.id)) releases.set(release.id, release);
  };

  /** Adopts the release the persisted pointer names, when it is not the one loaded here. */
  const follow = async (): Promise<void> => {
    const pointer = await deployer.persistedPointer();
    const wanted = pointer ?? { release_id: r1.id, hash: r1.hash };
    if (deployer.active()?.release.hash === wanted.hash) return;
    const release =
      releases.get(wanted.release_id) ?? (await options.resolveRelease?.(wanted.release_id));
    if (!release || release.hash !== wanted.hash) {
      throw new Error(
        `the active release ${wanted.release_id} (${wanted.hash}) is not available to this process`,
      );
    }
    addRelease(release);
    const result = await deployer.adopt(release);
    if (!result.ok) throw new Error(`release ${release.id} refused: ${result.reason}`);
  };

  const sync = async (batch: readonly unknown[], syncedAt: string): Promise<SyncResult> => {
    const active = deployer.active();
    if (!active) throw new Error('no active release');
    const products: StoredProduct[] = [];
    const failed: Array<{ sku: string; error: string }> = [];
    for (const item of batch) {
      const sku = skuOf(item);
      if (!sku) continue;
      try {
        products.push({ sku, record: active.mapper(item, syncedAt) });
        known.add(sku);
      } catch (error) {
        failed.push({ sku, error: error instanceof Error ? error.message : String(error) });
      }
    }
    await records.put(products);
    return {
      release_id: active.release.id,
      written: products.map((p) => p.sku),
      failed,
      committed_at: new Date().toISOString(),
    };
  };

  const service: ShopService = {
    manifest: shopTarget,
    records,
    deployer,
    orders,
    repoRoot,
    release: (id) => releases.get(id),
    addRelease,
    sync,
    ...(start === 'attach' ? { refresh: follow } : {}),
    async catalogItems(skus) {
      const stored = await snapshots.getSnapshots(skus);
      return new Map([...stored].map(([sku, snapshot]) => [sku, snapshot.item as unknown]));
    },
    async activateBuiltIn(id) {
      const release = releases.get(id);
      if (!release) throw new Error(`unknown release ${id}`);
      return activate(release);
    },
    async skus() {
      return [...known];
    },
    available: () => up,
    setAvailable(available) {
      up = available;
    },
    async reset() {
      up = true;
      await activate(r1);
      const existing = await records.snapshot();
      await records.delete(existing.skus);
      const seed = seedCatalog();
      // Snapshots refuse older items by design; a reset deletes them so the seed's own
      // timestamps become the baseline the next push is diffed against.
      const skus = new Set([...existing.skus, ...known, ...seed.map((item) => item.sku)]);
      await options.kv.deleteMany(
        options.snapshotsTable,
        [...skus].map((sku) => snapshotKey(sku)),
      );
      known.clear();
      await snapshots.putSnapshots(seed);
      await sync(seed, now().toISOString());
    },
  };
  if (start === 'attach') await follow();
  else await service.reset();
  return service;
}

const skuOf = (item: unknown): string | undefined =>
  typeof item === 'object' && item !== null && typeof (item as { sku?: unknown }).sku === 'string'
    ? (item as { sku: string }).sku
    : undefined;
