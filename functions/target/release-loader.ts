import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LoadedMapper } from './define-target.js';
import type { ActivationRefusal, ActivationResult } from './deployer.js';
import { type Release, sha256 } from './releases.js';

/** A refusal as the deployers answer it. */
export type Refusal = Extract<ActivationResult, { ok: false }>;

/** The mapper of a release, or why the release cannot serve one. */
export type LoadResult =
  | { readonly ok: true; readonly mapper: LoadedMapper }
  | { readonly ok: false; readonly refusal: Refusal };

export interface ReleaseLoaderOptions {
  /** Name of the mapper export every bundle must provide (the manifest's `mapper.export`). */
  readonly exportName: string;
  /** Directory the bundles are written to before they are imported. */
  readonly dir: string;
}

/**
 * Loads the mapper of a release into this process, for every deployer: checks that the bundle
 * hashes to the release's hash, writes it once to `<dir>/<hash>.mjs` and imports that file.
 *
 * Node caches ES modules by URL and never evicts them, so a name that changes with the content is
 * what makes a reload see new code; the same hash is the same code, and its cached module is
 * exactly right.
 *
 * @example
 * ```ts
 * const loader = new ReleaseLoader({ exportName: 'toProductRecord', dir: '.data/releases' });
 * const loaded = await loader.load(release);
 * if (loaded.ok) loaded.mapper(item, new Date().toISOString());
 * ```
 */
export class ReleaseLoader {
  readonly dir: string;
  readonly exportName: string;
  readonly #loaded = new Map<string, LoadedMapper>();

  constructor(options: ReleaseLoaderOptions) {
    this.dir = path.resolve(options.dir);
    this.exportName = options.exportName;
  }

  /** The bundle file of a release hash. */
  fileOf(hash: string): string {
    return path.join(this.dir, `${hash}.mjs`);
  }

  /**
   * The release's mapper, or a refusal: `hash_mismatch` (checked first, with no other work),
   * `import_failed` or `export_missing`.
   */
  async load(release: Release): Promise<LoadResult> {
    // Checked even for a cached hash, so a release object whose bundle was altered is never the
    // one recorded as active.
    const mismatch = hashMismatchOf(release);
    if (mismatch) return { ok: false, refusal: mismatch };
    const cached = this.#loaded.get(release.hash);
    if (cached) return { ok: true, mapper: cached };

    const file = await this.#writeBundle(release);
    let namespace: Record<string, unknown>;
    try {
      namespace = await import(pathToFileURL(file).href);
    } catch (error) {
      return refuse(
        release,
        'import_failed',
        error instanceof Error ? error.message : String(error),
      );
    }
    const mapper = namespace[this.exportName];
    if (typeof mapper !== 'function') {
      return refuse(
        release,
        'export_missing',
        `bundle of ${release.id} has no function export ${this.exportName} (found ${typeof mapper})`,
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
}

/** The `hash_mismatch` refusal of a release whose bundle does not hash to its hash, if so. */
export function hashMismatchOf(release: Release): Refusal | undefined {
  if (sha256(release.bundle) === release.hash) return undefined;
  return {
    ok: false,
    reason: 'hash_mismatch',
    release,
    message: `bundle of ${release.id} does not hash to ${release.hash}`,
  };
}

const refuse = (release: Release, reason: ActivationRefusal, message: string): LoadResult => ({
  ok: false,
  refusal: { ok: false, reason, release, message },
});
