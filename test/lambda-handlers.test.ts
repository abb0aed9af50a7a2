import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CreateTableCommand, DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { createEvent, deriveEventId, type EventType, parseEvent } from '../events/index.js';
import { DynamoTraceMirror } from '../functions/adapters/bus/dynamo-trace-mirror.js';
import { RedisStreamsBus } from '../functions/adapters/bus/redis-streams-bus.js';
import {
  createDynamoClients,
  type DynamoClients,
} from '../functions/adapters/kv/dynamodb-client.js';
import { createDynamoKv } from '../functions/adapters/kv/dynamodb-kv.js';
import { deleteTables, ensureTables, tableNames } from '../functions/adapters/kv/tables.js';
import { snapshotKey } from '../functions/ingest/snapshots.js';
import { activeReleaseKey } from '../functions/runtime/keys.js';
import type { PollerStats } from '../functions/runtime/poller.js';
import type { CatalogItem } from '../functions/shop/catalog.js';
import { shopTarget } from '../functions/shop/manifest.js';
import { FLAGSHIP_ORDER_ID } from '../functions/shop/orders.js';
import { buildShopRelease } from '../functions/shop/releases.js';
import { FLAGSHIP_SKU } from '../functions/shop/seed.js';
import type { FunctionUrlEvent } from '../functions/stream/lambda-streaming.js';
import { LambdaDeployer, lambdaPackageOf } from '../functions/target/lambda-deployer.js';
import { PointerDeployer } from '../functions/target/release-pointer.js';
import { sha256 } from '../functions/target/releases.js';
import { TARGET_SOURCE_DIR } from '../infra/aws/lambda-asset.js';
import { REPO_ROOT } from '../infra/aws/pipeline-stack.js';
import { SelfHealFunction } from '../infra/aws/selfheal-function.js';
import { stageEntryOf } from '../infra/aws/stage-function.js';
import { telemetry } from '../infra/telemetry.js';
import { type StageSpec, stageNamed, streams, topology } from '../infra/topology.js';
import { itemsOf } from '../scenarios/catalog.js';
import { type BundledHandler, bundleHandlers } from './support/bundle-handler.js';
import { cdkContext } from './support/cdk-templates.js';
import {
  codeSha256Of,
  type LambdaApiServer,
  packageOf,
  type RecordedLambdaRequest,
  startLambdaApiServer,
} from './support/lambda-api-server.js';
import {
  type FunctionUrlHandler,
  installStreamingRuntime,
  type LambdaContext,
  lambdaContext,
  ResponseCapture,
  serveFunctionUrl,
} from './support/lambda-runtime.js';
import {
  isCI,
  requireService,
  TEST_DATABASE_URL,
  TEST_REDIS_URL,
  uniqueName,
} from './support/services.js';

const redisUp = await requireService('redis');
const postgresUp = await requireService('postgres');
const dynamodbLocal = inject('dynamodbLocalEndpoint');
if (!dynamodbLocal && !isCI) {
  console.warn('[skip] Lambda handler tests skipped outside CI: DynamoDB Local is not running');
}
const servicesUp = redisUp && postgresUp && dynamodbLocal !== '';

/** The Lambda entries the CDK app deploys, besides one scheduled poller per stage. */
const TRACE_COPIER_ENTRY = 'infra/aws/handlers/trace-mirror.ts';
const STREAM_ENTRY = 'infra/aws/handlers/stream.ts';
const SHOP_ENTRY = 'infra/aws/handlers/shop.ts';
/** The target's sync function the heal stage ships releases to. */
const SYNC_FUNCTION = 'shop-sync';

/** The functions that attach to the demo shop, as the pipeline and demo shop stacks set them up. */
const ATTACHED: readonly string[] = [
  ...topology.filter((stage) => stage.name !== 'ingest').map((stage) => stage.name),
  'shop',
];

/** The event type each stage's handler accepts (its `accepts`), with a fixture of it. */
const ACCEPTS: Readonly<Record<string, EventType>> = {
  ingest: 'catalog.push',
  sync: 'catalog.push',
  validator: 'target.write',
  probe: 'catalog.delta',
  rca: 'signal',
  patch: 'diagnosis',
  guard: 'patch.proposal',
  verify: 'guard.decision',
  heal: 'verification',
};

