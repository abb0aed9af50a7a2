import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import {
  type AliasConfiguration,
  CreateAliasCommand,
  type FunctionConfiguration,
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  LambdaClient,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
} from '@aws-sdk/client-lambda';
import { type Config, ConfigError } from '../runtime/config.js';
import type { ActivationResult, ActiveRelease, Deployer, RollbackResult } from './deployer.js';
import { hashMismatchOf, type Refusal, ReleaseLoader } from './release-loader.js';
import type { Release } from './releases.js';
import { createZipArchive } from './zip-archive.js';

/** The alias the target's callers invoke, unless configured otherwise. */
export const DEFAULT_LAMBDA_ALIAS = 'live';
/** The file the release bundle becomes in the deployment package, unless configured otherwise. */
export const DEFAULT_LAMBDA_MODULE_FILE = 'index.mjs';
/** How long a code update may stay `InProgress` before the activation gives up (and may retry). */
export const DEFAULT_LAMBDA_UPDATE_TIMEOUT_MS = 60_000;

/** The Lambda API operations the deployer calls, as they name the failing step in errors. */
export type LambdaOperation =
  | 'GetAlias'
  | 'GetFunctionConfiguration'
  | 'UpdateFunctionCode'
  | 'PublishVersion'
  | 'UpdateAlias'
  | 'CreateAlias';

export interface LambdaDeployerOptions {
  /** The target's sync function: name, ARN or partial ARN (unqualified). */
  readonly functionName: string;
  /** Name of the mapper export every bundle must provide (the manifest's `mapper.export`). */
  readonly exportName: string;
  /** The alias shifted between versions (default {@link DEFAULT_LAMBDA_ALIAS}). */
  readonly alias?: string;
  /** The bundle's file name in the package (default {@link DEFAULT_LAMBDA_MODULE_FILE}). */
  readonly moduleFile?: string;
  /**
   * Default: a client whose region, credentials and endpoint come from the SDK's chains
   * (`AWS_REGION`, the function's role, `AWS_ENDPOINT_URL_LAMBDA` / `AWS_ENDPOINT_URL`).
   */
  readonly client?: LambdaClient;
  /** Attempts per API call of the default client, throttling included (SDK default 3). */
  readonly maxAttempts?: number;
  /** Where bundles are written to load the mapper locally (default: the OS temp dir; /tmp in Lambda). */
  readonly dir?: string;
  /** Default {@link DEFAULT_LAMBDA_UPDATE_TIMEOUT_MS}. */
  readonly updateTimeoutMs?: number;
  /** How often a code update in progress is looked at (default 1 s). */
  readonly pollIntervalMs?: number;
}

/** A release shipped to Lambda: its mapper loaded here and the function version that runs it. */
export interface ShippedRelease extends ActiveRelease {
  readonly version: string;
}

/** A deployment package: the zip Lambda receives and its `CodeSha256`. */
export interface LambdaPackage {
  readonly zip: Buffer;
  /** Base64 SHA-256 of the zip, as Lambda reports a function's `CodeSha256`. */
  readonly codeSha256: string;
}

/**
 * The deployment package of a release: a zip holding the bundle, byte for byte, as the handler
 * module. The zip is deterministic (fixed timestamps and attributes), so its SHA-256 is a content
 * address of the release: the `CodeSha256` of any version running it.
 */
export function lambdaPackageOf(
  release: Release,
  moduleFile: string = DEFAULT_LAMBDA_MODULE_FILE,
): LambdaPackage {
  const zip = createZipArchive([{ name: moduleFile, data: release.bundle }]);
  return { zip, codeSha256: createHash('sha256').update(zip).digest('base64') };
}

/** Where a failure left the function: what the alias still served. */
interface FailureContext {
  readonly functionName: string;
  readonly alias: string;
  /** The version the alias served when the step failed, `undefined` when there was no alias. */
  readonly aliasVersion: string | undefined;
}

/**
 * Base of the Lambda deployer's errors. Every one is raised before the alias moved, or by the
 * alias update itself, which Lambda applies whole or not at all: the alias still serves
 * `aliasVersion`.
 */
export class LambdaDeployerError extends Error {
  readonly functionName: string;
  readonly alias: string;
  readonly aliasVersion: string | undefined;
  /** Whether a later attempt may succeed (throttling, a conflicting update, a service error). */
  readonly retryable: boolean;

