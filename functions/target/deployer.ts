import type { LoadedMapper } from './define-target.js';
import type { Release } from './releases.js';

/** The release a deployer serves and the mapper loaded from its bundle. */
export interface ActiveRelease {
  readonly release: Release;
  readonly mapper: LoadedMapper;
  /**
   * When this process made the release active (ISO 8601); absent when it only adopted a release
   * another process activated.
   */
  readonly activated_at?: string;
}

/** Why a release was not made active. The previous release stays active in every case. */
export type ActivationRefusal =
  /** `release.hash` is not the SHA-256 of `release.bundle`. */
  | 'hash_mismatch'
  /** The bundle failed to load (syntax error, throwing top-level code). */
  | 'import_failed'
  /** The bundle loaded but the mapper export is missing or not a function. */
  | 'export_missing'
  /**
   * The platform refused a step in a way trying again will not fix (a Lambda function that does
   * not exist, missing permissions, a package Lambda rejects, an update that failed). Failures a
   * later attempt may not meet (throttling, a conflicting update) are thrown instead.
   */
  | 'deploy_failed';

/** The outcome of an activation or rollback; a refusal is a value, not an exception. */
export type ActivationResult =
  | {
      readonly ok: true;
      /** False when the release was already active: activating it again is a no-op. */
      readonly changed: boolean;
      readonly release: Release;
      readonly previous: Release | null;
    }
  | {
      readonly ok: false;
      readonly reason: ActivationRefusal;
      readonly release: Release;
      readonly message: string;
    };

export type RollbackResult =
  | ActivationResult
  | { readonly ok: false; readonly reason: 'nothing_to_roll_back' };

/**
 * The Deployer port: ships a target's releases with a way back. The local deployer hot-reloads
 * bundles in process; a Lambda deployer shifts an alias between published versions.
 */
export interface Deployer {
  /** Makes `release` the active one, once its bundle has loaded and exports the mapper. */
  activate(release: Release): Promise<ActivationResult>;
  /** Re-activates the release that was active before the current one. */
  rollback(): Promise<RollbackResult>;
  /** The active release and its mapper; `undefined` before the first activation. */
  active(): ActiveRelease | undefined;
  /** Every release this deployer has activated, in order of first activation. */
  list(): readonly Release[];
}
