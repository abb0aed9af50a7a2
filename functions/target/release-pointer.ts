import type { KeyValue } from '../ports/kv.js';
import type { ActivationResult, ActiveRelease, Deployer, RollbackResult } from './deployer.js';
import type { Release } from './releases.js';

/** Where the active release pointer is persisted, so it survives in the key-value store. */
export interface PointerLocation {
  readonly kv: KeyValue;
  /** Table with a string partition key `pk` (the system's `kv` table). */
  readonly table: string;
  /** Partition key of the pointer item, e.g. `active-release#demo-shop`. */
  readonly key: string;
}

/** The persisted pointer item's fields (besides `pk`). */
export interface PersistedPointer {
  readonly release_id: string;
  readonly hash: string;
  readonly parent_id: string | null;
  readonly activated_at: string;
}

/** The pointer at `location`, if one was written. */
export async function readPointer(
  location: PointerLocation,
): Promise<PersistedPointer | undefined> {
  const item = await location.kv.get(location.table, { pk: location.key });
  if (!item || typeof item.release_id !== 'string' || typeof item.hash !== 'string') {
    return undefined;
  }
  return {
    release_id: item.release_id,
    hash: item.hash,
    parent_id: typeof item.parent_id === 'string' ? item.parent_id : null,
    activated_at: typeof item.activated_at === 'string' ? item.activated_at : '',
  };
}

/** Records `release` as the active one at `location`. */
export async function writePointer(
  location: PointerLocation,
  release: Release,
  at: Date,
): Promise<void> {
  const pointer: PersistedPointer = {
    release_id: release.id,
    hash: release.hash,
    parent_id: release.parent_id,
    activated_at: at.toISOString(),
  };
  await location.kv.put(location.table, { pk: location.key, ...pointer });
}

/**
 * A deployer whose active release several processes share through a persisted pointer: one
 * activates (and records the pointer), the others {@link SharedDeployer.adopt} what the pointer
 * names.
 */
export interface SharedDeployer extends Deployer {
  /** Makes `release` active in this process because another one already activated it. */
  adopt(release: Release): Promise<ActivationResult>;
  /** The pointer the last activation recorded, in this process or another. */
  persistedPointer(): Promise<PersistedPointer | undefined>;
}

/**
 * Shares the active release of a deployer that ships releases somewhere outside the process (the
 * Lambda deployer: a function's alias): every activation and rollback that succeeds is recorded
 * in the pointer, and adopting a release activates it through the deployer, which costs nothing
 * when the release is already what it serves (the Lambda deployer then uploads nothing).
 *
 * @example
 * ```ts
 * const deployer = new PointerDeployer(new LambdaDeployer(settings), pointer);
 * await deployer.activate(candidate); // alias moved, then the pointer
 * ```
 */
export class PointerDeployer implements SharedDeployer {
  readonly #inner: Deployer;
  readonly #pointer: PointerLocation;
  readonly #now: () => Date;

  constructor(inner: Deployer, pointer: PointerLocation, now: () => Date = () => new Date()) {
    this.#inner = inner;
    this.#pointer = pointer;
    this.#now = now;
  }

  async activate(release: Release): Promise<ActivationResult> {
    const result = await this.#inner.activate(release);
    if (result.ok) await writePointer(this.#pointer, result.release, this.#now());
    return result;
  }

  async rollback(): Promise<RollbackResult> {
    const result = await this.#inner.rollback();
    if (result.ok) await writePointer(this.#pointer, result.release, this.#now());
    return result;
  }

  adopt(release: Release): Promise<ActivationResult> {
    return this.#inner.activate(release);
  }

  persistedPointer(): Promise<PersistedPointer | undefined> {
    return readPointer(this.#pointer);
  }

  active(): ActiveRelease | undefined {
    return this.#inner.active();
  }

  list(): readonly Release[] {
    return this.#inner.list();
  }
}