  constructor(
    message: string,
    details: FailureContext & { readonly retryable: boolean; readonly cause?: unknown },
  ) {
    super(message, { cause: details.cause });
    this.name = 'LambdaDeployerError';
    this.functionName = details.functionName;
    this.alias = details.alias;
    this.aliasVersion = details.aliasVersion;
    this.retryable = details.retryable;
  }
}

/** Error codes of the Lambda API that a later attempt may not meet. */
const RETRYABLE_CODES: ReadonlySet<string> = new Set([
  'TooManyRequestsException',
  'ThrottlingException',
  'ServiceException',
  // Another update of the function is in progress.
  'ResourceConflictException',
  'ResourceNotReadyException',
  // The function or the alias changed since it was read: another deployer got there first.
  'PreconditionFailedException',
  'EC2ThrottledException',
  'EC2UnexpectedException',
  'TimeoutError',
]);

/** A Lambda API call failed; `code` is the API's error code (`ResourceConflictException`, …). */
export class LambdaApiError extends LambdaDeployerError {
  readonly operation: LambdaOperation;
  readonly code: string;
  /** HTTP status of the answer; `undefined` when none arrived (a network error). */
  readonly statusCode: number | undefined;

  constructor(operation: LambdaOperation, error: unknown, where: FailureContext) {
    const code = error instanceof Error ? error.name : 'Error';
    const statusCode = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata
      ?.httpStatusCode;
    const text = error instanceof Error ? error.message : String(error);
    const retryable =
      RETRYABLE_CODES.has(code) ||
      statusCode === undefined ||
      statusCode === 429 ||
      statusCode >= 500;
    super(`${operation} ${where.functionName} failed: ${code}: ${text}`, {
      ...where,
      retryable,
      cause: error,
    });
    this.name = 'LambdaApiError';
    this.operation = operation;
    this.code = code;
    this.statusCode = statusCode;
  }
}

/** The code update stayed `InProgress` past the timeout; nothing was published. */
export class LambdaUpdateTimeoutError extends LambdaDeployerError {
  readonly waitedMs: number;

  constructor(waitedMs: number, where: FailureContext) {
    super(`the code update of ${where.functionName} was still in progress after ${waitedMs} ms`, {
      ...where,
      retryable: true,
    });
    this.name = 'LambdaUpdateTimeoutError';
    this.waitedMs = waitedMs;
  }
}

/** Lambda reported the code update `Failed` (an invalid package, a missing layer, …). */
export class LambdaUpdateFailedError extends LambdaDeployerError {
  readonly reason: string;
  readonly reasonCode: string | undefined;

  constructor(config: FunctionConfiguration, where: FailureContext) {
    const reason = config.LastUpdateStatusReason ?? 'no reason given';
    super(`the code update of ${where.functionName} failed: ${reason}`, {
      ...where,
      retryable: false,
    });
    this.name = 'LambdaUpdateFailedError';
    this.reason = reason;
    this.reasonCode = config.LastUpdateStatusReasonCode;
  }
}

/** Lambda holds other code than the package sent (`CodeSha256` differs). */
export class LambdaCodeMismatchError extends LambdaDeployerError {
  readonly operation: LambdaOperation;
  readonly expected: string;
  readonly actual: string | undefined;

  constructor(
    operation: LambdaOperation,
    hashes: { readonly expected: string; readonly actual: string | undefined },
    where: FailureContext & { readonly retryable: boolean; readonly cause?: unknown },
  ) {
    super(
      `${operation} ${where.functionName}: CodeSha256 is ${hashes.actual ?? 'not the package'}, the package is ${hashes.expected}`,
      where,
    );
    this.name = 'LambdaCodeMismatchError';
    this.operation = operation;
    this.expected = hashes.expected;
    this.actual = hashes.actual;
  }
}

