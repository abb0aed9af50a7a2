import type { ProductStore } from '../shop/product-store.js';
import type { TargetManifest } from './define-target.js';
import type { Deployer } from './deployer.js';
import type { Release } from './releases.js';

/** What one sync of catalog items through the active release did. */
export interface SyncResult {
  readonly release_id: string;
  /** SKUs whose records were written. */
  readonly written: readonly string[];
  /** Items the mapper threw on; nothing was written for them. */
  readonly failed: ReadonlyArray<{ sku: string; error: string }>;
  /** When the records were committed (the store's write returned). */
  readonly committed_at: string;
}

/**
 * A running target as the healing system reaches it: its manifest, the records its sync wrote,
 * the deployer that serves its releases, and its sync. Stages receive it through the ports and
 * never import the target's modules.
 */
export interface TargetRuntime {
  readonly manifest: TargetManifest;
  /** The records the target's sync wrote, read back as stored. */
  readonly records: ProductStore;
  readonly deployer: Deployer;
  /** Absolute directory the manifest's repository-relative paths resolve from. */
  readonly repoRoot: string;
  /** Releases known to the target, by id. */
  release(id: string): Release | undefined;
  /** Makes a release built elsewhere (a verified candidate) known by its id. */
  addRelease(release: Release): void;
  /** Maps items through the active release and writes the records. */
  sync(items: readonly unknown[], syncedAt: string): Promise<SyncResult>;
  /**
   * Catches up with what other processes recorded (the active release a heal in another
   * function activated). Stage handlers call it before each batch; a target living in one
   * process has nothing to catch up with and leaves it out.
   */
  refresh?(): Promise<void>;
  /** The catalog items last pushed for SKUs (their snapshots), for backfill and replay. */
  catalogItems(skus: readonly string[]): Promise<Map<string, unknown>>;
}
