import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createZipArchive } from '../../functions/target/zip-archive.js';
import { readZipArchive, type ZipFileEntry } from './zip-reader.js';

/**
 * A local stand-in for the parts of the AWS Lambda API (REST, `2015-03-31`) that ship code
 * through versions and aliases: UpdateFunctionCode, PublishVersion, GetAlias, UpdateAlias,
 * CreateAlias, GetFunctionConfiguration and GetFunction, with their paths, JSON bodies, status
 * codes, error codes (`x-amzn-ErrorType`) and preconditions (`RevisionId`, `CodeSha256`, an
 * update in progress) as AWS documents them. Point the SDK at it with `AWS_ENDPOINT_URL_LAMBDA`.
 * It records every request, and a test can script failures, slow updates and races.
 */

export type LambdaOperation =
  | 'UpdateFunctionCode'
  | 'PublishVersion'
  | 'GetAlias'
  | 'UpdateAlias'
  | 'CreateAlias'
  | 'GetFunctionConfiguration'
  | 'GetFunction';

/** A request as the server received it. */
export interface RecordedLambdaRequest {
  readonly operation: LambdaOperation | 'unknown';
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly functionName: string | undefined;
  readonly aliasName: string | undefined;
  /** The JSON body, parsed; `undefined` without one. */
  readonly body: Record<string, unknown> | undefined;
  readonly authorization: string | undefined;
  status: number;
}

/** An error answer, as Lambda sends them. */
export interface LambdaFailure {
  readonly status: number;
  readonly code: string;
  readonly message?: string;
}

/** What the function's `$LATEST` holds. */
export interface LatestState {
  readonly zip: Buffer;
  readonly codeSha256: string;
  readonly revisionId: string;
  readonly lastUpdateStatus: 'Successful' | 'InProgress' | 'Failed';
  readonly lastUpdateStatusReason: string | undefined;
}

/** A published version: immutable code. */
export interface VersionState {
  readonly version: string;
  readonly zip: Buffer;
  readonly codeSha256: string;
  readonly description: string;
  readonly revisionId: string;
}

export interface AliasState {
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly revisionId: string;
  readonly weights: Readonly<Record<string, number>>;
}

/** A function's state, to assert on. */
export interface FunctionView {
  readonly latest: LatestState;
  readonly versions: ReadonlyMap<string, VersionState>;
  readonly aliases: ReadonlyMap<string, AliasState>;
}

export interface FunctionSeed {
  /** `$LATEST`'s code (default: an empty archive's worth of a placeholder module). */
  readonly zip?: Buffer;
  /** Publishes `$LATEST` as version 1 and points these aliases at it. */
  readonly aliases?: readonly string[];
}

export interface LambdaApiServer {
  /** `http://127.0.0.1:<port>`: the value for `AWS_ENDPOINT_URL_LAMBDA`. */
  readonly endpoint: string;
  readonly region: string;
  readonly accountId: string;
  readonly requests: RecordedLambdaRequest[];
  /** The operations received, in order (`GET` reads included). */
  operations(): LambdaOperation[];
  addFunction(name: string, seed?: FunctionSeed): void;
  fn(name: string): FunctionView;
  /** Answers the next `times` calls of `operation` with `failure`, changing nothing. */
  failNext(operation: LambdaOperation, failure: LambdaFailure, times?: number): void;
  /** Runs `hook` once, just before the next `operation` is handled (to stage a race). */
  beforeNext(operation: LambdaOperation, hook: () => void): void;
  /**
   * Code updates stay `InProgress` for this many reads of `$LATEST`'s configuration, then end
   * with `outcome` (default `Successful`; `Failed` with `reason`).
   */
  slowUpdates(reads: number, outcome?: { status: 'Successful' | 'Failed'; reason?: string }): void;
  /** Moves an alias as another deployer would (a new revision id). */
  moveAlias(name: string, alias: string, version: string): void;
  /** Replaces `$LATEST`'s code as another deployer would. */
  replaceCode(name: string, zip: Buffer): void;
  close(): Promise<void>;
}

/** Base64 SHA-256 of a package, as Lambda reports `CodeSha256`. */
export const codeSha256Of = (zip: Buffer): string =>
  createHash('sha256').update(zip).digest('base64');