/**
 * The Deployer of a target that runs in AWS Lambda: versions and an alias shift.
 *
 * Activating a release ships its bundle as the handler module of the target's sync function:
 * `UpdateFunctionCode` with the package built in memory (`$LATEST` only: nothing invokes it
 * through the alias yet), a wait until Lambda finished the update, `PublishVersion` guarded by
 * the package's `CodeSha256` and the function's `RevisionId` (so a concurrent update is never
 * published by mistake), then `UpdateAlias` (guarded by the alias's `RevisionId`) to the new
 * version, with any weighted routing cleared. The alias moves in that one call or not at all.
 * When the alias already serves the package's `CodeSha256` (a fresh process activating what is
 * live), nothing is uploaded. Rollback points the alias back at the version it served before,
 * without uploading anything.
 *
 * Like the local deployer it loads each release's mapper into this process first (hash checked,
 * then imported from a bundle file), so `active()` serves the mapper the pipeline uses, and a
 * release that does not hash to its hash or does not load is refused before any AWS call.
 *
 * Failures of the Lambda API are never half-applied: a refusal (`deploy_failed`) when trying again
 * cannot help (no such function, no permission, a package Lambda rejects), a thrown
 * {@link LambdaDeployerError} with `retryable: true` when it may (throttling after the SDK's own
 * retries, a conflicting update, a service error). Either way the alias serves what it served.
 *
 * @example
 * ```ts
 * const deployer = new LambdaDeployer({ functionName: 'shop-sync', exportName: 'toProductRecord' });
 * await deployer.activate(r2); // shop-sync:live now runs r2's bundle
 * await deployer.rollback();   // and r1's again
 * ```
 */
