import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, parseConfig } from '../functions/runtime/config.js';
import { validateRecord } from '../functions/shop/contract.js';
import { buildShopRelease } from '../functions/shop/releases.js';
import { seedCatalog } from '../functions/shop/seed.js';
import {
  LambdaApiError,
  LambdaCodeMismatchError,
  LambdaDeployer,
  type LambdaDeployerOptions,
  LambdaUpdateTimeoutError,
  lambdaDeployerSettingsOf,
  lambdaPackageOf,
} from '../functions/target/lambda-deployer.js';
import { type Release, sha256 } from '../functions/target/releases.js';
import {
  codeSha256Of,
  type LambdaApiServer,
  type LambdaOperation,
  packageOf,
  startLambdaApiServer,
} from './support/lambda-api-server.js';

const SYNCED_AT = '2026-02-10T11:00:00.000Z';
const item = seedCatalog({ count: 1 })[0];
const EXPORT = 'toProductRecord';
/** The calls that change something in Lambda; the rest are reads. */
const MUTATIONS: ReadonlySet<LambdaOperation> = new Set([
  'UpdateFunctionCode',
  'PublishVersion',
  'UpdateAlias',
  'CreateAlias',
]);

let server: LambdaApiServer;
let dir: string;
let r1: Release;
let r2: Release;
let functionCount = 0;