/** The files of the package a recorded UpdateFunctionCode request carried. */
export function packageOf(request: RecordedLambdaRequest): Map<string, ZipFileEntry> {
  const zip = request.body?.ZipFile;
  if (typeof zip !== 'string') throw new Error(`${request.operation} carried no ZipFile`);
  return readZipArchive(Buffer.from(zip, 'base64'));
}

interface FunctionRecord {
  latest: LatestState & { pendingReads: number };
  versions: Map<string, VersionState>;
  aliases: Map<string, AliasState>;
  nextVersion: number;
}

class Failure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const API = '/2015-03-31/functions/';

/** Starts the server on 127.0.0.1 (ephemeral port) for `region` (default `us-east-1`). */
export async function startLambdaApiServer(
  options: { readonly region?: string; readonly accountId?: string } = {},
): Promise<LambdaApiServer> {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '123456789012';
  const functions = new Map<string, FunctionRecord>();
  const requests: RecordedLambdaRequest[] = [];
  const failures = new Map<LambdaOperation, Array<LambdaFailure>>();
  const hooks = new Map<LambdaOperation, Array<() => void>>();
  let updateReads = 0;
  let updateOutcome: { status: 'Successful' | 'Failed'; reason?: string } = {
    status: 'Successful',
  };

  const arnOf = (name: string, qualifier?: string) =>
    `arn:aws:lambda:${region}:${accountId}:function:${name}${qualifier ? `:${qualifier}` : ''}`;

  const recordOf = (name: string): FunctionRecord => {
    const found = functions.get(name);
    if (!found)
      throw new Failure(404, 'ResourceNotFoundException', `Function not found: ${arnOf(name)}`);
    return found;
  };

  const configurationOf = (
    name: string,
    code: { zip: Buffer; codeSha256: string; revisionId: string; description: string },
    version: string,
    latest?: LatestState,
  ) => ({
    FunctionName: name,
    FunctionArn: arnOf(name, version === '$LATEST' ? undefined : version),
    Runtime: 'nodejs22.x',
    Role: `arn:aws:iam::${accountId}:role/${name}-role`,
    Handler: 'index.handler',
    CodeSize: code.zip.byteLength,
    Description: code.description,
    Timeout: 30,
    MemorySize: 512,
    LastModified: '2026-01-01T00:00:00.000+0000',
    CodeSha256: code.codeSha256,
    Version: version,
    RevisionId: code.revisionId,
    State: 'Active',
    LastUpdateStatus: latest?.lastUpdateStatus ?? 'Successful',
    ...(latest?.lastUpdateStatusReason
      ? { LastUpdateStatusReason: latest.lastUpdateStatusReason }
      : {}),
    PackageType: 'Zip',
    Architectures: ['arm64'],
  });

  const latestConfiguration = (name: string, record: FunctionRecord) =>
    configurationOf(name, { ...record.latest, description: '' }, '$LATEST', record.latest);

  const aliasConfiguration = (name: string, alias: AliasState) => ({
    AliasArn: arnOf(name, alias.name),
    Name: alias.name,
    FunctionVersion: alias.version,
    Description: alias.description,
    RevisionId: alias.revisionId,
    ...(Object.keys(alias.weights).length > 0
      ? { RoutingConfig: { AdditionalVersionWeights: alias.weights } }
      : {}),
  });

  const publish = (record: FunctionRecord, description: string): VersionState => {
    const last = record.versions.get(String(record.nextVersion - 1));
    // Lambda publishes nothing new when the code has not changed since the last version.
    if (last && last.codeSha256 === record.latest.codeSha256) return last;
    const version: VersionState = {
      version: String(record.nextVersion),
      zip: record.latest.zip,
      codeSha256: record.latest.codeSha256,
      description,
      revisionId: randomUUID(),
    };
    record.versions.set(version.version, version);
    record.nextVersion += 1;
    return version;
  };

  const versionOf = (name: string, record: FunctionRecord, version: unknown): string => {
    if (typeof version !== 'string' || !record.versions.has(version)) {
      throw new Failure(
        404,
        'ResourceNotFoundException',
        `Function not found: ${arnOf(name, String(version))}`,
      );
    }
    return version;
  };

  const inProgress = (name: string, record: FunctionRecord) => {
    if (record.latest.lastUpdateStatus === 'InProgress') {
      throw new Failure(
        409,
        'ResourceConflictException',
        `The operation cannot be performed at this time. An update is in progress for resource: ${arnOf(name)}`,
      );
    }
  };

  const checkRevision = (expected: string, given: unknown) => {
    if (given !== undefined && given !== expected) {
      throw new Failure(
        412,
        'PreconditionFailedException',
        'The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id',
      );
    }
  };

  type Handler = (
    name: string,
    alias: string | undefined,
    body: Record<string, unknown>,
    query: Record<string, string>,
  ) => { status: number; body: unknown };

  const handlers: Record<LambdaOperation, Handler> = {
    UpdateFunctionCode(name, _alias, body) {
      const record = recordOf(name);
      inProgress(name, record);
      checkRevision(record.latest.revisionId, body.RevisionId);
      if (typeof body.ZipFile !== 'string') {
        throw new Failure(400, 'InvalidParameterValueException', 'ZipFile is required here');
      }
      const zip = Buffer.from(body.ZipFile, 'base64');
      try {
        readZipArchive(zip);
      } catch {
        throw new Failure(
          400,
          'InvalidParameterValueException',
          'Could not unzip uploaded file. Please check your file, then try to upload again.',
        );
      }
      record.latest = {
        zip,
        codeSha256: codeSha256Of(zip),
        revisionId: randomUUID(),
        lastUpdateStatus: updateReads > 0 ? 'InProgress' : 'Successful',
        lastUpdateStatusReason: undefined,
        pendingReads: updateReads,
      };
      const configuration = latestConfiguration(name, record);
      if (body.Publish === true && updateReads === 0) publish(record, '');
      return { status: 200, body: configuration };
    },

    PublishVersion(name, _alias, body) {
      const record = recordOf(name);
      inProgress(name, record);
      checkRevision(record.latest.revisionId, body.RevisionId);
      if (body.CodeSha256 !== undefined && body.CodeSha256 !== record.latest.codeSha256) {
        throw new Failure(
          400,
          'InvalidParameterValueException',
          `CodeSHA256 (${String(body.CodeSha256)}) is different from current CodeSHA256 in $LATEST (${record.latest.codeSha256}). Please try again with the current CodeSHA256.`,
        );
      }
      const version = publish(record, typeof body.Description === 'string' ? body.Description : '');
      return { status: 201, body: configurationOf(name, version, version.version) };
    },

    GetAlias(name, alias) {
      const record = recordOf(name);
      const found = alias === undefined ? undefined : record.aliases.get(alias);
      if (!found) {
        throw new Failure(
          404,
          'ResourceNotFoundException',
          `Alias not found: ${arnOf(name, alias)}`,
        );
      }
      return { status: 200, body: aliasConfiguration(name, found) };
    },

    UpdateAlias(name, alias, body) {
      const record = recordOf(name);
      const found = alias === undefined ? undefined : record.aliases.get(alias);
      if (!found) {
        throw new Failure(
          404,
          'ResourceNotFoundException',
          `Alias not found: ${arnOf(name, alias)}`,
        );
      }
      checkRevision(found.revisionId, body.RevisionId);
      const version =
        body.FunctionVersion === undefined
          ? found.version
          : versionOf(name, record, body.FunctionVersion);
      const routing = body.RoutingConfig as
        | { AdditionalVersionWeights?: Record<string, number> }
        | undefined;
      const updated: AliasState = {
        name: found.name,
        version,
        description: typeof body.Description === 'string' ? body.Description : found.description,
        revisionId: randomUUID(),
        weights: routing ? { ...(routing.AdditionalVersionWeights ?? {}) } : found.weights,
      };
      record.aliases.set(found.name, updated);
      return { status: 200, body: aliasConfiguration(name, updated) };
    },

    CreateAlias(name, _alias, body) {
      const record = recordOf(name);
      const aliasName = body.Name;
      if (typeof aliasName !== 'string' || !/^(?!\d+$)[a-zA-Z0-9_-]{1,128}$/.test(aliasName)) {
        throw new Failure(400, 'InvalidParameterValueException', 'Name is not a valid alias name');
      }
      if (record.aliases.has(aliasName)) {
        throw new Failure(
          409,
          'ResourceConflictException',
          `Alias already exists: ${arnOf(name, aliasName)}`,
        );
      }
      const created: AliasState = {
        name: aliasName,
        version: versionOf(name, record, body.FunctionVersion),
        description: typeof body.Description === 'string' ? body.Description : '',
        revisionId: randomUUID(),
        weights: {},
      };
      record.aliases.set(aliasName, created);
      return { status: 201, body: aliasConfiguration(name, created) };
    },

    GetFunctionConfiguration(name, _alias, _body, query) {
      const record = recordOf(name);
      const qualifier = query.Qualifier;
      if (qualifier === undefined || qualifier === '$LATEST') {
        const latest = record.latest;
        if (latest.lastUpdateStatus === 'InProgress') {
          latest.pendingReads -= 1;
          if (latest.pendingReads <= 0) {
            record.latest = {
              ...latest,
              lastUpdateStatus: updateOutcome.status,
              lastUpdateStatusReason:
                updateOutcome.status === 'Failed' ? (updateOutcome.reason ?? 'failed') : undefined,
              // Finishing the update is a change of the function: a new revision.
              revisionId: randomUUID(),
            };
          }
        }
        return { status: 200, body: latestConfiguration(name, record) };
      }
      const aliased = record.aliases.get(qualifier);
      const version = versionOf(name, record, aliased ? aliased.version : qualifier);
      const state = record.versions.get(version) as VersionState;
      return { status: 200, body: configurationOf(name, state, version) };
    },

    GetFunction(name, alias, body, query) {
      const { body: configuration } = handlers.GetFunctionConfiguration(name, alias, body, query);
      return {
        status: 200,
        body: {
          Configuration: configuration,
          Code: { RepositoryType: 'S3', Location: `https://lambda-code.invalid/${name}.zip` },
        },
      };
    },
  };

  const route = (
    method: string,
    pathname: string,
  ): { operation: LambdaOperation; name: string; alias?: string } | undefined => {
    if (!pathname.startsWith(API)) return undefined;
    const parts = pathname.slice(API.length).split('/');
    const name = nameOf(decodeURIComponent(parts[0] ?? ''));
    const rest = parts.slice(1).join('/');
    if (method === 'GET' && rest === '') return { operation: 'GetFunction', name };
    if (method === 'PUT' && rest === 'code') return { operation: 'UpdateFunctionCode', name };
    if (method === 'POST' && rest === 'versions') return { operation: 'PublishVersion', name };
    if (method === 'GET' && rest === 'configuration') {
      return { operation: 'GetFunctionConfiguration', name };
    }
    if (method === 'POST' && rest === 'aliases') return { operation: 'CreateAlias', name };
    const alias = /^aliases\/([^/]+)$/.exec(rest)?.[1];
    if (alias !== undefined) {
      const decoded = decodeURIComponent(alias);
      if (method === 'GET') return { operation: 'GetAlias', name, alias: decoded };
      if (method === 'PUT') return { operation: 'UpdateAlias', name, alias: decoded };
    }
    return undefined;
  };

  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const text = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const query = Object.fromEntries(url.searchParams);
    const method = req.method ?? 'GET';
    const found = route(method, url.pathname);
    let body: Record<string, unknown> | undefined;
    const record: RecordedLambdaRequest = {
      operation: found?.operation ?? 'unknown',
      method,
      path: url.pathname,
      query,
      functionName: found?.name,
      aliasName: found?.alias,
      body: undefined,
      authorization: req.headers.authorization,
      status: 0,
    };
    requests.push(record);
    const answer = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      res.writeHead(status, {
        'content-type': 'application/json',
        'x-amzn-requestid': randomUUID(),
        ...headers,
      });
      res.end(JSON.stringify(payload));
    };
    const fail = (failure: LambdaFailure) =>
      answer(
        failure.status,
        {
          Type: failure.status >= 500 ? 'Service' : 'User',
          message: failure.message ?? failure.code,
        },
        { 'x-amzn-errortype': failure.code },
      );

    // The SDK signs every request (SigV4) for this service and region.
    const scope = `/${region}/lambda/aws4_request`;
    if (!req.headers.authorization?.startsWith('AWS4-HMAC-SHA256 Credential=')) {
      return fail({ status: 403, code: 'MissingAuthenticationTokenException' });
    }
    if (!req.headers.authorization.includes(scope)) {
      return fail({
        status: 403,
        code: 'InvalidSignatureException',
        message: `Credential should be scoped to ${scope}`,
      });
    }
    if (!found) {
      return fail({
        status: 404,
        code: 'UnknownOperationException',
        message: `${method} ${url.pathname}`,
      });
    }
    if (text !== '') {
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return fail({ status: 400, code: 'InvalidRequestContentException', message: 'not JSON' });
      }
    }
    (record as { body: Record<string, unknown> | undefined }).body = body;

    hooks.get(found.operation)?.shift()?.();
    const scripted = failures.get(found.operation)?.shift();
    if (scripted) return fail(scripted);
    try {
      const result = handlers[found.operation](found.name, found.alias, body ?? {}, query);
      return answer(result.status, result.body);
    } catch (error) {
      if (error instanceof Failure) {
        return fail({ status: error.status, code: error.code, message: error.message });
      }
      return fail({ status: 500, code: 'ServiceException', message: String(error) });
    }
  });

  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => done());
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    region,
    accountId,
    requests,
    operations: () =>
      requests
        .map((request) => request.operation)
        .filter((operation): operation is LambdaOperation => operation !== 'unknown'),
    addFunction(name, seed = {}) {
      const zip = seed.zip ?? placeholderZip();
      const record: FunctionRecord = {
        latest: {
          zip,
          codeSha256: codeSha256Of(zip),
          revisionId: randomUUID(),
          lastUpdateStatus: 'Successful',
          lastUpdateStatusReason: undefined,
          pendingReads: 0,
        },
        versions: new Map(),
        aliases: new Map(),
        nextVersion: 1,
      };
      if (seed.aliases?.length) {
        const first = publish(record, 'initial deployment');
        for (const alias of seed.aliases) {
          record.aliases.set(alias, {
            name: alias,
            version: first.version,
            description: '',
            revisionId: randomUUID(),
            weights: {},
          });
        }
      }
      functions.set(name, record);
    },
    fn(name) {
      const record = functions.get(name);
      if (!record) throw new Error(`no function ${name}`);
      return { latest: record.latest, versions: record.versions, aliases: record.aliases };
    },
    failNext(operation, failure, times = 1) {
      const queue = failures.get(operation) ?? [];
      for (let n = 0; n < times; n += 1) queue.push(failure);
      failures.set(operation, queue);
    },
    beforeNext(operation, hook) {
      const queue = hooks.get(operation) ?? [];
      queue.push(hook);
      hooks.set(operation, queue);
    },
    slowUpdates(reads, outcome = { status: 'Successful' }) {
      updateReads = reads;
      updateOutcome = outcome;
    },
    moveAlias(name, alias, version) {
      const record = recordOf(name);
      const found = record.aliases.get(alias);
      if (!found) throw new Error(`no alias ${alias}`);
      record.aliases.set(alias, { ...found, version, revisionId: randomUUID() });
    },
    replaceCode(name, zip) {
      const record = recordOf(name);
      record.latest = {
        ...record.latest,
        zip,
        codeSha256: codeSha256Of(zip),
        revisionId: randomUUID(),
      };
    },
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

/** `arn:…:function:name[:qualifier]`, `123456789012:function:name` or `name` → `name`. */
function nameOf(functionName: string): string {
  const match = /(?:^|:)function:([a-zA-Z0-9_-]+)/.exec(functionName);
  return match?.[1] ?? functionName;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((done, fail) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => done(Buffer.concat(chunks).toString('utf8')));
    req.on('error', fail);
  });
}

/** A package holding a placeholder handler, for functions seeded without code. */
const placeholderZip = (): Buffer =>
  createZipArchive([
    { name: 'index.mjs', data: "export const handler = async () => 'placeholder';\n" },
  ]);
