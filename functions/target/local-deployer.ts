import path from 'node:path';
import type { ActivationResult, ActiveRelease, RollbackResult } from './deployer.js';
import { ReleaseLoader } from './release-loader.js';
import {
  type PersistedPointer,
  type PointerLocation,
  readPointer,
  type SharedDeployer,
  writePointer,
} from './release-pointer.js';
import type { Release } from './releases.js';

export interface LocalDeployerOptions {
  /** Name of the mapper export every bundle must provide (the manifest's `mapper.export`). */
  readonly exportName: string;
  /** Directory of the content-addressed bundles (default `.data/releases` in the working dir). */
  readonly dir?: string;
  /** Also persist the active pointer through the KeyValue port. */
  readonly pointer?: PointerLocation;
  readonly now?: () => Date;
}

/**
 * The local Deployer: hot reload without a restart.
 *
 * Bundles are written once to `<dir>/<hash>.mjs` and loaded with a dynamic `import()` of that
 * file ({@link ReleaseLoader}): a name that changes with the content is what makes a reload see
 * new code. Activation loads the bundle and checks the mapper export *before* the
 * pointer swaps, so a broken bundle never becomes active. Activations and rollbacks run one at a
 * time.
 *
 * @example
 * ```ts
 * const deployer = new LocalDeployer({ exportName: shopTarget.mapper.export });
 * await deployer.activate(r1);
 * deployer.active()?.mapper(item, new Date().toISOString());
 * ```
 */
export class LocalDeployer implements SharedDeployer {
  readonly dir: string;
  readonly #pointer: PointerLocation | undefined;
  readonly #now: () => Date;
  readonly #loader: ReleaseLoader;
  readonly #known = new Map<string, Release>();
  /** Releases that were active before the current one, most recent last. */
  readonly #history: ActiveRelease[] = [];
  #active: ActiveRelease | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: LocalDeployerOptions) {
    this.#loader = new ReleaseLoader({
      exportName: options.exportName,
      dir: options.dir ?? path.join('.data', 'releases'),
    });
    this.dir = this.#loader.dir;
    this.#pointer = options.pointer;
    this.#now = options.now ?? (() => new Date());
  }

  activate(release: Release): Promise<ActivationResult> {
    return this.#switchTo(release, { persist: true });
  }

  /**
   * Makes `release` active in this process only, because another process already activated it
   * and recorded the pointer (a stage function catching up with a heal that ran elsewhere).
   * Nothing is persisted; the release is loaded and checked as {@link activate} does.
   */
  adopt(release: Release): Promise<ActivationResult> {
    return this.#switchTo(release, { persist: false });
  }

  #switchTo(release: Release, options: { persist: boolean }): Promise<ActivationResult> {
    return this.#serial(async () => {
      const current = this.#active;
      if (current?.release.hash === release.hash) {
        return { ok: true, changed: false, release: current.release, previous: null };
      }
      const loaded = await this.#loader.load(release);
      if (!loaded.ok) return loaded.refusal;
      const next = { release, mapper: loaded.mapper };
      if (options.persist) await this.#swap(next);
      else this.#remember(next);
      if (current) this.#history.push(current);
      return { ok: true, changed: true, release, previous: current?.release ?? null };
    });
  }

  rollback(): Promise<RollbackResult> {
    return this.#serial(async () => {
      const current = this.#active;
      const previous = this.#history.at(-1);
      if (!previous) return { ok: false, reason: 'nothing_to_roll_back' };
      await this.#swap(previous);
      this.#history.pop();
      return {
        ok: true,
        changed: true,
        release: previous.release,
        previous: current?.release ?? null,
      };
    });
  }

  active(): ActiveRelease | undefined {
    return this.#active;
  }

  list(): readonly Release[] {
    return [...this.#known.values()];
  }

  /** The bundle file of a release hash. */
  fileOf(hash: string): string {
    return this.#loader.fileOf(hash);
  }

  /** The pointer persisted by a previous activation (this process or an earlier one), if any. */
  async persistedPointer(): Promise<PersistedPointer | undefined> {
    return this.#pointer ? readPointer(this.#pointer) : undefined;
  }

  /** Persists the pointer (when configured) and then swaps it in memory. */
  async #swap(next: ActiveRelease): Promise<void> {
    const at = this.#now();
    if (this.#pointer) await writePointer(this.#pointer, next.release, at);
    this.#remember({ ...next, activated_at: at.toISOString() });
  }

  #remember(next: ActiveRelease): void {
    this.#active = next;
    if (!this.#known.has(next.release.hash)) this.#known.set(next.release.hash, next.release);
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
