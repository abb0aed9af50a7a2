import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Match } from 'aws-cdk-lib/assertions';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type SelfHealApp, STACK_NAMES } from '../infra/aws/create-app.js';
import { REPO_ROOT, STAGE_ACCESS } from '../infra/aws/pipeline-stack.js';
import type { SelfHealFunction } from '../infra/aws/selfheal-function.js';
import { POLL_PERIOD, POLL_WINDOW_MS, stageEntryOf } from '../infra/aws/stage-function.js';
import { topology } from '../infra/topology.js';
import {
  AppTemplates,
  type CfnResource,
  cdkContext,
  type ResourceRef,
  refOfConstruct,
  sameRef,
} from './support/cdk-templates.js';

/** Services whose actions touch data: never on `*`, never wildcard actions. */
const DATA_SERVICES = ['dynamodb', 's3', 'secretsmanager', 'rds-db', 'rds-data', 'elasticache'];

/** The DynamoDB actions that change data. */
const DYNAMO_WRITES = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
];

interface Statement {
  readonly Action: string | string[];
  readonly Effect: string;
  readonly Resource: unknown;
}

const actionsOf = (statement: Statement): string[] =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];
const resourcesOf = (statement: Statement): unknown[] =>
  Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];

describe('AWS app (every stack, demo shop on, bundled with esbuild)', () => {
  let outdir: string;
  let built: SelfHealApp;
  let app: AppTemplates;

  beforeAll(() => {
    outdir = mkdtempSync(path.join(tmpdir(), 'selfheal-cdk-'));
    // Bundling every function with esbuild happens here, once for the whole file.
    built = createApp({ app: { context: { ...cdkContext(), demoShop: 'true' }, outdir } });
    app = new AppTemplates([
      built.network,
      built.data,
      built.demoShop,
      built.pipeline,
      built.web,
      built.operations,
    ]);
  }, 180_000);

  afterAll(() => {
    rmSync(outdir, { recursive: true, force: true });
  });

  /** Every function the project builds (the custom-resource providers of CDK excluded). */
  const projectFunctions = (): Array<[string, SelfHealFunction]> => [
    ...[...built.pipeline.stageFunctions].map(([name, fn]): [string, SelfHealFunction] => [
      `stage ${name}`,
      fn,
    ]),
    ['trace copier', built.pipeline.traceCopier],
    ['api', built.pipeline.api],
    ['stream', built.pipeline.stream],
    ['demo shop', built.demoShop?.shop as SelfHealFunction],
  ];

  const cfnFunctionOf = (fn: SelfHealFunction): CfnResource => {
    const ref = refOfConstruct(fn.fn);
    const found = app.resources(ref.stack).find(([id]) => id === ref.logicalId);
    if (!found) throw new Error(`no function ${ref.logicalId}`);
    return found[1];
  };

  /** Every policy statement attached to the function's role. */
  const statementsOf = (fn: SelfHealFunction): Statement[] => {
    const role = refOfConstruct(fn.fn.role as iam.IRole);
    return app
      .resources(role.stack, 'AWS::IAM::Policy')
      .filter(([, policy]) =>
        (policy.Properties.Roles as unknown[]).some(
          (r) => app.refOf(role.stack, r)?.logicalId === role.logicalId,
        ),
      )
      .flatMap(
        ([, policy]) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement,
      );
  };

  const refsOfStatements = (fn: SelfHealFunction, service: string, stack: string): ResourceRef[] =>
    statementsOf(fn)
      .filter((s) => actionsOf(s).some((a) => a.startsWith(`${service}:`)))
      .flatMap((s) => app.refsIn(stack, s.Resource));

  describe('stages', () => {
    it('creates one function per stage of the topology, with its entry wrapping the stage handler', () => {
      expect([...built.pipeline.stageFunctions.keys()]).toEqual(topology.map((s) => s.name));
      for (const stage of topology) {
        const entry = readFileSync(path.join(REPO_ROOT, stageEntryOf(stage)), 'utf8');
        const handlerModule = stage.handler.replace(/\.ts$/, '.js');
        expect(entry).toContain(`'../../../${handlerModule}'`);
        expect(entry).toContain(`stageNamed('${stage.name}')`);
      }
    });

    it.each(topology.map((stage) => [stage.name, stage] as const))(
      'runs %s on nodejs22.x, arm64, with a poll window longer than the schedule period',
      (name, stage) => {
        const fn = cfnFunctionOf(built.pipeline.stageFunctions.get(name) as SelfHealFunction);
        expect(fn.Properties).toMatchObject({
          Runtime: 'nodejs22.x',
          Architectures: ['arm64'],
          Handler: 'index.handler',
          Timeout: Math.ceil((POLL_WINDOW_MS + stage.timeoutMs) / 1000),
          TracingConfig: { Mode: 'Active' },
          Environment: {
            Variables: expect.objectContaining({
              STAGE_NAME: stage.name,
              INPUT_STREAM: stage.input,
              OUTPUT_STREAMS: stage.outputs.join(','),
              BATCH_SIZE: String(stage.batchSize),
              MAX_DELIVERIES: String(stage.maxDeliveries),
              NODE_OPTIONS: '--enable-source-maps',
              SELFHEAL_STREAM_PREFIX: '{selfheal}:',
              SELFHEAL_TABLE_PREFIX: 'cloud',
            }),
          },
        });
        expect(POLL_WINDOW_MS).toBeGreaterThan(POLL_PERIOD.toMilliseconds());
      },
    );

    it.each(topology.map((stage) => [stage.name, stage] as const))(
      'schedules %s every minute through EventBridge Scheduler, without retries',
      (name, stage) => {
        const fn = refOfConstruct(built.pipeline.stageFunctions.get(name)?.fn as lambda.Function);
        const schedules = app
          .resources(STACK_NAMES.pipeline, 'AWS::Scheduler::Schedule')
          .filter(([, schedule]) =>
            sameRef(
              app.refOf(
                STACK_NAMES.pipeline,
                (schedule.Properties.Target as { Arn: unknown }).Arn,
              ) ?? {
                stack: '',
                logicalId: '',
              },
              fn,
            ),
          );
        expect(schedules).toHaveLength(1);
        expect(schedules[0]?.[1].Properties).toMatchObject({
          ScheduleExpression: 'rate(1 minute)',
          State: 'ENABLED',
          Target: {
            RetryPolicy: { MaximumRetryAttempts: 0 },
            Input: expect.stringContaining(`"stream":"${stage.input}"`),
          },
        });
        app.template(STACK_NAMES.pipeline).hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
          FunctionName: { Ref: fn.logicalId },
          MaximumRetryAttempts: 0,
        });
      },
    );
  });

  describe('every function', () => {
    it('runs the pinned runtime on arm64, never the floating NODEJS_LATEST', () => {
      for (const [label, fn] of projectFunctions()) {
        expect(fn.fn.runtime.name, label).toBe(lambda.Runtime.NODEJS_22_X.name);
        expect(cfnFunctionOf(fn).Properties, label).toMatchObject({
          Runtime: 'nodejs22.x',
          Architectures: ['arm64'],
        });
      }
    });

    it('logs to its own log group with a retention', () => {
      for (const [label, fn] of projectFunctions()) {
        const ref = app.refOf(
          refOfConstruct(fn.fn).stack,
          (cfnFunctionOf(fn).Properties.LoggingConfig as { LogGroup?: unknown }).LogGroup,
        );
        expect(ref, label).toEqual(refOfConstruct(fn.logGroup));
        const logGroup = app.resources(ref?.stack ?? '').find(([id]) => id === ref?.logicalId)?.[1];
        expect(logGroup?.Properties.RetentionInDays, label).toBeGreaterThan(0);
      }
    });

    /** The directory CDK staged a function's bundle in, found through its S3 key. */
    const bundleDirOf = (fn: SelfHealFunction): string => {
      const s3Key = (cfnFunctionOf(fn).Properties.Code as { S3Key?: string }).S3Key ?? '';
      return path.join(outdir, `asset.${s3Key.replace(/\.zip$/, '')}`);
    };

    it('bundles ES modules with a source map, a CommonJS shim and the trace store migrations', () => {
      for (const [label, fn] of projectFunctions()) {
        const dir = bundleDirOf(fn);
        const bundle = readFileSync(path.join(dir, 'index.mjs'), 'utf8');
        expect(existsSync(path.join(dir, 'index.mjs.map')), label).toBe(true);
        expect(bundle, label).toContain('const __dirname');
        expect(bundle, label).toMatch(/\/\/# sourceMappingURL=index\.mjs\.map\s*$/);
        expect(existsSync(path.join(dir, 'drizzle', 'meta', '_journal.json')), label).toBe(true);
      }
    });

    it('ships bundles that load on Node and export a handler function', () => {
      const bundles = Object.fromEntries(
        projectFunctions().map(([label, fn]) => [
          label,
          pathToFileURL(path.join(bundleDirOf(fn), 'index.mjs')).href,
        ]),
      );
      // A child process, as Lambda would; the streaming global is the Lambda runtime's.
      const loader = `
        globalThis.awslambda = { streamifyResponse: (h) => h, HttpResponseStream: { from: (s) => s } };
        const out = {};
        for (const [name, url] of Object.entries(JSON.parse(process.argv[1]))) {
          try { out[name] = typeof (await import(url)).handler; }
          catch (error) { out[name] = 'failed: ' + String(error?.message ?? error).split('\\n')[0]; }
        }
        console.log(JSON.stringify(out));`;
      const stdout = execFileSync(
        process.execPath,
        ['--input-type=module', '-e', loader, JSON.stringify(bundles)],
        { env: { PATH: process.env.PATH, NODE_OPTIONS: '--enable-source-maps' }, encoding: 'utf8' },
      );
      expect(JSON.parse(stdout)).toEqual(
        Object.fromEntries(projectFunctions().map(([label]) => [label, 'function'])),
      );
    }, 60_000);
  });

  describe('least privilege', () => {
    it('grants no wildcard action and no data action on every resource', () => {
      for (const [label, fn] of projectFunctions()) {
        for (const statement of statementsOf(fn)) {
          for (const action of actionsOf(statement)) {
            expect(action, label).not.toBe('*');
            expect(action, label).not.toMatch(/^[a-z0-9-]+:\*$/);
            if (DATA_SERVICES.some((service) => action.startsWith(`${service}:`))) {
              expect(resourcesOf(statement), `${label}: ${action}`).not.toContain('*');
            }
          }
        }
      }
    });

    it.each(topology.map((stage) => stage.name))(
      'lets stage %s reach only its tables, its bucket and its secrets',
      (name) => {
        const fn = built.pipeline.stageFunctions.get(name) as SelfHealFunction;
        const access = STAGE_ACCESS[name] ?? { tables: { idempotency: 'readWrite' } };
        const { data } = built;
        const stack = STACK_NAMES.pipeline;
        const tableRef = (table: keyof typeof data.tables.byName) =>
          refOfConstruct(data.tables.byName[table]);
        const allowedTables = Object.keys(access.tables).map((t) =>
          tableRef(t as keyof typeof data.tables.byName),
        );
        if (access.targetRecords) allowedTables.push(refOfConstruct(data.shopRecords));
        const tables = refsOfStatements(fn, 'dynamodb', stack);
        expect(tables.length).toBeGreaterThan(0);
        for (const ref of tables) expect(allowedTables.some((t) => sameRef(t, ref))).toBe(true);
        // Writes only where the access map says read-write.
        const writable = Object.entries(access.tables)
          .filter(([, level]) => level === 'readWrite')
          .map(([t]) => tableRef(t as keyof typeof data.tables.byName));
        if (access.targetRecords === 'readWrite') writable.push(refOfConstruct(data.shopRecords));
        for (const statement of statementsOf(fn)) {
          if (!actionsOf(statement).some((a) => DYNAMO_WRITES.includes(a))) continue;
          for (const ref of app.refsIn(stack, statement.Resource)) {
            expect(writable.some((t) => sameRef(t, ref))).toBe(true);
          }
        }
        // Never the trace copy: only the copier writes it and only the stream reads it.
        expect(tables.some((ref) => sameRef(ref, refOfConstruct(data.traceMirror)))).toBe(false);

        const allowedSecrets = [refOfConstruct(data.database.secret)];
        if (access.integrations) allowedSecrets.push(refOfConstruct(data.secrets.integrations));
        const secrets = refsOfStatements(fn, 'secretsmanager', stack);
        for (const ref of secrets) expect(allowedSecrets.some((s) => sameRef(s, ref))).toBe(true);
        expect(secrets.some((ref) => sameRef(ref, refOfConstruct(data.secrets.adminToken)))).toBe(
          false,
        );

        const buckets = refsOfStatements(fn, 's3', stack);
        if (access.releases) {
          for (const ref of buckets) expect(sameRef(ref, refOfConstruct(data.releases))).toBe(true);
        } else {
          expect(buckets).toEqual([]);
        }
      },
    );

    it('gives the SSE function read access to the trace copy and nothing else', () => {
      const { stream } = built.pipeline;
      const statements = statementsOf(stream);
      const dataActions = statements
        .flatMap(actionsOf)
        .filter((a) => DATA_SERVICES.some((s) => a.startsWith(`${s}:`)));
      expect(dataActions.every((a) => a.startsWith('dynamodb:'))).toBe(true);
      expect(dataActions.some((a) => DYNAMO_WRITES.includes(a))).toBe(false);
      for (const ref of refsOfStatements(stream, 'dynamodb', STACK_NAMES.pipeline)) {
        expect(ref).toEqual(refOfConstruct(built.data.traceMirror));
      }
    });

    it('gives the API the admin token and webhook secrets, and no stage those', () => {
      const stack = STACK_NAMES.pipeline;
      const apiSecrets = refsOfStatements(built.pipeline.api, 'secretsmanager', stack);
      const { secrets } = built.data;
      for (const secret of [
        secrets.adminToken,
        secrets.webhookSecret,
        secrets.shopifyWebhookSecret,
      ]) {
        expect(apiSecrets.some((ref) => sameRef(ref, refOfConstruct(secret)))).toBe(true);
      }
      const api = cfnFunctionOf(built.pipeline.api).Properties.Environment as {
        Variables: Record<string, unknown>;
      };
      // Names and ARNs only: the values are read at cold start.
      expect(JSON.stringify(api.Variables.SELFHEAL_SECRETS)).toContain('SELFHEAL_WEBHOOK_SECRET');
      expect(JSON.stringify(api.Variables.SELFHEAL_SECRETS)).toContain('\\"prefix\\":\\"whsec_\\"');
      expect(api.Variables).not.toHaveProperty('SELFHEAL_ADMIN_TOKEN');
    });
  });

  describe('network', () => {
    const inVpc = (): Array<[string, SelfHealFunction]> =>
      projectFunctions().filter(([label]) => label !== 'stream');

    it('runs every function that needs Redis or Postgres in the VPC, with a security group of its own', () => {
      for (const [label, fn] of inVpc()) {
        const vpcConfig = cfnFunctionOf(fn).Properties.VpcConfig as { SecurityGroupIds: unknown[] };
        expect(vpcConfig, label).toBeDefined();
        expect(vpcConfig.SecurityGroupIds, label).toHaveLength(1);
      }
    });

    it('keeps the SSE function out of the VPC (Function URL streaming is not supported there)', () => {
      expect(cfnFunctionOf(built.pipeline.stream).Properties.VpcConfig).toBeUndefined();
    });

    /** Sources allowed into a security group on a port, across every stack. */
    const ingressInto = (group: ResourceRef, port: number): ResourceRef[] =>
      [...app.byStack.keys()].flatMap((stack) =>
        app
          .resources(stack, 'AWS::EC2::SecurityGroupIngress')
          .filter(([, rule]) => {
            const target = app.refOf(stack, rule.Properties.GroupId);
            return target && sameRef(target, group) && rule.Properties.FromPort === port;
          })
          .map(([, rule]) => {
            expect(rule.Properties.CidrIp).toBeUndefined();
            return app.refOf(stack, rule.Properties.SourceSecurityGroupId) as ResourceRef;
          }),
      );

    const groupOf = (fn: SelfHealFunction): ResourceRef =>
      refOfConstruct(fn.securityGroup as ec2.SecurityGroup);

    it('opens the cache (6379) to exactly the functions bound to Redis', () => {
      const cacheGroup = app.refOf(
        STACK_NAMES.data,
        built.data.resolve(built.data.cache.cache.securityGroupIds?.[0]),
      ) as ResourceRef;
      expect(cacheGroup).toBeDefined();
      const sources = ingressInto(cacheGroup, 6379);
      const expected = inVpc().map(([, fn]) => groupOf(fn));
      expect(sources).toHaveLength(expected.length);
      for (const group of expected) expect(sources.some((s) => sameRef(s, group))).toBe(true);
      // The cache's own group has no other way in.
      app.template(STACK_NAMES.data).hasResourceProperties('AWS::EC2::SecurityGroup', {
        GroupDescription: Match.stringLikeRegexp('ElastiCache'),
        SecurityGroupIngress: Match.absent(),
      });
    });

    it('opens the database proxy (5432) to the functions bound to the trace store only', () => {
      const proxyGroup = refOfConstruct(
        built.data.database.proxy.connections.securityGroups[0] as ec2.ISecurityGroup,
      );
      const sources = ingressInto(proxyGroup, 5432);
      const bound = inVpc().filter(([label]) => label !== 'trace copier');
      expect(sources).toHaveLength(bound.length);
      for (const [, fn] of bound) expect(sources.some((s) => sameRef(s, groupOf(fn)))).toBe(true);
      expect(sources.some((s) => sameRef(s, groupOf(built.pipeline.traceCopier)))).toBe(false);
    });

    it('limits function egress to HTTPS plus the cache and proxy ports', () => {
      for (const [label, fn] of inVpc()) {
        const group = groupOf(fn);
        const own = app.resources(group.stack).find(([id]) => id === group.logicalId)?.[1];
        const egress = (own?.Properties.SecurityGroupEgress ?? []) as Array<{ FromPort: number }>;
        const extra = app
          .resources(group.stack, 'AWS::EC2::SecurityGroupEgress')
          .filter(
            ([, rule]) =>
              app.refOf(group.stack, rule.Properties.GroupId)?.logicalId === group.logicalId,
          )
          .map(([, rule]) => rule.Properties.FromPort as number);
        const ports = new Set([...egress.map((rule) => rule.FromPort), ...extra]);
        expect(
          [...ports].every((port) => [443, 6379, 5432].includes(port)),
          label,
        ).toBe(true);
      }
    });
  });

  describe('HTTP', () => {
    it('serves the SSE stream on a Function URL in RESPONSE_STREAM mode', () => {
      const stream = refOfConstruct(built.pipeline.stream.fn);
      const urls = app
        .resources(STACK_NAMES.pipeline, 'AWS::Lambda::Url')
        .filter(([, url]) =>
          sameRef(
            app.refOf(STACK_NAMES.pipeline, url.Properties.TargetFunctionArn) as ResourceRef,
            stream,
          ),
        );
      expect(urls).toHaveLength(1);
      expect(urls[0]?.[1].Properties).toMatchObject({
        InvokeMode: 'RESPONSE_STREAM',
        AuthType: 'NONE',
      });
    });

    it('serves the API and webhooks on a buffered Function URL', () => {
      const api = refOfConstruct(built.pipeline.api.fn);
      const url = app
        .resources(STACK_NAMES.pipeline, 'AWS::Lambda::Url')
        .find(([, u]) =>
          sameRef(
            app.refOf(STACK_NAMES.pipeline, u.Properties.TargetFunctionArn) as ResourceRef,
            api,
          ),
        );
      expect(url?.[1].Properties.InvokeMode ?? 'BUFFERED').toBe('BUFFERED');
    });

    it('points the probes at the demo shop when it is deployed', () => {
      const probe = cfnFunctionOf(built.pipeline.stageFunctions.get('probe') as SelfHealFunction);
      const url = (probe.Properties.Environment as { Variables: Record<string, unknown> }).Variables
        .SELFHEAL_TARGET_URL;
      expect(app.refsIn(STACK_NAMES.pipeline, url)[0]?.stack).toBe(STACK_NAMES.demoShop);
      expect(built.settings.natGateways).toBe(1);
    });
  });

  it('synthesizes environment-agnostic stacks in deployment order', () => {
    const assembly = built.app.synth();
    const names = assembly.stacks.map((stack) => stack.stackName);
    expect(names).toEqual(
      expect.arrayContaining([
        STACK_NAMES.network,
        STACK_NAMES.data,
        STACK_NAMES.demoShop,
        STACK_NAMES.pipeline,
        STACK_NAMES.web,
        STACK_NAMES.operations,
      ]),
    );
    for (const artifact of assembly.stacks) {
      expect(artifact.environment.account).toBe('unknown-account');
      expect(artifact.environment.region).toBe('unknown-region');
    }
    const pipeline = assembly.getStackByName(STACK_NAMES.pipeline);
    expect(pipeline.dependencies.map((d) => d.id)).toEqual(
      expect.arrayContaining([STACK_NAMES.network, STACK_NAMES.data, STACK_NAMES.demoShop]),
    );
  });
});
