import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { type StageSpec, streams, topology } from '../topology.js';
import type { AppTables, DataStack } from './data-stack.js';
import { RedisStreamPoller } from './redis-stream-poller.js';
import {
  type DataAccess,
  type FunctionNetwork,
  SelfHealFunction,
  secondsOf,
} from './selfheal-function.js';
import { POLL_WINDOW_MS, StageFunction } from './stage-function.js';

/** The repository root, two levels above this file. */
export const REPO_ROOT = path.resolve(fileURLToPath(new URL('../../', import.meta.url)));

/**
 * Stages that need more than the default memory: verify builds a candidate release with esbuild
 * and replays requests in a sandboxed child process, heal re-imports and backfills through it.
 */
const MEMORY_MB_BY_STAGE: Readonly<Record<string, number>> = {
  verify: 1024,
  heal: 1024,
};

type TableName = keyof AppTables['byName'];

/** What a stage may do with its tables, the release bucket and the target's records. */
export interface StageAccess {
  readonly tables: Partial<Record<TableName, DataAccess>>;
  /** Release bundles and patches in S3. */
  readonly releases?: DataAccess;
  /** The target's product records (the demo shop's table, when deployed). */
  readonly targetRecords?: DataAccess;
  /** Optional API keys (Morph, the LLM planner). */
  readonly integrations?: boolean;
}

/**
 * Least privilege per stage, from what each core reads and writes: every stage records applied
 * inputs (idempotency); ingest keeps the snapshots; the others reach the small named values
 * (deltas, sync markers, proposals, candidates, heal state) as their code does. A stage not
 * listed gets idempotency only.
 */
export const STAGE_ACCESS: Readonly<Record<string, StageAccess>> = {
  ingest: { tables: { idempotency: 'readWrite', snapshots: 'readWrite', kv: 'readWrite' } },
  sync: {
    tables: { idempotency: 'readWrite', kv: 'readWrite', snapshots: 'read' },
    targetRecords: 'readWrite',
  },
  validator: { tables: { idempotency: 'readWrite', kv: 'read' }, targetRecords: 'read' },
  probe: { tables: { idempotency: 'readWrite', kv: 'read' } },
  rca: { tables: { idempotency: 'readWrite', kv: 'read' }, releases: 'read' },
  patch: {
    tables: { idempotency: 'readWrite', kv: 'read' },
    releases: 'readWrite',
    integrations: true,
  },
  guard: { tables: { idempotency: 'readWrite', kv: 'readWrite' }, releases: 'read' },
  verify: {
    tables: { idempotency: 'readWrite', kv: 'readWrite', snapshots: 'read' },
    releases: 'readWrite',
    targetRecords: 'read',
  },
  heal: {
    tables: { idempotency: 'readWrite', kv: 'readWrite', snapshots: 'read' },
    releases: 'read',
    targetRecords: 'readWrite',
  },
};

/**
 * Stages that work on the target: they attach to the demo shop at cold start
 * (`SELFHEAL_TARGET`), which builds its releases, so they ship the healing path's toolchain.
 */
const STAGES_WITHOUT_TARGET: ReadonlySet<string> = new Set(['ingest']);

const DEFAULT_ACCESS: StageAccess = { tables: { idempotency: 'readWrite' } };

/** Where the stream copier stops before its deadline, plus one period of overlap. */
const COPIER_TIMEOUT = secondsOf(POLL_WINDOW_MS + 10_000);

/**
 * How long one SSE connection lasts before the client reconnects with its last id (set as
 * `SELFHEAL_SSE_MAX_CONNECTION_MS`; the function's timeout leaves a minute beyond it).
 */
const SSE_MAX_CONNECTION_MS = 5 * 60_000;

/** Properties of the {@link PipelineStack}. */
export interface PipelineStackProps extends StackProps {
  readonly network: FunctionNetwork;
  readonly data: DataStack;
  /**
   * The stages to deploy.
   * @default topology (the manifest in `infra/topology.ts`)
   */
  readonly stages?: readonly StageSpec[];
  /**
   * Root that handler paths are relative to.
   * @default REPO_ROOT
   */
  readonly repoRoot?: string;
  /** Base URL of the target's API, for the probes (`SELFHEAL_TARGET_URL`). */
  readonly targetUrl?: string;
  /**
   * The target's sync function (unqualified ARN): heals ship releases to it through the Lambda
   * deployer (code, version, alias); unset, the active release is the pointer alone.
   */
  readonly targetSyncFunctionArn?: string;
}

/**
 * The healing pipeline in AWS.
 *
 * - One {@link StageFunction} per stage of the topology manifest, in the VPC, each bound to the
 *   streams, the trace store and only the tables its code touches, and one
 *   {@link RedisStreamPoller} (an EventBridge Scheduler schedule) per stage.
 * - The trace copier: a scheduled function in the VPC that copies the `traces` stream into
 *   DynamoDB for the SSE function.
 * - The API and webhooks on a Function URL (in the VPC, buffered responses).
 * - The SSE stream (`GET /api/stream`) on its own Function URL in `RESPONSE_STREAM` mode, outside
 *   the VPC: AWS does not support response streaming through Function URLs for functions in a
 *   VPC, and ElastiCache is reachable only from inside it, so this function tails the DynamoDB
 *   copy of the trace stream instead (same entry ids, so `Last-Event-ID` resumes unchanged).
 *
 * Environment-agnostic and free of lookups, so it synthesizes offline.
 */