/** What EventBridge Scheduler sends a stage's poller (`infra/aws/redis-stream-poller.ts`). */
const scheduledEvent = (name: string, stream: string) => ({
  source: 'selfheal.poller',
  poller: name,
  stream,
});

type ScheduledHandler = (event: unknown, context: LambdaContext) => Promise<unknown>;
type StreamingHandler = (
  event: FunctionUrlEvent,
  responseStream: ResponseCapture,
  context: LambdaContext,
) => Promise<void>;

/** A fixture event of `type` under a fresh id, as its producer would publish it. */
const fixtureOf = (type: EventType): { id: string; body: string } => {
  const raw = JSON.parse(
    readFileSync(path.join(REPO_ROOT, `events/fixtures/${type}.json`), 'utf8'),
  );
  const event = { ...structuredClone(raw), id: randomUUID() };
  const parsed = parseEvent(event, [type]);
  if (!parsed.ok) throw new Error(`fixture ${type} does not parse: ${parsed.reason}`);
  return { id: event.id, body: JSON.stringify(event) };
};

/** One metric line in embedded metric format, as Powertools prints it. */
interface EmfLine {
  readonly _aws: { readonly CloudWatchMetrics: ReadonlyArray<{ readonly Namespace: string }> };
  readonly [key: string]: unknown;
}

/**
 * Runs `work` with stdout captured, as CloudWatch Logs would receive it: Powertools prints its
 * metrics there in embedded metric format.
 */
async function capturingStdout<T>(work: () => Promise<T>): Promise<{ result: T; emf: EmfLine[] }> {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
    lines.push(...String(chunk).split('\n'));
    return true;
  });
  try {
    const result = await work();
    const emf = lines.flatMap((line) => {
      if (!line.startsWith('{')) return [];
      try {
        const parsed = JSON.parse(line) as Partial<EmfLine>;
        return parsed._aws?.CloudWatchMetrics ? [parsed as EmfLine] : [];
      } catch {
        return [];
      }
    });
    return { result, emf };
  } finally {
    spy.mockRestore();
  }
}