beforeAll(async () => {
  server = await startLambdaApiServer({ region: 'us-east-1' });
  // The SDK finds the endpoint, region and credentials in the environment, as in a function.
  vi.stubEnv('AWS_ENDPOINT_URL_LAMBDA', server.endpoint);
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDLOCALTEST');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local-test-secret');
  vi.stubEnv('AWS_SESSION_TOKEN', '');
  dir = mkdtempSync(path.join(os.tmpdir(), 'lambda-deployer-'));
  r1 = await buildShopRelease('R1');
  r2 = await buildShopRelease('R2', { parent: r1 });
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh sync function with version 1 behind `live`, so tests never share one. */
const newFunction = (options: { alias?: boolean } = {}): string => {
  functionCount += 1;
  const name = `shop-sync-${functionCount}`;
  server.addFunction(name, options.alias === false ? {} : { aliases: ['live'] });
  return name;
};

const newDeployer = (functionName: string, options: Partial<LambdaDeployerOptions> = {}) =>
  new LambdaDeployer({
    functionName,
    exportName: EXPORT,
    dir: mkdtempSync(path.join(dir, 'deployer-')),
    pollIntervalMs: 5,
    ...options,
  });

/** The requests made for one function from now on. */
const watch = (functionName: string) => {
  const from = server.requests.length;
  const requests = () =>
    server.requests.slice(from).filter((request) => request.functionName === functionName);
  return {
    requests,
    operations: () => requests().map((request) => request.operation),
    mutations: () =>
      requests()
        .map((request) => request.operation)
        .filter((operation) => MUTATIONS.has(operation as LambdaOperation)),
    only: (operation: LambdaOperation) => {
      const found = requests().filter((request) => request.operation === operation);
      expect(found, `one ${operation}`).toHaveLength(1);
      return found[0] as (typeof found)[number];
    },
  };
};

const aliasOf = (functionName: string) => server.fn(functionName).aliases.get('live')?.version;

describe('Target: Lambda deployer', () => {
  beforeEach(() => {
    server.slowUpdates(0);
  });

  it('ships a release as code, then a version, then the alias, as the Lambda API defines them', async () => {
    const fn = newFunction();
    const aliasRevision = server.fn(fn).aliases.get('live')?.revisionId;
    const seen = watch(fn);
    const deployer = newDeployer(fn);

    const result = await deployer.activate(r1);

    expect(result).toEqual({ ok: true, changed: true, release: r1, previous: null });
    expect(seen.mutations()).toEqual(['UpdateFunctionCode', 'PublishVersion', 'UpdateAlias']);

    const code = seen.only('UpdateFunctionCode');
    expect(code).toMatchObject({ method: 'PUT', path: `/2015-03-31/functions/${fn}/code` });
    expect(code.body).toEqual({ ZipFile: expect.any(String), Publish: false });
    const files = packageOf(code);
    expect([...files.keys()]).toEqual(['index.mjs']);
    expect(files.get('index.mjs')?.data.toString('utf8')).toBe(r1.bundle);
    expect(files.get('index.mjs')?.mode).toBe(0o644);
    const uploaded = Buffer.from(String(code.body?.ZipFile), 'base64');
    expect(codeSha256Of(uploaded)).toBe(lambdaPackageOf(r1).codeSha256);

    const publish = seen.only('PublishVersion');
    expect(publish).toMatchObject({ method: 'POST', path: `/2015-03-31/functions/${fn}/versions` });
    expect(publish.body).toEqual({
      CodeSha256: codeSha256Of(uploaded),
      RevisionId: server.fn(fn).latest.revisionId,
      Description: `release R1 sha256:${r1.hash}`,
    });

    const alias = seen.only('UpdateAlias');
    expect(alias).toMatchObject({
      method: 'PUT',
      path: `/2015-03-31/functions/${fn}/aliases/live`,
    });
    expect(alias.body).toEqual({
      FunctionVersion: '2',
      Description: `release R1 sha256:${r1.hash}`,
      RevisionId: aliasRevision,
      RoutingConfig: { AdditionalVersionWeights: {} },
    });
    // Signed for Lambda in the configured region, like every request.
    expect(alias.authorization).toContain('/us-east-1/lambda/aws4_request');

    expect(aliasOf(fn)).toBe('2');
    expect(server.fn(fn).versions.get('2')?.codeSha256).toBe(codeSha256Of(uploaded));
    expect(deployer.active()).toMatchObject({ release: { id: 'R1' }, version: '2' });
    expect(validateRecord(deployer.active()?.mapper(item, SYNCED_AT)).ok).toBe(true);
    expect(deployer.list().map((release) => release.id)).toEqual(['R1']);
  });

  it('serves the new release mapper after a second activation', async () => {
    const fn = newFunction();
    const deployer = newDeployer(fn);
    await deployer.activate(r1);

    const result = await deployer.activate(r2);

    expect(result).toMatchObject({
      ok: true,
      changed: true,
      release: { id: 'R2' },
      previous: { id: 'R1' },
    });
    expect(aliasOf(fn)).toBe('3');
    expect(deployer.active()?.version).toBe('3');
    expect(validateRecord(deployer.active()?.mapper(item, SYNCED_AT))).toMatchObject({
      ok: false,
      issues: [{ field: 'return_policy' }],
    });
    expect(deployer.list().map((release) => release.id)).toEqual(['R1', 'R2']);
  });

  it('rolls back by pointing the alias at the previous version, uploading nothing', async () => {
    const fn = newFunction();
    const deployer = newDeployer(fn);
    await deployer.activate(r1);
    await deployer.activate(r2);
    const seen = watch(fn);

    const result = await deployer.rollback();

    expect(result).toMatchObject({
      ok: true,
      changed: true,
      release: { id: 'R1' },
      previous: { id: 'R2' },
    });
    expect(seen.operations()).toEqual(['GetAlias', 'UpdateAlias']);
    expect(seen.only('UpdateAlias').body).toMatchObject({ FunctionVersion: '2' });
    expect(aliasOf(fn)).toBe('2');
    expect(deployer.active()).toMatchObject({ release: { id: 'R1' }, version: '2' });
    expect(validateRecord(deployer.active()?.mapper(item, SYNCED_AT)).ok).toBe(true);
    expect(await deployer.rollback()).toEqual({ ok: false, reason: 'nothing_to_roll_back' });
  });

  it('refuses a release whose bundle does not match its hash before sending anything', async () => {
    const fn = newFunction();
    const deployer = newDeployer(fn);
    const seen = watch(fn);
    const tampered: Release = { ...r2, bundle: `${r2.bundle}\n// edited` };

    const result = await deployer.activate(tampered);

    expect(result).toMatchObject({ ok: false, reason: 'hash_mismatch', release: { id: 'R2' } });
    expect(seen.requests()).toEqual([]);
    expect(deployer.active()).toBeUndefined();
    expect(aliasOf(fn)).toBe('1');
  });

  it('refuses a bundle without the mapper export before sending anything', async () => {
    const fn = newFunction();
    const deployer = newDeployer(fn);
    const seen = watch(fn);
    const bundle = 'export function toRecord() {}\n';

    const result = await deployer.activate({ ...r1, id: 'R9', bundle, hash: sha256(bundle) });

    expect(result).toMatchObject({ ok: false, reason: 'export_missing', release: { id: 'R9' } });
    expect(seen.requests()).toEqual([]);
  });

  it('leaves the alias where it was when publishing is refused, and says where it is', async () => {
    const fn = newFunction();
    const deployer = newDeployer(fn);
    await deployer.activate(r1);
    server.failNext('PublishVersion', {
      status: 400,
      code: 'CodeStorageExceededException',
      message: 'Code storage limit exceeded.',
    });
    const seen = watch(fn);

    const result = await deployer.activate(r2);

    expect(result).toEqual({
      ok: false,
      reason: 'deploy_failed',
      release: r2,
      message: `PublishVersion ${fn} failed: CodeStorageExceededException: Code storage limit exceeded. (alias live still serves version 2)`,
    });
    expect(seen.mutations()).toEqual(['UpdateFunctionCode', 'PublishVersion']);
    expect(aliasOf(fn)).toBe('2');
    expect(deployer.active()?.release.id).toBe('R1');
    expect(deployer.list().map((release) => release.id)).toEqual(['R1']);
  });

  it('throws a retryable error on a conflicting update, alias unchanged, and ships on the next try', async () => {
    const fn = newFunction();
    const deployer = newDeployer(fn);
    await deployer.activate(r1);
    server.failNext('PublishVersion', {
      status: 409,
      code: 'ResourceConflictException',
      message: 'The operation cannot be performed at this time. An update is in progress.',
    });
    const seen = watch(fn);

    const failed = await deployer.activate(r2).catch((error: unknown) => error);

    expect(failed).toBeInstanceOf(LambdaApiError);
    expect(failed).toMatchObject({
      name: 'LambdaApiError',
      operation: 'PublishVersion',
      code: 'ResourceConflictException',
      statusCode: 409,
      retryable: true,
      functionName: fn,
      alias: 'live',
      aliasVersion: '2',
    });
    expect(seen.mutations()).not.toContain('UpdateAlias');
    expect(aliasOf(fn)).toBe('2');
    expect(deployer.active()?.release.id).toBe('R1');

    expect(await deployer.activate(r2)).toMatchObject({ ok: true, release: { id: 'R2' } });
    expect(aliasOf(fn)).toBe('3');
  });

  it('treats a CodeSha256 that is no longer $LATEST as a race to retry, not a refusal', async () => {
    const fn = newFunction();
    const deployer = newDeployer(fn);
    await deployer.activate(r1);
    server.failNext('PublishVersion', {
      status: 400,
      code: 'InvalidParameterValueException',
      message:
        'CodeSHA256 (abc) is different from current CodeSHA256 in $LATEST (def). Please try again with the current CodeSHA256.',
    });

    const failed = await deployer.activate(r2).catch((error: unknown) => error);

    expect(failed).toBeInstanceOf(LambdaCodeMismatchError);
    expect(failed).toMatchObject({
      operation: 'PublishVersion',
      retryable: true,
      aliasVersion: '2',
    });
    expect(aliasOf(fn)).toBe('2');
  });

  it('never publishes code another deployer put in $LATEST meanwhile', async () => {
    const fn = newFunction();
    const deployer = newDeployer(fn);
    await deployer.activate(r1);
    const theirs = lambdaPackageOf(r2, 'theirs.mjs').zip;
    server.beforeNext('PublishVersion', () => server.replaceCode(fn, theirs));
    const seen = watch(fn);

    const failed = await deployer.activate(r2).catch((error: unknown) => error);

    expect(failed).toMatchObject({
      operation: 'PublishVersion',
      code: 'PreconditionFailedException',
      retryable: true,
    });
    expect(seen.mutations()).toEqual(['UpdateFunctionCode', 'PublishVersion']);
    expect([...server.fn(fn).versions.keys()]).toEqual(['1', '2']);
    expect(aliasOf(fn)).toBe('2');
  });

  it('gives up on throttling after the SDK retried, without moving the alias', async () => {
    const fn = newFunction();
    const deployer = newDeployer(fn, { maxAttempts: 2 });
    await deployer.activate(r1);
    server.failNext(
      'UpdateFunctionCode',
      { status: 429, code: 'TooManyRequestsException', message: 'Rate exceeded' },
      2,
    );
    const seen = watch(fn);

    const failed = await deployer.activate(r2).catch((error: unknown) => error);

    expect(failed).toMatchObject({
      name: 'LambdaApiError',
      operation: 'UpdateFunctionCode',
      code: 'TooManyRequestsException',
      retryable: true,
      aliasVersion: '2',
    });
    expect(seen.mutations()).toEqual(['UpdateFunctionCode', 'UpdateFunctionCode']);
    expect(aliasOf(fn)).toBe('2');
  });

  it('never moves an alias that another deployer moved since it was read', async () => {
    const fn = newFunction();
    const deployer = newDeployer(fn);
    await deployer.activate(r1);
    server.beforeNext('UpdateAlias', () => server.moveAlias(fn, 'live', '1'));

    const failed = await deployer.activate(r2).catch((error: unknown) => error);

    expect(failed).toMatchObject({
      operation: 'UpdateAlias',
      code: 'PreconditionFailedException',
      statusCode: 412,
      retryable: true,
    });
    expect(aliasOf(fn)).toBe('1');
    expect(deployer.active()?.release.id).toBe('R1');
  });

  it('waits for a code update in progress, then publishes the revision it ended with', async () => {
    const fn = newFunction();
    const deployer = newDeployer(fn);
    server.slowUpdates(2);
    const seen = watch(fn);

    const result = await deployer.activate(r1);

    expect(result.ok).toBe(true);
    expect(seen.operations()).toEqual([
      'GetAlias',
      'GetFunctionConfiguration',
      'UpdateFunctionCode',
      'GetFunctionConfiguration',
      'GetFunctionConfiguration',
      'PublishVersion',
      'UpdateAlias',
    ]);
    const finished = server.fn(fn).latest;
    expect(finished.lastUpdateStatus).toBe('Successful');
    expect(seen.only('PublishVersion').body?.RevisionId).toBe(finished.revisionId);
    expect(aliasOf(fn)).toBe('2');
  });

  it('refuses a release whose code update failed, publishing nothing', async () => {
    const fn = newFunction();
    const deployer = newDeployer(fn);
    server.slowUpdates(1, { status: 'Failed', reason: 'The runtime failed to start.' });
    const seen = watch(fn);

    const result = await deployer.activate(r1);

    expect(result).toMatchObject({
      ok: false,
      reason: 'deploy_failed',
      message: `the code update of ${fn} failed: The runtime failed to start. (alias live still serves version 1)`,
    });
    expect(seen.mutations()).toEqual(['UpdateFunctionCode']);
    expect(aliasOf(fn)).toBe('1');
  });

  it('gives up on a code update that stays in progress, publishing nothing', async () => {
    const fn = newFunction();
    const deployer = newDeployer(fn, { updateTimeoutMs: 40 });
    server.slowUpdates(1_000);
    const seen = watch(fn);

    const failed = await deployer.activate(r1).catch((error: unknown) => error);

    expect(failed).toBeInstanceOf(LambdaUpdateTimeoutError);
    expect(failed).toMatchObject({ retryable: true, aliasVersion: '1' });
    expect(seen.mutations()).toEqual(['UpdateFunctionCode']);
    expect(aliasOf(fn)).toBe('1');
  });

  it('uploads nothing when the alias already serves the release (a fresh process)', async () => {
    const fn = newFunction();
    await newDeployer(fn).activate(r1);
    const fresh = newDeployer(fn);
    const seen = watch(fn);

    const result = await fresh.activate(r1);

    expect(result).toEqual({ ok: true, changed: false, release: r1, previous: null });
    expect(seen.operations()).toEqual(['GetAlias', 'GetFunctionConfiguration']);
    expect(seen.only('GetFunctionConfiguration').query).toEqual({ Qualifier: '2' });
    expect(fresh.active()).toMatchObject({ release: { id: 'R1' }, version: '2' });
  });

  it('creates the alias when the function has none yet', async () => {
    const fn = newFunction({ alias: false });
    const seen = watch(fn);

    const result = await newDeployer(fn).activate(r1);

    expect(result.ok).toBe(true);
    expect(seen.mutations()).toEqual(['UpdateFunctionCode', 'PublishVersion', 'CreateAlias']);
    const created = seen.only('CreateAlias');
    expect(created).toMatchObject({ method: 'POST', path: `/2015-03-31/functions/${fn}/aliases` });
    expect(created.body).toEqual({
      Name: 'live',
      FunctionVersion: '1',
      Description: `release R1 sha256:${r1.hash}`,
    });
    expect(aliasOf(fn)).toBe('1');
  });

  it('refuses to ship to a function that does not exist', async () => {
    const result = await newDeployer('no-such-function').activate(r1);

    expect(result).toMatchObject({ ok: false, reason: 'deploy_failed' });
    expect(result.ok === false && result.message).toBe(
      'UpdateFunctionCode no-such-function failed: ResourceNotFoundException: Function not found: ' +
        'arn:aws:lambda:us-east-1:123456789012:function:no-such-function (alias live was not moved)',
    );
  });

  it('runs concurrent activations one at a time', async () => {
    const fn = newFunction();
    const deployer = newDeployer(fn);
    const seen = watch(fn);

    const results = await Promise.all([deployer.activate(r1), deployer.activate(r2)]);

    expect(results.map((result) => result.ok && result.changed)).toEqual([true, true]);
    expect(seen.mutations()).toEqual([
      'UpdateFunctionCode',
      'PublishVersion',
      'UpdateAlias',
      'UpdateFunctionCode',
      'PublishVersion',
      'UpdateAlias',
    ]);
    expect(aliasOf(fn)).toBe('3');
    expect(deployer.active()?.release.id).toBe('R2');
  });

  it('addresses a release by its package: the same bundle, the same CodeSha256', async () => {
    const again = await buildShopRelease('R1');

    expect(lambdaPackageOf(again).codeSha256).toBe(lambdaPackageOf(r1).codeSha256);
    expect(lambdaPackageOf(r2).codeSha256).not.toBe(lambdaPackageOf(r1).codeSha256);
    expect(lambdaPackageOf(r1, 'sync.mjs').codeSha256).not.toBe(lambdaPackageOf(r1).codeSha256);
  });
});

describe('Target: Lambda deployer settings', () => {
  it('defaults the alias, module file and update timeout, and needs a function', () => {
    expect(
      lambdaDeployerSettingsOf(parseConfig({ SELFHEAL_LAMBDA_FUNCTION: 'shop-sync' })),
    ).toEqual({
      functionName: 'shop-sync',
      alias: 'live',
      moduleFile: 'index.mjs',
      updateTimeoutMs: 60_000,
    });
    expect(() => lambdaDeployerSettingsOf(parseConfig({}))).toThrow(ConfigError);
  });

  it('accepts function ARNs and rejects qualified names, numeric aliases and other files', () => {
    const arn = 'arn:aws:lambda:eu-west-1:123456789012:function:shop-sync';
    expect(parseConfig({ SELFHEAL_LAMBDA_FUNCTION: arn }).SELFHEAL_LAMBDA_FUNCTION).toBe(arn);
    let error: unknown;
    try {
      parseConfig({
        SELFHEAL_LAMBDA_FUNCTION: 'shop-sync:live',
        SELFHEAL_LAMBDA_ALIAS: '12',
        SELFHEAL_LAMBDA_MODULE_FILE: 'index.js',
      });
    } catch (caught) {
      error = caught;
    }
    expect((error as ConfigError).problems.map((problem) => problem.key).sort()).toEqual([
      'SELFHEAL_LAMBDA_ALIAS',
      'SELFHEAL_LAMBDA_FUNCTION',
      'SELFHEAL_LAMBDA_MODULE_FILE',
    ]);
  });
});