export class PipelineStack extends Stack {
  /** The stage functions, by stage name. */
  readonly stageFunctions: ReadonlyMap<string, StageFunction>;
  /** The schedule of each stage, by stage name. */
  readonly pollers: ReadonlyMap<string, RedisStreamPoller>;
  readonly traceCopier: SelfHealFunction;
  readonly api: SelfHealFunction;
  readonly apiUrl: lambda.FunctionUrl;
  readonly stream: SelfHealFunction;
  readonly streamUrl: lambda.FunctionUrl;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    const stages = props.stages ?? topology;
    const repoRoot = props.repoRoot ?? REPO_ROOT;
    const { network, data } = props;
    const { cache, database, tables, secrets } = data;

    const functions = new Map<string, StageFunction>();
    const pollers = new Map<string, RedisStreamPoller>();
    for (const stage of stages) {
      const id = constructIdOf(stage.name);
      const attached = !STAGES_WITHOUT_TARGET.has(stage.name);
      const fn = new StageFunction(this, `${id}Stage`, {
        stage,
        repoRoot,
        network,
        memorySize: MEMORY_MB_BY_STAGE[stage.name],
        toolchain: attached,
        environment: {
          ...(attached ? { SELFHEAL_TARGET: 'demo-shop' } : {}),
          ...(props.targetUrl ? { SELFHEAL_TARGET_URL: props.targetUrl } : {}),
        },
      });
      fn.bindRedis(cache).bindTraceStore(database);
      const access = STAGE_ACCESS[stage.name] ?? DEFAULT_ACCESS;
      for (const [name, level] of Object.entries(access.tables) as Array<[TableName, DataAccess]>) {
        fn.bindTable(tables, name, level);
      }
      if (access.releases)
        fn.bindBucket(data.releases, 'SELFHEAL_RELEASES_BUCKET', access.releases);
      if (access.targetRecords) {
        fn.bindNamedTable(data.shopRecords, 'SELFHEAL_SHOP_TABLE', access.targetRecords);
      }
      if (props.targetSyncFunctionArn && attached) {
        fn.bindTargetFunction(
          props.targetSyncFunctionArn,
          stage.name === 'heal' ? 'deploy' : 'read',
        );
      }
      if (access.integrations) {
        fn.bindSecret(secrets.integrations, 'MORPH_API_KEY', { field: 'morphApiKey' });
        fn.bindSecret(secrets.integrations, 'LLM_API_KEY', { field: 'llmApiKey' });
      }
      functions.set(stage.name, fn);
      pollers.set(
        stage.name,
        new RedisStreamPoller(this, `${id}Poller`, {
          fn: fn.fn,
          name: stage.name,
          stream: stage.input,
        }),
      );
    }
    this.stageFunctions = functions;
    this.pollers = pollers;

    this.traceCopier = new SelfHealFunction(this, 'TraceCopier', {
      entry: 'infra/aws/handlers/trace-mirror.ts',
      repoRoot,
      description: `Copies ${streams.traces} from ElastiCache to DynamoDB for the SSE stream`,
      timeout: COPIER_TIMEOUT,
      memorySize: 256,
      network,
      secretsExtension: false,
    });
    this.traceCopier
      .bindRedis(cache)
      .bindNamedTable(data.traceMirror, 'SELFHEAL_TRACE_MIRROR_TABLE', 'readWrite');
    new RedisStreamPoller(this, 'TraceCopierPoller', {
      fn: this.traceCopier.fn,
      name: 'trace-copier',
      stream: streams.traces,
    });

    this.api = new SelfHealFunction(this, 'Api', {
      entry: 'infra/aws/handlers/api.ts',
      repoRoot,
      description: 'API and catalog webhooks',
      timeout: Duration.seconds(30),
      network,
      environment: props.targetUrl ? { SELFHEAL_TARGET_URL: props.targetUrl } : {},
    });
    this.api
      .bindRedis(cache)
      .bindTraceStore(database)
      .bindTable(tables, 'kv', 'readWrite')
      .bindSecret(secrets.adminToken, 'SELFHEAL_ADMIN_TOKEN')
      .bindSecret(secrets.webhookSecret, 'SELFHEAL_WEBHOOK_SECRET', { prefix: 'whsec_' })
      .bindSecret(secrets.shopifyWebhookSecret, 'SHOPIFY_WEBHOOK_SECRET');
    // Webhook senders cannot sign for IAM: the webhooks verify their own signatures, admin
    // actions check the bearer token.
    this.apiUrl = this.api.fn.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });

    this.stream = new SelfHealFunction(this, 'Stream', {
      entry: 'infra/aws/handlers/stream.ts',
      repoRoot,
      description: 'Live trace stream (SSE), read from the DynamoDB copy of the trace stream',
      // One invocation per connection: the connection ends cleanly before the deadline and the
      // browser reconnects with Last-Event-ID.
      timeout: secondsOf(SSE_MAX_CONNECTION_MS + 60_000),
      memorySize: 256,
      secretsExtension: false,
      environment: { SELFHEAL_SSE_MAX_CONNECTION_MS: String(SSE_MAX_CONNECTION_MS) },
    });
    this.stream.bindNamedTable(data.traceMirror, 'SELFHEAL_TRACE_MIRROR_TABLE', 'read');
    this.streamUrl = this.stream.fn.addFunctionUrl({
      authType: lambda.FunctionUrlAuthType.NONE,
      invokeMode: lambda.InvokeMode.RESPONSE_STREAM,
    });

    new CfnOutput(this, 'ApiFunctionUrl', { value: this.apiUrl.url });
    new CfnOutput(this, 'StreamFunctionUrl', { value: this.streamUrl.url });
  }
}

/** `catalog-sync` → `CatalogSync`: a stable, readable logical id prefix per stage. */
const constructIdOf = (stageName: string): string =>
  stageName
    .split(/[^a-zA-Z0-9]+/)
    .filter((part) => part.length > 0)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