describe.skipIf(!servicesUp)(
  'Lambda handlers, bundled as deployed and invoked as Lambda does',
  () => {
    const prefix = `${uniqueName('lambda')}:`;
    const schema = uniqueName('lambda').replace(/[^a-z0-9_]/g, '_');
    const tablePrefix = uniqueName('lambda');
    const tables = tableNames(tablePrefix);
    const mirrorTable = `${tablePrefix}-trace-mirror`;
    let outdir: string;
    let bundles: Record<string, BundledHandler>;
    let pollers: Record<string, ScheduledHandler>;
    let streamHandler: StreamingHandler;
    let restoreRuntime: () => void;
    let bus: RedisStreamsBus;
    let redis: Redis;
    let database: pg.Client;
    let dynamo: DynamoClients;
    let shopHandler: FunctionUrlHandler;
    let shopServer: { url: string; close(): Promise<void> };
    let lambdaApi: LambdaApiServer;

    beforeAll(async () => {
      outdir = mkdtempSync(path.join(os.tmpdir(), 'lambda-bundles-'));
      const entries: Record<string, string> = {
        ...Object.fromEntries(topology.map((stage) => [stage.name, stageEntryOf(stage)])),
        'trace-copier': TRACE_COPIER_ENTRY,
        stream: STREAM_ENTRY,
        shop: SHOP_ENTRY,
      };
      // Under a node_modules directory: vitest leaves such modules to Node's own loader instead
      // of transforming them (its default `server.deps.external`), so the bundles are imported as
      // the Lambda runtime imports them, and megabytes of bundled code are not run through Vite.
      bundles = await bundleHandlers(entries, path.join(outdir, 'node_modules'), ATTACHED);

      // What the stacks own in AWS: the tables (the functions never create them there).
      dynamo = createDynamoClients({ endpoint: dynamodbLocal });
      await ensureTables(dynamo.client, tables);
      await dynamo.client.send(
        new CreateTableCommand({
          TableName: mirrorTable,
          BillingMode: 'PAY_PER_REQUEST',
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'sk', AttributeType: 'S' },
          ],
        }),
      );

      // The functions' environment, as the bind helpers set it, pointed at the local services.
      const env: Record<string, string> = {
        AWS_LAMBDA_FUNCTION_NAME: 'selfheal-lambda-test',
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        AWS_SESSION_TOKEN: '',
        // Lambda runs Node 22; the SDK's notice about older versions is noise from every bundle.
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        AWS_ENDPOINT_URL_DYNAMODB: dynamodbLocal,
        REDIS_URL: TEST_REDIS_URL,
        SELFHEAL_STREAM_PREFIX: prefix,
        DATABASE_URL: TEST_DATABASE_URL,
        DATABASE_SCHEMA: schema,
        SELFHEAL_TABLE_PREFIX: tablePrefix,
        SELFHEAL_TRACE_MIRROR_TABLE: mirrorTable,
        SELFHEAL_SECRETS: '',
        POLLER_BLOCK_MS: '50',
        // Failed records come back quickly, so a few polls run a record to its last delivery.
        POLLER_CLAIM_IDLE_MS: '100',
        SELFHEAL_SSE_MAX_CONNECTION_MS: '2000',
        SELFHEAL_SSE_HEARTBEAT_MS: '300',
        LOG_LEVEL: 'silent',
        POWERTOOLS_LOG_LEVEL: 'SILENT',
      };
      for (const [key, value] of Object.entries(env)) vi.stubEnv(key, value);

      // The target's sync function, deployed with `-c targetSyncFunction=<arn>`: a local Lambda
      // API where heals ship releases as code, a version and an alias move.
      lambdaApi = await startLambdaApiServer({ region: 'us-east-1' });
      lambdaApi.addFunction(SYNC_FUNCTION, { aliases: ['live'] });
      vi.stubEnv('AWS_ENDPOINT_URL_LAMBDA', lambdaApi.endpoint);

      // The demo shop's function behind a local HTTP front, as its Function URL: the probes
      // and the heal's live re-probe call it at SELFHEAL_TARGET_URL.
      shopHandler = (await import(pathToFileURL((bundles.shop as BundledHandler).file).href))
        .handler as FunctionUrlHandler;
      shopServer = await serveFunctionUrl(shopHandler);
      vi.stubEnv('SELFHEAL_TARGET_URL', shopServer.url);

      // The runtime's `awslambda` global: the SSE handler is wrapped with it at import.
      restoreRuntime = installStreamingRuntime();
      const load = async (name: string) =>
        (await import(pathToFileURL((bundles[name] as BundledHandler).file).href)) as {
          handler: unknown;
        };
      pollers = {};
      for (const name of [...topology.map((stage) => stage.name), 'trace-copier']) {
        pollers[name] = (await load(name)).handler as ScheduledHandler;
      }
      streamHandler = (await load('stream')).handler as StreamingHandler;

      bus = new RedisStreamsBus({ url: TEST_REDIS_URL, keyPrefix: prefix });
      redis = new Redis(TEST_REDIS_URL);
      database = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await database.connect();

      // Every poller's cold start, as the schedules start them: ports built (the trace store
      // migrated, the target attached where the stack sets SELFHEAL_TARGET), no time left to
      // poll. One at a time, because each reads its own environment then.
      await capturingStdout(async () => {
        for (const stage of topology) {
          attachedEnv(stage.name);
          await (pollers[stage.name] as ScheduledHandler)(
            scheduledEvent(stage.name, stage.input),
            lambdaContext(`selfheal-${stage.name}`, stage.timeoutMs),
          );
        }
        attachedEnv('shop');
        const health = await fetch(`${shopServer.url}/shop/products/SKU-0000`);
        await health.arrayBuffer();
      });
    }, 300_000);

    /** The environment the stacks give function `name`: the target settings of attached ones. */
    function attachedEnv(name: string): void {
      const attached = ATTACHED.includes(name);
      const stage = attached && name !== 'shop';
      vi.stubEnv('SELFHEAL_TARGET', stage ? 'demo-shop' : 'none');
      vi.stubEnv('SELFHEAL_LAMBDA_FUNCTION', stage ? SYNC_FUNCTION : '');
      vi.stubEnv(
        'SELFHEAL_TARGET_ROOT',
        attached ? path.join((bundles[name] as BundledHandler).dir, TARGET_SOURCE_DIR) : '',
      );
    }

    afterAll(async () => {
      await shopServer?.close();
      await lambdaApi?.close();
      restoreRuntime?.();
      vi.unstubAllEnvs();
      await bus?.close();
      if (redis) {
        const keys = await redis.keys(`${prefix}*`);
        if (keys.length > 0) await redis.del(...keys);
        await redis.quit();
      }
      if (database) {
        await database.query(`drop schema if exists "${schema}" cascade`);
        await database.end();
      }
      if (dynamo) {
        await deleteTables(dynamo.client, tables).catch(() => undefined);
        await dynamo.client
          .send(new DeleteTableCommand({ TableName: mirrorTable }))
          .catch(() => undefined);
        dynamo.client.destroy();
      }
      if (outdir) rmSync(outdir, { recursive: true, force: true });
    });

    /** Entries of `stream` still pending for `group` (delivered, not acked). */
    const pendingIds = async (stream: string, group: string): Promise<string[]> => {
      const rows = (await redis.xpending(`${prefix}${stream}`, group, '-', '+', 10_000)) as Array<
        [string, string, number, number]
      >;
      return rows.map(([id]) => id);
    };

    const deadLettersOf = async (stage: StageSpec, ids: readonly string[]) =>
      (await bus.readDeadLetters(stage.input, 10_000)).filter(
        (letter) => letter.group === stage.name && ids.includes(letter.originalId),
      );

    /**
     * Invokes a stage's poller as its schedule does, with a Lambda deadline of the stage's batch
     * budget plus up to `maxMs`; once `until` holds, the deadline is brought forward so the poller
     * stops after the batch in flight, as it does when its time runs out.
     */
    async function invokePoller(
      name: string,
      stream: string,
      marginMs: number,
      until: () => Promise<boolean>,
      maxMs = 15_000,
    ) {
      const context = lambdaContext(`selfheal-${name}`, marginMs + maxMs);
      let finished = false;
      const watching = (async () => {
        while (!finished) {
          if (await until()) {
            context.endIn(marginMs);
            return;
          }
          await new Promise((done) => setTimeout(done, 50));
        }
      })();
      const { result, emf } = await capturingStdout(async () => {
        try {
          return await (pollers[name] as ScheduledHandler)(scheduledEvent(name, stream), context);
        } finally {
          finished = true;
        }
      });
      await watching;
      const metrics = (metric: string) =>
        emf.filter((line) => line[telemetry.dimensions.stage] === name).map((line) => line[metric]);
      return { result, metrics };
    }

    const invokeStage = (stage: StageSpec, until: () => Promise<boolean>) =>
      invokePoller(stage.name, stage.input, stage.timeoutMs, until);

    it('bundles the handlers byte for byte as the CDK builds their assets', () => {
      const cdkOut = mkdtempSync(path.join(outdir, 'cdk-'));
      const stack = new Stack(new App({ outdir: cdkOut, context: cdkContext() }), 'Bundling');

      new SelfHealFunction(stack, 'Stream', {
        entry: STREAM_ENTRY,
        repoRoot: REPO_ROOT,
        description: 'bundling check',
        timeout: Duration.seconds(30),
        secretsExtension: false,
      });

      const assets = readdirSync(cdkOut).filter((name) => name.startsWith('asset.'));
      expect(assets).toHaveLength(1);
      const asset = path.join(cdkOut, assets[0] as string);
      const ours = bundles.stream as BundledHandler;
      expect(readFileSync(path.join(asset, 'index.mjs')).equals(readFileSync(ours.file))).toBe(
        true,
      );
      expect(readdirSync(path.join(asset, 'drizzle')).sort()).toEqual(
        readdirSync(path.join(ours.dir, 'drizzle')).sort(),
      );
    }, 60_000);

    it.each(topology.map((stage) => [stage.name, stage] as const))(
      'stage %s dead-letters malformed records at once, with the reason',
      async (_name, stage) => {
        const notJson = await bus.publish(stage.input, '{"type": "catalog.push", ');
        const otherType = await bus.publish(stage.input, fixtureOf('trace.step').body);

        const { result, metrics } = await invokeStage(
          stage,
          async () => (await deadLettersOf(stage, [notJson, otherType])).length === 2,
        );

        const letters = await deadLettersOf(stage, [notJson, otherType]);
        expect(letters.map((letter) => [letter.originalId, letter.deliveries])).toEqual([
          [notJson, 1],
          [otherType, 1],
        ]);
        expect(letters[0]?.reason).toMatch(/^malformed JSON: /);
        expect(letters[1]?.reason).toBe(
          `unexpected event type "trace.step", expected ${ACCEPTS[stage.name]}`,
        );
        expect(await pendingIds(stage.input, stage.name)).not.toContain(notJson);
        expect(result).toMatchObject({ deadLettered: expect.any(Number) });
        expect((result as PollerStats).deadLettered).toBeGreaterThanOrEqual(2);
        // The alarm's metrics, in embedded metric format on stdout.
        expect(metrics(telemetry.metrics.deadLettered)[0]).toBeGreaterThanOrEqual(2);
        expect(metrics(telemetry.metrics.deadLetterBacklog)[0]).toBeGreaterThanOrEqual(2);
      },
    );

    it('stage ingest turns a catalog push into a delta, a snapshot and a trace step', async () => {
      const stage = stageNamed('ingest');
      const push = fixtureOf('catalog.push');
      const entryId = await bus.publish(stage.input, push.body);

      const { result, metrics } = await invokeStage(stage, async () => {
        const stats = await bus.stats(stage.input, stage.name);
        return stats.lag === 0 && stats.pending === 0;
      });

      expect(result).toMatchObject({ failed: 0 });
      expect(await pendingIds(stage.input, stage.name)).not.toContain(entryId);
      expect(metrics(telemetry.metrics.recordsProcessed)[0]).toBeGreaterThanOrEqual(1);

      const deltas = (await bus.range(streams.catalogDeltas, '0-0', 1_000)).flatMap(({ body }) => {
        const parsed = parseEvent(body, ['catalog.delta']);
        return parsed.ok ? [parsed.event] : [];
      });
      const delta = deltas.find((event) => event.id === deriveEventId('ingest', push.id, 0));
      expect(delta).toMatchObject({
        source: 'ingest',
        data: { push_id: 'push-20261203-0200', catalog_version: '2026-12-03.1' },
      });

      const snapshot = await dynamo.doc.send(
        new GetCommand({ TableName: tables.snapshots, Key: snapshotKey('SKU-1001') }),
      );
      expect(snapshot.Item).toMatchObject({ pk: 'item#SKU-1001' });
      const applied = await dynamo.doc.send(
        new GetCommand({ TableName: tables.idempotency, Key: { pk: `ingest#${push.id}` } }),
      );
      expect(applied.Item).toMatchObject({ scope: 'ingest', key: push.id });

      const steps = await database.query(
        `select stage, status, detail from "${schema}".trace_steps where detail->>'input' = $1`,
        [push.id],
      );
      expect(steps.rows).toEqual([
        expect.objectContaining({
          stage: 'ingest',
          status: 'ok',
          detail: expect.objectContaining({ push_id: 'push-20261203-0200', items: 1 }),
        }),
      ]);
      const traced = (await bus.range(streams.traces, '0-0', 1_000)).some(({ body }) => {
        const parsed = parseEvent(body, ['trace.step']);
        return parsed.ok && parsed.event.data.detail.input === push.id;
      });
      expect(traced).toBe(true);
    });

    it('heals the return-policy fault end to end through the bundled stage and shop functions', async () => {
      const pushOf = (items: readonly CatalogItem[], label: string) =>
        createEvent(
          'catalog.push',
          {
            push_id: `lambda-${label}-${randomUUID()}`,
            catalog_version: `lambda.${label}`,
            pushed_at: new Date().toISOString(),
            items: [...items],
          },
          { source: 'webhooks/catalog' },
        );
      const drain = async (name: string) => {
        const stage = stageNamed(name);
        const { result } = await invokeStage(stage, async () => {
          const stats = await bus.stats(stage.input, stage.name);
          return stats.lag === 0 && stats.pending === 0;
        });
        return result as PollerStats;
      };
      const pointer = async () =>
        (
          await dynamo.doc.send(
            new GetCommand({ TableName: tables.kv, Key: activeReleaseKey(shopTarget.name) }),
          )
        ).Item;
      const eligibility = () =>
        fetch(`${shopServer.url}/shop/returns/eligibility`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ order_id: FLAGSHIP_ORDER_ID, sku: FLAGSHIP_SKU }),
        });

      // The catalog as the shop knows it, synced through R1 (no pointer yet: R1 by default).
      const seed = itemsOf('clearance');
      await bus.publish(streams.catalogPushes, JSON.stringify(pushOf(seed, 'seed')));
      for (const name of ['ingest', 'sync', 'validator']) await drain(name);
      expect(await pointer()).toBeUndefined();
      expect((await eligibility()).status).toBe(200);

      // The cold starts found no pointer and put R1 behind the sync function's alias.
      const r1 = await buildShopRelease('R1');
      const r2 = await buildShopRelease('R2', { parent: r1 });
      const served = () => {
        const fn = lambdaApi.fn(SYNC_FUNCTION);
        const version = fn.aliases.get('live')?.version ?? '';
        return fn.versions.get(version)?.codeSha256;
      };
      expect(served()).toBe(lambdaPackageOf(r1).codeSha256);

      // A bad deploy: R2, the refactor that drops return_policy, shipped as the release.
      const kv = createDynamoKv(dynamo.doc, { transactions: 'native' });
      const deployed = await new PointerDeployer(
        new LambdaDeployer({
          functionName: SYNC_FUNCTION,
          exportName: shopTarget.mapper.export,
          dir: path.join(outdir, 'deploy-tool'),
        }),
        { kv, table: tables.kv, key: activeReleaseKey(shopTarget.name).pk },
      ).activate(r2);
      expect(deployed.ok).toBe(true);
      expect(served()).toBe(lambdaPackageOf(r2).codeSha256);
      const afterBadDeploy = lambdaApi.requests.length;

      // The nightly push through R2: records lose their return policy; the functions notice,
      // diagnose, patch, guard, verify and heal by themselves.
      const later = new Date(Date.now() + 60_000).toISOString();
      const nightly = seed.map((item) => ({
        ...item,
        return_policy: { type: 'final_sale' as const, window_days: 0 },
        updated_at: later,
      }));
      await bus.publish(streams.catalogPushes, JSON.stringify(pushOf(nightly, 'nightly')));
      const failures: Record<string, number> = {};
      for (const name of [
        'ingest',
        'sync',
        'validator',
        'probe',
        'rca',
        'patch',
        'guard',
        'verify',
        'heal',
      ]) {
        failures[name] = (await drain(name)).failed;
      }
      expect(failures).toEqual(Object.fromEntries(Object.keys(failures).map((name) => [name, 0])));

      const outcomes = (await bus.range(streams.outcomes, '0-0', 1_000)).flatMap(({ body }) => {
        const parsed = parseEvent(body, ['heal.outcome']);
        return parsed.ok ? [parsed.event] : [];
      });
      expect(outcomes).toHaveLength(1);
      const outcome = outcomes[0];
      expect(outcome?.data).toMatchObject({ status: 'healed', previous_release_id: r2.id });
      expect(outcome?.data.backfill.repaired).toBe(seed.length);
      expect(outcome?.data.backfill.failed).toBe(0);
      // Every function reads the same pointer: the verified candidate is live.
      const live = await pointer();
      expect(live).toMatchObject({ release_id: outcome?.data.release_id });
      expect(outcome?.data.release_id).not.toBe(r2.id);
      // The heal shipped it: code, then a version, then the alias; the followers uploaded nothing.
      const shipped = lambdaApi.requests
        .slice(afterBadDeploy)
        .filter((request) => !['GetAlias', 'GetFunctionConfiguration'].includes(request.operation));
      expect(shipped.map((request) => request.operation)).toEqual([
        'UpdateFunctionCode',
        'PublishVersion',
        'UpdateAlias',
      ]);
      const bundle = packageOf(shipped[0] as RecordedLambdaRequest).get('index.mjs')?.data;
      expect(bundle && sha256(bundle.toString('utf8'))).toBe(live?.hash);
      const zip = shipped[0]?.body?.ZipFile;
      expect(served()).toBe(codeSha256Of(Buffer.from(String(zip), 'base64')));

      // The shop answers again, from the repaired records.
      const answer = await eligibility();
      expect(answer.status).toBe(200);
      expect(await answer.json()).toMatchObject({ eligible: false, window_days: 0 });
      const incidents = await database.query(
        `select status, fault_class from "${schema}".incidents where id = $1`,
        [outcome?.incident_id],
      );
      expect(incidents.rows).toEqual([{ status: 'healed', fault_class: 'dropped-field' }]);
    }, 240_000);

    it('a stage, the trace copier and the SSE function stream a trace step as SSE frames', async () => {
      const ingest = stageNamed('ingest');
      const push = fixtureOf('catalog.push');
      await bus.publish(ingest.input, push.body);
      await invokeStage(ingest, async () => {
        const stats = await bus.stats(ingest.input, ingest.name);
        return stats.lag === 0 && stats.pending === 0;
      });
      const traces = await bus.range(streams.traces, '0-0', 1_000);
      const ingestStep = traces.find(({ body }) => {
        const parsed = parseEvent(body, ['trace.step']);
        return parsed.ok && parsed.event.data.detail.input === push.id;
      });
      if (!ingestStep) throw new Error(`ingest recorded no trace step for ${push.id}`);
      const mirror = new DynamoTraceMirror({ doc: dynamo.doc, table: mirrorTable });

      const copied = await invokePoller(
        'trace-copier',
        streams.traces,
        10_000,
        async () => (await mirror.range(streams.traces, '0-0', 1_000)).length >= traces.length,
      );
      expect(copied.result).toMatchObject({ written: traces.length });

      const response = new ResponseCapture();
      const event: FunctionUrlEvent = {
        version: '2.0',
        rawPath: '/api/stream',
        rawQueryString: 'lastEventId=0-0',
        headers: { accept: 'text/event-stream', host: 'stream.lambda-url.us-east-1.on.aws' },
        queryStringParameters: { lastEventId: '0-0' },
        requestContext: { http: { method: 'GET', path: '/api/stream' } },
      };
      const invocation = streamHandler(event, response, lambdaContext('selfheal-stream', 360_000));
      await response.waitFor('the ingest step frame', () =>
        response.blocks().some((block) => block.id === ingestStep.id),
      );
      // The connection ends itself (SELFHEAL_SSE_MAX_CONNECTION_MS); the client would reconnect.
      await invocation;

      expect(response.prelude()).toEqual({
        statusCode: 200,
        headers: {
          'content-type': 'text/event-stream',
          'cache-control': 'no-cache',
          'x-accel-buffering': 'no',
        },
      });
      const blocks = response.blocks();
      expect(blocks[0]).toEqual({ retry: 1000, comments: [] });
      const events = blocks.filter((block) => block.data !== undefined);
      expect(events.map((block) => block.id)).toEqual(traces.map((entry) => entry.id));
      const frame = events.find((block) => block.id === ingestStep.id);
      expect(frame?.event).toBe('trace.step');
      expect(JSON.parse(frame?.data ?? '{}')).toEqual(JSON.parse(ingestStep.body));
      expect(blocks.some((block) => block.comments.includes('hb'))).toBe(true);
      expect(response.writableFinished).toBe(true);
    });

    it('the SSE function answers 400 to a malformed Last-Event-ID', async () => {
      const response = new ResponseCapture();

      await streamHandler(
        {
          version: '2.0',
          rawPath: '/api/stream',
          headers: { 'last-event-id': 'not-an-id' },
          requestContext: { http: { method: 'GET', path: '/api/stream' } },
        },
        response,
        lambdaContext('selfheal-stream', 360_000),
      );

      expect(response.prelude()).toMatchObject({ statusCode: 400 });
      expect(JSON.parse(response.body())).toEqual({
        error: 'bad_request',
        field: 'Last-Event-ID',
        message: 'a stream entry id: <ms>-<seq>',
      });
    });
  },
);
