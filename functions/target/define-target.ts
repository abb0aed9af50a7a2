import type { z } from 'zod';
import type { CapturedRequest } from '../../events/signal.js';

/**
 * The target manifest: everything the healing system knows about a service it heals. Stages see a
 * target only through this object, so pointing the system at another service means writing one
 * manifest module, not touching the stages.
 */

/** A request to the target's API; the same shape sensors capture and verify replays. */
export type TargetRequest = CapturedRequest;

/** What a probe's request builder may use besides the SKU. */
export interface ProbeContext {
  /** The probe run's clock reading, for targets whose fixtures depend on time. */
  readonly now: Date;
}

/** A check of the live API for one SKU, run after catalog changes and on a schedule. */
export interface TargetProbe {
  readonly name: string;
  /** The request that exercises `sku`, or `undefined` when the probe does not apply to it. */
  readonly request: (sku: string, ctx: ProbeContext) => TargetRequest | undefined;
  /** What a healthy response body looks like. */
  readonly responseContract: z.ZodType;
  /** Status of a healthy response (default 200). */
  readonly expectStatus?: number;
}

/** A predicate over a response, for expectations a contract cannot say. */
export type ResponsePredicate = (status: number, body: unknown) => boolean;

/** A healthy response: this status and, when given, a body satisfying the contract. */
export interface ResponseContractExpectation {
  readonly status: number;
  readonly contract?: z.ZodType;
}

/** A fixed request a candidate release must still answer correctly before it ships. */
export interface SmokeCase {
  readonly name: string;
  /** SKUs whose records the case reads: verification syncs them into its sandbox first. */
  readonly skus?: readonly string[];
  readonly request: TargetRequest;
  readonly expect: ResponsePredicate | ResponseContractExpectation;
}

/**
 * The mapper as loaded from a release bundle at runtime. Its input is whatever the feed sent, so
 * it is typed by what a caller can promise, not by the target's own item type.
 */
export type LoadedMapper = (item: unknown, syncedAt: string) => unknown;

/** What re-syncing one SKU needs from the caller (the heal stage's backfill). */
export interface ResyncDeps {
  /** The last upstream item stored for the SKU (the ingest snapshot), if any. */
  readonly snapshotOf: (sku: string) => Promise<unknown>;
  /** Stores the record the mapper produced. */
  readonly write: (product: { readonly sku: string; readonly record: unknown }) => Promise<void>;
  /** The mapper of the release to re-sync through (normally the newly activated one). */
  readonly mapper: LoadedMapper;
  readonly now: () => Date;
  /**
   * Whether a record that still breaks the contract in these top-level fields may be written
   * anyway: the caller knows those fields belong to another fault that broke them before (two
   * faults in one push), so the record is no worse than the stored one and this fix is in it.
   * Absent: never.
   */
  readonly toleratesBroken?: (sku: string, fields: readonly string[]) => Promise<boolean>;
}

/** The outcome of re-syncing one SKU; refusals are values and write nothing. */
export type ResyncResult =
  | { readonly ok: true; readonly sku: string; readonly record: unknown }
  | { readonly ok: false; readonly sku: string; readonly reason: 'no_snapshot' }
  | {
      readonly ok: false;
      readonly sku: string;
      /** The mapper threw on the stored item. */
      readonly reason: 'mapper_failed';
      readonly message: string;
    }
  | {
      readonly ok: false;
      readonly sku: string;
      /** The mapped record breaks the record contract. */
      readonly reason: 'invalid_record';
      readonly issues: readonly z.core.$ZodIssue[];
    };

/** A response as the sandboxed target answers it. */
export interface TargetResponse {
  readonly status: number;
  readonly body: unknown;
}

/**
 * What a target offers verification inside the sandbox: its contracts, probes and smoke cases,
 * and its API answering from records held in memory (the records a candidate release mapped).
 */
export interface SandboxTarget {
  readonly manifest: Pick<TargetManifest, 'name' | 'recordContract' | 'probes' | 'smokeCases'>;
  /** Serves the target's API from `records` (by SKU), with the clock fixed at `now`. */
  readonly serve: (options: {
    readonly records: ReadonlyMap<string, unknown>;
    readonly now: Date;
  }) => (request: TargetRequest) => Promise<TargetResponse>;
}

/** Which deployer ships the target's releases. */
export type TargetDeployer = 'local' | 'lambda';

export interface TargetManifest {
  /** Unique name, used as the `target` of incidents, signals and releases. */
  readonly name: string;
  /** Repository-relative directory of the target's source. */
  readonly sourceRoot: string;
  /** Repository-relative globs (`*`, `**`, `?`) of the files a patch may change. */
  readonly patchable: readonly string[];
  /**
   * Repository-relative globs of files a patch must never change, even when `patchable` would
   * allow it: the record contract, the validators, the tests. A fix that edits what decides a
   * record is broken hides the fault instead of healing it.
   */
  readonly protectedFiles: readonly string[];
  /**
   * The module verification loads inside its sandbox (repository-relative file and export, a
   * {@link SandboxTarget}): the target's API served from in-memory records. It is bundled alone,
   * so it must not import the healing system, databases or the network.
   */
  readonly sandbox: { readonly file: string; readonly export: string };
  /** The sync mapper: the repository-relative file and the name of its export. */
  readonly mapper: { readonly file: string; readonly export: string };
  /** A stored record as the target's readers require it. */
  readonly recordContract: z.ZodType;
  /** The documented upstream catalog item. */
  readonly catalogItemContract: z.ZodType;
  readonly probes: readonly TargetProbe[];
  readonly smokeCases: readonly SmokeCase[];
  /** Re-derives one SKU's record from its stored upstream item; used to backfill. */
  readonly resync: (sku: string, deps: ResyncDeps) => Promise<ResyncResult>;
  readonly deployer: TargetDeployer;
}

/**
 * Declares a target. An identity function: it checks the manifest against {@link TargetManifest}
 * at compile time and keeps the literal types of the object it is given.
 *
 * @example
 * ```ts
 * export const myTarget = defineTarget({
 *   name: 'my-shop',
 *   sourceRoot: 'src/shop',
 *   patchable: ['src/shop/sync.ts'],
 *   mapper: { file: 'src/shop/sync.ts', export: 'toRecord' },
 *   // …contracts, probes, smokeCases, resync
 *   deployer: 'local',
 * });
 * ```
 */
export function defineTarget<const M extends TargetManifest>(manifest: M): M {
  return manifest;
}

/** True when the repository-relative `file` matches one of the manifest's patchable globs. */
export function isPatchable(manifest: Pick<TargetManifest, 'patchable'>, file: string): boolean {
  const normalized = file.replaceAll('\\', '/').replace(/^\.\//, '');
  return manifest.patchable.some((glob) => globToRegExp(glob).test(normalized));
}

/**
 * Compiles a path glob: `**` spans directories, `*` and `?` stay within one path segment.
 * Everything else matches literally.
 */
export function globToRegExp(glob: string): RegExp {
  let pattern = '';
  for (let index = 0; index < glob.length; index++) {
    const char = glob[index] ?? '';
    if (char === '*' && glob[index + 1] === '*') {
      // `**/` also matches no directory at all, so `a/**/b` matches `a/b`.
      const slash = glob[index + 2] === '/';
      pattern += slash ? '(?:.*/)?' : '.*';
      index += slash ? 2 : 1;
    } else if (char === '*') pattern += '[^/]*';
    else if (char === '?') pattern += '[^/]';
    else pattern += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${pattern}$`);
}
