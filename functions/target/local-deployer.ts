import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { KeyValue } from '../ports/kv.js';
import type { LoadedMapper } from './define-target.js';
import type {
  ActivationRefusal,
  ActivationResult,
  ActiveRelease,
  Deployer,
  RollbackResult,
} from './deployer.js';
import { type Release, sha256 } from './releases.js';

/** Where the active release pointer is persisted, so it survives in the key-value store. */
export interface PointerLocation {
  readonly kv: KeyValue;
  /** Table with a string partition key `pk` (the system's `kv` table). */
  readonly table: string;
  /** Partition key of the pointer item, e.g. `release#demo-shop`. */
  readonly key: string;
}

/** The persisted pointer item's fields (besides `pk`). */
export interface PersistedPointer {
  readonly release_id: string;
  readonly hash: string;
  readonly parent_id: string | null;
  readonly activated_at: string;
}

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
 * file. Node caches ES modules by URL and never evicts them, so a name that changed with the
 * content is what makes a reload see new code; the same hash is the same code, and its cached
 * module is exactly right. Activation loads the bundle and checks the mapper export *before* the
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
export class LocalDeployer implements Deployer {
  readonly dir: string;
  readonly #exportName: string;
  readonly #pointer: PointerLocation | undefined;
  readonly #now: () => Date;
  readonly #loaded = new Map<string, LoadedMapper>();
  readonly #known = new Map<string, Release>();
  /** Releases that were active before the current one, most recent last. */
  readonly #history: ActiveRelease[] = [];
  #active: ActiveRelease | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: LocalDeployerOptions) {
    this.dir = path.resolve(options.dir ?? path.join('.data', 'releases'));
    this.#exportName = options.exportName;
    this.#pointer = options.pointer;
    this.#now = options.now ?? (() => new Date());
  }

  activate(release: Release): Promise<ActivationResult> {
    return this.#serial(async () => {
      const current = this.#active;
      if (current?.release.hash === release.hash) {
        return { ok: true, changed: false, release: current.release, previous: null };
      }
      const loaded = await this.#load(release);
      if (!loaded.ok) return loaded.refusal;
      await this.#swap({ release, mapper: loaded.mapper });
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
    return path.join(this.dir, `${hash}.mjs`);
  }

  /** The pointer persisted by a previous activation (this process or an earlier one), if any. */
  async persistedPointer(): Promise<PersistedPointer | undefined> {
    if (!this.#pointer) return undefined;
    const item = await this.#pointer.kv.get(this.#pointer.table, { pk: this.#pointer.key });
    if (!item || typeof item.release_id !== 'string' || typeof item.hash !== 'string')
      return undefined;
    return {
      release_id: item.release_id,
      hash: item.hash,
      parent_id: typeof item.parent_id === 'string' ? item.parent_id : null,
      activated_at: typeof item.activated_at === 'string' ? item.activated_at : '',
    };
  }

  async #load(
    release: Release,
  ): Promise<
    | { readonly ok: true; readonly mapper: LoadedMapper }
    | { readonly ok: false; readonly refusal: Extract<ActivationResult, { ok: false }> }
  > {
    const refuse = (reason: ActivationRefusal, message: string) =>
      ({ ok: false, refusal: { ok: false, reason, release, message } }) as const;

    // Checked even for a cached hash, so a release object whose bundle was altered is never the
    // one recorded as active.
    if (sha256(release.bundle) !== release.hash) {
      return refuse('hash_mismatch', `bundle of ${release.id} does not hash to ${release.hash}`);
    }
    const cached = this.#loaded.get(release.hash);
    if (cached) return { ok: true, mapper: cached };

    const file = await this.#writeBundle(release);
    let namespace: Record<string, unknown>;
    try {
      namespace = await import(pathToFileURL(file).href);
    } catch (error) {
      return refuse('import_failed', error instanceof Error ? error.message : String(error));
    }
    const mapper = namespace[this.#exportName];
    if (typeof mapper !== 'function') {
      return refuse(
        'export_missing',
        `bundle of ${release.id} has no function export ${this.#exportName} (found ${typeof mapper})`,
      );
    }
    const loaded = mapper as LoadedMapper;
    this.#loaded.set(release.hash, loaded);
    return { ok: true, mapper: loaded };
  }

  /** Writes the bundle unless an intact copy is already there; atomic via rename. */
  async #writeBundle(release: Release): Promise<string> {
    const file = this.fileOf(release.hash);
    const existing = await readFile(file, 'utf8').catch(() => undefined);
    if (existing !== undefined && sha256(existing) === release.hash) return file;
    await mkdir(this.dir, { recursive: true });
    const temporary = `${file}.${randomUUID()}.tmp`;
    await writeFile(temporary, release.bundle, 'utf8');
    await rename(temporary, file);
    return file;
  }

  /** Persists the pointer (when configured) and then swaps it in memory. */
  async #swap(next: ActiveRelease): Promise<void> {
    if (this.#pointer) {
      const pointer: PersistedPointer = {
        release_id: next.release.id,
        hash: next.release.hash,
        parent_id: next.release.parent_id,
        activated_at: this.#now().toISOString(),
      };
      await this.#pointer.kv.put(this.#pointer.table, { pk: this.#pointer.key, ...pointer });
    }
    this.#active = next;
    if (!this.#known.has(next.release.hash)) this.#known.set(next.release.hash, next.release);
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