export class LambdaDeployer implements Deployer {
  readonly functionName: string;
  readonly alias: string;
  readonly moduleFile: string;
  readonly #client: LambdaClient;
  readonly #loader: ReleaseLoader;
  readonly #updateTimeoutMs: number;
  readonly #pollIntervalMs: number;
  readonly #known = new Map<string, Release>();
  /** Releases the alias served before the current one, most recent last. */
  readonly #history: ShippedRelease[] = [];
  #active: ShippedRelease | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: LambdaDeployerOptions) {
    this.functionName = options.functionName;
    this.alias = options.alias ?? DEFAULT_LAMBDA_ALIAS;
    this.moduleFile = options.moduleFile ?? DEFAULT_LAMBDA_MODULE_FILE;
    this.#client =
      options.client ??
      new LambdaClient(
        options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts },
      );
    this.#loader = new ReleaseLoader({
      exportName: options.exportName,
      dir: options.dir ?? path.join(os.tmpdir(), 'selfheal-releases'),
    });
    this.#updateTimeoutMs = options.updateTimeoutMs ?? DEFAULT_LAMBDA_UPDATE_TIMEOUT_MS;
    this.#pollIntervalMs = options.pollIntervalMs ?? 1_000;
  }

  activate(release: Release): Promise<ActivationResult> {
    return this.#serial(async () => {
      const mismatch = hashMismatchOf(release);
      if (mismatch) return mismatch;
      const current = this.#active;
      if (current?.release.hash === release.hash) {
        return { ok: true, changed: false, release: current.release, previous: null };
      }
      const loaded = await this.#loader.load(release);
      if (!loaded.ok) return loaded.refusal;

      let shipped: { version: string; moved: boolean };
      try {
        shipped = await this.#ship(release);
      } catch (error) {
        return this.#refusalOf(error, release);
      }
      this.#swap({
        release,
        mapper: loaded.mapper,
        version: shipped.version,
        // The alias already served it: another process activated it, when is not known here.
        ...(shipped.moved ? { activated_at: new Date().toISOString() } : {}),
      });
      if (current) this.#history.push(current);
      return {
        ok: true,
        changed: shipped.moved || current !== undefined,
        release,
        previous: current?.release ?? null,
      };
    });
  }

  rollback(): Promise<RollbackResult> {
    return this.#serial(async () => {
      const current = this.#active;
      const previous = this.#history.at(-1);
      if (!previous) return { ok: false, reason: 'nothing_to_roll_back' };
      try {
        const alias = await this.#getAlias();
        if (alias?.version !== previous.version) {
          await this.#pointAlias(alias, previous.version, previous.release);
        }
      } catch (error) {
        return this.#refusalOf(error, previous.release);
      }
      this.#swap({ ...previous, activated_at: new Date().toISOString() });
      this.#history.pop();
      return {
        ok: true,
        changed: true,
        release: previous.release,
        previous: current?.release ?? null,
      };
    });
  }

  active(): ShippedRelease | undefined {
    return this.#active;
  }

  list(): readonly Release[] {
    return [...this.#known.values()];
  }

  /** Puts the release's package behind the alias; `moved` is false when it was there already. */
  async #ship(release: Release): Promise<{ version: string; moved: boolean }> {
    const pkg = lambdaPackageOf(release, this.moduleFile);
    const alias = await this.#getAlias();
    const where = this.#where(alias?.version);
    if (alias) {
      const served = await this.#call('GetFunctionConfiguration', where, () =>
        this.#client.send(
          new GetFunctionConfigurationCommand({
            FunctionName: this.functionName,
            Qualifier: alias.version,
          }),
        ),
      );
      if (served.CodeSha256 === pkg.codeSha256) return { version: alias.version, moved: false };
    }
    const version = await this.#publish(release, pkg, where);
    await this.#pointAlias(alias, version, release);
    return { version, moved: true };
  }

  /** Uploads the package to `$LATEST`, waits for the update, publishes it; returns the version. */
  async #publish(release: Release, pkg: LambdaPackage, where: FailureContext): Promise<string> {
    const updated = await this.#call('UpdateFunctionCode', where, () =>
      this.#client.send(
        new UpdateFunctionCodeCommand({
          FunctionName: this.functionName,
          ZipFile: pkg.zip,
          Publish: false,
        }),
      ),
    );
    // Lambda stored other bytes than it was sent: nothing a retry would change.
    this.#expectCode('UpdateFunctionCode', updated, pkg, { ...where, retryable: false });
    const ready = await this.#settled(updated, where);
    // Another update landed in $LATEST meanwhile: the next attempt starts over.
    this.#expectCode('GetFunctionConfiguration', ready, pkg, { ...where, retryable: true });
    let published: FunctionConfiguration;
    try {
      published = await this.#call('PublishVersion', where, () =>
        this.#client.send(
          new PublishVersionCommand({
            FunctionName: this.functionName,
            CodeSha256: pkg.codeSha256,
            ...(ready.RevisionId ? { RevisionId: ready.RevisionId } : {}),
            Description: describe(`release ${release.id} sha256:${release.hash}`),
          }),
        ),
      );
    } catch (error) {
      // Lambda answers a CodeSha256 that is no longer $LATEST's as an invalid parameter; here
      // it means another update got in between, a race the next attempt does not meet.
      if (
        error instanceof LambdaApiError &&
        error.code === 'InvalidParameterValueException' &&
        /CodeSHA256/i.test(error.message)
      ) {
        throw new LambdaCodeMismatchError(
          'PublishVersion',
          { expected: pkg.codeSha256, actual: undefined },
          { ...where, retryable: true, cause: error },
        );
      }
      throw error;
    }
    this.#expectCode('PublishVersion', published, pkg, { ...where, retryable: false });
    const version = published.Version;
    if (!version || !/^\d+$/.test(version)) {
      throw new LambdaDeployerError(
        `PublishVersion ${this.functionName} answered version ${String(version)}, not a number`,
        { ...where, retryable: false },
      );
    }
    return version;
  }

  /** The function's `$LATEST` once Lambda finished updating it. */
  async #settled(
    config: FunctionConfiguration,
    where: FailureContext,
  ): Promise<FunctionConfiguration> {
    const started = performance.now();
    let current = config;
    while (current.LastUpdateStatus === 'InProgress') {
      const waited = Math.round(performance.now() - started);
      if (waited >= this.#updateTimeoutMs) throw new LambdaUpdateTimeoutError(waited, where);
      await new Promise((done) => setTimeout(done, this.#pollIntervalMs));
      current = await this.#call('GetFunctionConfiguration', where, () =>
        this.#client.send(new GetFunctionConfigurationCommand({ FunctionName: this.functionName })),
      );
    }
    if (current.LastUpdateStatus === 'Failed') throw new LambdaUpdateFailedError(current, where);
    return current;
  }

  /** Points the alias at `version`, or creates it there; guarded by the alias's revision. */
  async #pointAlias(
    alias: AliasState | undefined,
    version: string,
    release: Release,
  ): Promise<void> {
    const where = this.#where(alias?.version);
    const description = describe(`release ${release.id} sha256:${release.hash}`);
    if (alias) {
      await this.#call('UpdateAlias', where, () =>
        this.#client.send(
          new UpdateAliasCommand({
            FunctionName: this.functionName,
            Name: this.alias,
            FunctionVersion: version,
            Description: description,
            // Clears weighted routing: the alias serves this version alone.
            RoutingConfig: { AdditionalVersionWeights: {} },
            ...(alias.revisionId ? { RevisionId: alias.revisionId } : {}),
          }),
        ),
      );
      return;
    }
    await this.#call('CreateAlias', where, () =>
      this.#client.send(
        new CreateAliasCommand({
          FunctionName: this.functionName,
          Name: this.alias,
          FunctionVersion: version,
          Description: description,
        }),
      ),
    );
  }

  /** The version the alias serves and its revision; `undefined` when there is no alias yet. */
  async #getAlias(): Promise<AliasState | undefined> {
    let found: AliasConfiguration;
    try {
      found = await this.#client.send(
        new GetAliasCommand({ FunctionName: this.functionName, Name: this.alias }),
      );
    } catch (error) {
      // A missing function answers the same code; UpdateFunctionCode then says which it was.
      if (error instanceof Error && error.name === 'ResourceNotFoundException') return undefined;
      throw new LambdaApiError('GetAlias', error, this.#where(undefined));
    }
    if (!found.FunctionVersion) {
      throw new LambdaDeployerError(`alias ${this.alias} of ${this.functionName} has no version`, {
        ...this.#where(undefined),
        retryable: false,
      });
    }
    return { version: found.FunctionVersion, revisionId: found.RevisionId };
  }

  async #call<T>(
    operation: LambdaOperation,
    where: FailureContext,
    send: () => Promise<T>,
  ): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw new LambdaApiError(operation, error, where);
    }
  }

  #expectCode(
    operation: LambdaOperation,
    config: FunctionConfiguration,
    pkg: LambdaPackage,
    where: FailureContext & { readonly retryable: boolean },
  ): void {
    if (config.CodeSha256 === pkg.codeSha256) return;
    throw new LambdaCodeMismatchError(
      operation,
      { expected: pkg.codeSha256, actual: config.CodeSha256 },
      where,
    );
  }

  /** A refusal for a failure trying again will not fix; anything else is thrown as it is. */
  #refusalOf(error: unknown, release: Release): Refusal {
    if (error instanceof LambdaDeployerError && !error.retryable) {
      const served =
        error.aliasVersion === undefined
          ? `alias ${error.alias} was not moved`
          : `alias ${error.alias} still serves version ${error.aliasVersion}`;
      return {
        ok: false,
        reason: 'deploy_failed',
        release,
        message: `${error.message} (${served})`,
      };
    }
    throw error;
  }

  #where(aliasVersion: string | undefined): FailureContext {
    return { functionName: this.functionName, alias: this.alias, aliasVersion };
  }

  #swap(next: ShippedRelease): void {
    this.#active = next;
    if (!this.#known.has(next.release.hash)) this.#known.set(next.release.hash, next.release);
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

interface AliasState {
  readonly version: string;
  readonly revisionId: string | undefined;
}

/** Lambda caps descriptions at 256 characters. */
const describe = (text: string): string => (text.length <= 256 ? text : `${text.slice(0, 255)}…`);

/** The settings of the Lambda deployer in a configuration, checked. */
export interface LambdaDeployerSettings {
  readonly functionName: string;
  readonly alias: string;
  readonly moduleFile: string;
  readonly updateTimeoutMs: number;
}

/**
 * The Lambda deployer's settings from the configuration (`SELFHEAL_LAMBDA_*`). Throws a
 * {@link ConfigError} when no function is configured: a target declared `deployer: 'lambda'`
 * cannot ship anywhere without one.
 *
 * @example
 * new LambdaDeployer({ ...lambdaDeployerSettingsOf(config), exportName: manifest.mapper.export });
 */
export function lambdaDeployerSettingsOf(
  config: Pick<
    Config,
    | 'SELFHEAL_LAMBDA_FUNCTION'
    | 'SELFHEAL_LAMBDA_ALIAS'
    | 'SELFHEAL_LAMBDA_MODULE_FILE'
    | 'SELFHEAL_LAMBDA_UPDATE_TIMEOUT_MS'
  >,
): LambdaDeployerSettings {
  if (!config.SELFHEAL_LAMBDA_FUNCTION) {
    throw new ConfigError([
      { key: 'SELFHEAL_LAMBDA_FUNCTION', message: 'required by the Lambda deployer' },
    ]);
  }
  return {
    functionName: config.SELFHEAL_LAMBDA_FUNCTION,
    alias: config.SELFHEAL_LAMBDA_ALIAS,
    moduleFile: config.SELFHEAL_LAMBDA_MODULE_FILE,
    updateTimeoutMs: config.SELFHEAL_LAMBDA_UPDATE_TIMEOUT_MS,
  };
}
