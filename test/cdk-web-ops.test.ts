import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createApp,
  deploymentSettingsOf,
  type SelfHealApp,
  STACK_NAMES,
} from '../infra/aws/create-app.js';
import { DataStack } from '../infra/aws/data-stack.js';
import { NetworkStack } from '../infra/aws/network-stack.js';
import { PipelineStack } from '../infra/aws/pipeline-stack.js';
import { describeOutputs } from '../infra/aws/print-outputs.js';
import { ORIGIN_READ_TIMEOUT, WEB_PLACEHOLDER, webAssetDir } from '../infra/aws/web-stack.js';
import { telemetry } from '../infra/telemetry.js';
import { type StageSpec, topology } from '../infra/topology.js';
import {
  AppTemplates,
  type CfnResource,
  cdkContext,
  NO_BUNDLING,
  stripAssetHashes,
} from './support/cdk-templates.js';

/** Managed CloudFront policies (their ids are fixed by AWS). */
const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
const CACHING_OPTIMIZED = '658327ea-f89d-4fab-a63d-7e88639e58f6';
const ALL_VIEWER_EXCEPT_HOST_HEADER = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';

/** The SSE heartbeat (`SELFHEAL_SSE_HEARTBEAT_MS` default): the read timeout must exceed it. */
const SSE_HEARTBEAT_SECONDS = 15;

interface Behavior {
  readonly PathPattern?: string;
  readonly TargetOriginId: string;
  readonly CachePolicyId: string;
  readonly OriginRequestPolicyId?: string;
  readonly Compress?: boolean;
  readonly AllowedMethods?: string[];
  readonly ViewerProtocolPolicy: string;
}

interface Origin {
  readonly Id: string;
  readonly DomainName: unknown;
  readonly OriginAccessControlId?: unknown;
  readonly CustomOriginConfig?: { OriginReadTimeout?: number; OriginProtocolPolicy?: string };
}

describe('AWS app (default settings, templates only)', () => {
  let outdir: string;
  let built: SelfHealApp;
  let app: AppTemplates;

  beforeAll(() => {
    outdir = mkdtempSync(path.join(tmpdir(), 'selfheal-cdk-templates-'));
    built = createApp({ app: { context: { ...cdkContext(), ...NO_BUNDLING }, outdir } });
    app = new AppTemplates([
      built.network,
      built.data,
      built.pipeline,
      built.web,
      built.operations,
    ]);
  }, 60_000);

  afterAll(() => {
    rmSync(outdir, { recursive: true, force: true });
  });

  describe('network', () => {
    it('has no NAT gateway and only isolated subnets by default', () => {
      const network = app.template(STACK_NAMES.network);
      network.resourceCountIs('AWS::EC2::NatGateway', 0);
      network.resourceCountIs('AWS::EC2::InternetGateway', 0);
      expect(built.demoShop).toBeUndefined();
      expect(built.settings.natGateways).toBe(0);
    });

    it('reaches DynamoDB and S3 through gateway endpoints', () => {
      const gateways = app
        .resources(STACK_NAMES.network, 'AWS::EC2::VPCEndpoint')
        .filter(([, endpoint]) => endpoint.Properties.VpcEndpointType === 'Gateway')
        .map(([, endpoint]) => JSON.stringify(endpoint.Properties.ServiceName));
      expect(gateways).toHaveLength(2);
      expect(gateways.some((name) => name.includes('".dynamodb"'))).toBe(true);
      expect(gateways.some((name) => name.includes('".s3"'))).toBe(true);
    });

    it('reaches Secrets Manager and Lambda through interface endpoints, and nothing else', () => {
      const interfaces = app
        .resources(STACK_NAMES.network, 'AWS::EC2::VPCEndpoint')
        .filter(([, endpoint]) => endpoint.Properties.VpcEndpointType === 'Interface')
        .map(([, endpoint]) => JSON.stringify(endpoint.Properties.ServiceName));
      expect(interfaces).toHaveLength(2);
      expect(interfaces.some((name) => name.includes('.secretsmanager'))).toBe(true);
      expect(interfaces.some((name) => name.includes('.lambda'))).toBe(true);
      for (const [, endpoint] of app
        .resources(STACK_NAMES.network, 'AWS::EC2::VPCEndpoint')
        .filter(([, e]) => e.Properties.VpcEndpointType === 'Interface')) {
        expect(endpoint.Properties.PrivateDnsEnabled).toBe(true);
      }
    });
  });

  describe('data', () => {
    it('bills every table per request, with point-in-time recovery', () => {
      const tables = app.resources(STACK_NAMES.data, 'AWS::DynamoDB::Table');
      expect(tables.length).toBe(5);
      for (const [id, table] of tables) {
        expect(table.Properties, id).toMatchObject({
          BillingMode: 'PAY_PER_REQUEST',
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          SSESpecification: { SSEEnabled: true },
        });
      }
    });

    it('names the tables as SELFHEAL_TABLE_PREFIX makes the code expect, with TTL where records expire', () => {
      const data = app.template(STACK_NAMES.data);
      data.hasResourceProperties('AWS::DynamoDB::Table', {
        TableName: 'cloud-selfheal-idempotency',
        TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
      });
      data.hasResourceProperties('AWS::DynamoDB::Table', {
        TableName: 'cloud-selfheal-trace-mirror',
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
      });
      data.hasResourceProperties('AWS::DynamoDB::Table', {
        TableName: 'cloud-selfheal-snapshots',
        TimeToLiveSpecification: Match.absent(),
      });
      data.hasResourceProperties('AWS::DynamoDB::Table', { TableName: 'cloud-selfheal-kv' });
    });

    it('runs the streams on ElastiCache Serverless (Valkey) in the VPC', () => {
      app.template(STACK_NAMES.data).hasResourceProperties('AWS::ElastiCache::ServerlessCache', {
        Engine: 'valkey',
        ServerlessCacheName: 'cloud-selfheal-streams',
        SubnetIds: Match.anyValue(),
        SecurityGroupIds: Match.anyValue(),
      });
    });

    it('keeps traces in Aurora Serverless v2 PostgreSQL behind an RDS Proxy that requires TLS', () => {
      const data = app.template(STACK_NAMES.data);
      data.hasResourceProperties('AWS::RDS::DBCluster', {
        Engine: 'aurora-postgresql',
        ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 4 },
        StorageEncrypted: true,
      });
      data.hasResourceProperties('AWS::RDS::DBInstance', { DBInstanceClass: 'db.serverless' });
      data.hasResourceProperties('AWS::RDS::DBProxy', {
        EngineFamily: 'POSTGRESQL',
        RequireTLS: true,
      });
      data.hasResourceProperties('AWS::SecretsManager::SecretTargetAttachment', {
        TargetType: 'AWS::RDS::DBCluster',
      });
    });

    it('keeps release bundles in a private, encrypted bucket that refuses plain HTTP', () => {
      const data = app.template(STACK_NAMES.data);
      data.hasResourceProperties('AWS::S3::Bucket', {
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
          ],
        },
        VersioningConfiguration: { Status: 'Enabled' },
      });
      data.hasResourceProperties('AWS::S3::BucketPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    });

    it('generates the admin token and webhook secrets in Secrets Manager and outputs their names', () => {
      const data = app.template(STACK_NAMES.data);
      data.resourcePropertiesCountIs(
        'AWS::SecretsManager::Secret',
        { GenerateSecretString: Match.objectLike({ ExcludePunctuation: true }) },
        3,
      );
      for (const output of [
        'AdminTokenSecretName',
        'WebhookSecretName',
        'ShopifyWebhookSecretName',
        'IntegrationsSecretName',
      ]) {
        data.hasOutput(output, Match.anyValue());
      }
    });
  });

  describe('web', () => {
    const distribution = (): {
      DefaultCacheBehavior: Behavior;
      CacheBehaviors: Behavior[];
      Origins: Origin[];
    } => {
      const [[, resource]] = app.resources(STACK_NAMES.web, 'AWS::CloudFront::Distribution') as [
        [string, CfnResource],
      ];
      return resource.Properties.DistributionConfig as never;
    };
    const originOf = (behavior: Behavior | undefined): Origin | undefined =>
      distribution().Origins.find((origin) => origin.Id === behavior?.TargetOriginId);
    const behaviorFor = (pattern: string): Behavior | undefined =>
      distribution().CacheBehaviors.find((behavior) => behavior.PathPattern === pattern);
    const urlOutputOf = (origin: Origin | undefined): string =>
      JSON.stringify(origin?.DomainName ?? null);

    it('serves the dashboard from a private bucket through origin access control', () => {
      const { DefaultCacheBehavior } = distribution();
      const origin = originOf(DefaultCacheBehavior);
      expect(origin?.OriginAccessControlId).toBeDefined();
      expect(DefaultCacheBehavior.CachePolicyId).toBe(CACHING_OPTIMIZED);
      expect(DefaultCacheBehavior.ViewerProtocolPolicy).toBe('redirect-to-https');
      app.template(STACK_NAMES.web).hasResourceProperties('AWS::S3::Bucket', {
        PublicAccessBlockConfiguration: Match.objectLike({ BlockPublicPolicy: true }),
      });
      app.template(STACK_NAMES.web).hasResourceProperties('AWS::CloudFront::Function', {
        FunctionConfig: Match.objectLike({ Runtime: 'cloudfront-js-2.0' }),
      });
    });

    it('routes /api/stream to the SSE function URL before /api/* catches it', () => {
      const patterns = distribution().CacheBehaviors.map((behavior) => behavior.PathPattern);
      expect(patterns.indexOf('/api/stream')).toBeGreaterThanOrEqual(0);
      expect(patterns.indexOf('/api/stream')).toBeLessThan(patterns.indexOf('/api/*'));
      const stream = behaviorFor('/api/stream');
      expect(urlOutputOf(originOf(stream))).toContain('StreamFunction');
      expect(stream).toMatchObject({
        CachePolicyId: CACHING_DISABLED,
        OriginRequestPolicyId: ALL_VIEWER_EXCEPT_HOST_HEADER,
        // Frames must leave as they are written.
        Compress: false,
        ViewerProtocolPolicy: 'https-only',
      });
    });

    it.each(['/api/*', '/webhooks/*', '/healthz'])(
      'routes %s to the API function URL, uncached, with every viewer header but Host',
      (pattern) => {
        const behavior = behaviorFor(pattern);
        expect(urlOutputOf(originOf(behavior))).toContain('ApiFunction');
        expect(behavior).toMatchObject({
          CachePolicyId: CACHING_DISABLED,
          OriginRequestPolicyId: ALL_VIEWER_EXCEPT_HOST_HEADER,
          AllowedMethods: expect.arrayContaining(['GET', 'POST', 'DELETE']),
        });
      },
    );

    it('waits longer than the SSE heartbeat for the function URLs, within CloudFront 60 s limit', () => {
      const functionOrigins = distribution().Origins.filter((origin) => origin.CustomOriginConfig);
      expect(functionOrigins).toHaveLength(2);
      for (const origin of functionOrigins) {
        const timeout = origin.CustomOriginConfig?.OriginReadTimeout ?? 30;
        expect(timeout).toBeGreaterThan(SSE_HEARTBEAT_SECONDS);
        expect(timeout).toBeLessThanOrEqual(60);
        expect(origin.CustomOriginConfig?.OriginProtocolPolicy).toBe('https-only');
      }
      expect(ORIGIN_READ_TIMEOUT.toSeconds()).toBe(60);
    });

    it('deploys the web app with a config.json written at deploy time', () => {
      app.template(STACK_NAMES.web).hasResourceProperties('Custom::CDKBucketDeployment', {
        // Two sources: the built app and config.json (its region is filled in at deploy time).
        SourceObjectKeys: [Match.anyValue(), Match.anyValue()],
        SourceMarkers: [{}, Match.objectLike({})],
        DistributionPaths: Match.arrayWith(['/config.json']),
      });
      app.template(STACK_NAMES.web).hasOutput('DashboardUrl', Match.anyValue());
      app.template(STACK_NAMES.web).hasOutput('WebhookUrl', Match.anyValue());
    });

    it('deploys a placeholder when the web app was not built, so synth never fails', () => {
      const root = mkdtempSync(path.join(tmpdir(), 'selfheal-web-'));
      try {
        expect(webAssetDir(root)).toBe(WEB_PLACEHOLDER);
        mkdirSync(path.join(root, 'web', 'dist'), { recursive: true });
        writeFileSync(path.join(root, 'web', 'dist', 'index.html'), '<!doctype html>');
        expect(webAssetDir(root)).toBe(path.join(root, 'web', 'dist'));
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });
  });

  describe('operations', () => {
    const ops = () => app.template(STACK_NAMES.operations);

    it.each(topology.map((stage) => stage.name))(
      'alarms when stage %s dead-letters entries',
      (stage) => {
        ops().hasResourceProperties('AWS::CloudWatch::Alarm', {
          Namespace: telemetry.namespace,
          MetricName: telemetry.metrics.deadLettered,
          Dimensions: Match.arrayWith([
            { Name: 'service', Value: telemetry.service },
            { Name: telemetry.dimensions.stage, Value: stage },
          ]),
          Statistic: 'Sum',
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          AlarmActions: Match.anyValue(),
        });
      },
    );

    it('alarms on stage errors per stage (invocation errors plus failed records)', () => {
      const errorAlarms = app
        .resources(STACK_NAMES.operations, 'AWS::CloudWatch::Alarm')
        .filter(([, alarm]) =>
          JSON.stringify(alarm.Properties.Metrics ?? '').includes('recordFailures'),
        );
      expect(errorAlarms).toHaveLength(topology.length);
    });

    it.each([telemetry.metrics.healRolledBack, telemetry.metrics.healFailed])(
      'alarms on %s',
      (metricName) => {
        ops().hasResourceProperties('AWS::CloudWatch::Alarm', {
          Namespace: telemetry.namespace,
          MetricName: metricName,
          Dimensions: [{ Name: 'service', Value: telemetry.service }],
          Threshold: 1,
          TreatMissingData: 'notBreaching',
          AlarmActions: [{ Ref: Match.stringLikeRegexp('^Alarms') }],
        });
      },
    );

    it('has a CloudWatch dashboard and prints its URL', () => {
      ops().resourceCountIs('AWS::CloudWatch::Dashboard', 1);
      ops().hasOutput('CloudWatchDashboardUrl', Match.anyValue());
    });
  });

  describe('settings', () => {
    const settingsOf = (context: Record<string, unknown>) =>
      deploymentSettingsOf(new App({ context }));

    it('turns on a NAT gateway with the demo shop, unless told otherwise', () => {
      expect(settingsOf({})).toMatchObject({ demoShop: false, natGateways: 0, prefix: 'cloud' });
      expect(settingsOf({ demoShop: 'true' })).toMatchObject({ demoShop: true, natGateways: 1 });
      expect(settingsOf({ demoShop: 'true', natGateways: '0' }).natGateways).toBe(0);
    });

    it('refuses settings that would fail at deploy time', () => {
      expect(() => settingsOf({ natGateways: 'many' })).toThrowError(/natGateways/);
      expect(() => settingsOf({ prefix: 'Has Spaces' })).toThrowError(/prefix/);
      expect(() => settingsOf({ targetUrl: 'shop.example.com' })).toThrowError(/targetUrl/);
      expect(settingsOf({ targetUrl: 'https://shop.example.com' }).targetUrl).toBe(
        'https://shop.example.com',
      );
    });

    it('ships heals to your own sync function when given one, with least privilege', () => {
      const arn = 'arn:aws:lambda:eu-west-1:123456789012:function:shop-sync';
      expect(() => settingsOf({ targetSyncFunction: `${arn}:live` })).toThrowError(
        /targetSyncFunction/,
      );
      expect(() => settingsOf({ targetSyncFunction: 'shop-sync' })).toThrowError(
        /targetSyncFunction/,
      );
      const scratchDir = mkdtempSync(path.join(outdir, 'sync-function-'));
      const withSync = createApp({
        app: {
          context: { ...cdkContext(), ...NO_BUNDLING, targetSyncFunction: arn },
          outdir: scratchDir,
        },
      });
      const templates = new AppTemplates([withSync.pipeline]);
      const lambdaActionsOf = (stage: string) => {
        const fn = withSync.pipeline.stageFunctions.get(stage);
        if (!fn) throw new Error(`no function for stage ${stage}`);
        const role = withSync.pipeline.resolve(fn.fn.role?.roleName) as { Ref: string };
        const policies = templates.template(STACK_NAMES.pipeline).findResources('AWS::IAM::Policy');
        return Object.values(policies)
          .filter((policy) =>
            JSON.stringify(policy.Properties.Roles).includes(JSON.stringify(role)),
          )
          .flatMap(
            (policy) =>
              policy.Properties.PolicyDocument.Statement as Array<{
                Action: string | string[];
                Resource: unknown;
              }>,
          )
          .filter((statement) => [statement.Action].flat().some((a) => a.startsWith('lambda:')));
      };
      const deploy = lambdaActionsOf('heal');
      expect(deploy).toEqual([
        {
          Effect: 'Allow',
          Action: [
            'lambda:CreateAlias',
            'lambda:GetAlias',
            'lambda:GetFunctionConfiguration',
            'lambda:PublishVersion',
            'lambda:UpdateAlias',
            'lambda:UpdateFunctionCode',
          ],
          Resource: [arn, `${arn}:*`],
        },
      ]);
      for (const stage of ['sync', 'validator', 'probe', 'rca', 'patch', 'guard', 'verify']) {
        expect(lambdaActionsOf(stage)).toEqual([
          {
            Effect: 'Allow',
            Action: ['lambda:GetAlias', 'lambda:GetFunctionConfiguration'],
            Resource: [arn, `${arn}:*`],
          },
        ]);
      }
      expect(lambdaActionsOf('ingest')).toEqual([]);
      const env = (stage: string) =>
        withSync.pipeline.resolve(
          (
            withSync.pipeline.stageFunctions.get(stage)?.fn.node.defaultChild as {
              environment?: unknown;
            }
          )?.environment,
        ) as { variables: Record<string, string> };
      expect(env('heal').variables.SELFHEAL_LAMBDA_FUNCTION).toBe(arn);
      expect(env('ingest').variables.SELFHEAL_LAMBDA_FUNCTION).toBeUndefined();
    });

    it('refuses a stage whose handler file does not exist', () => {
      const ghost: StageSpec = {
        name: 'ghost',
        input: 'ghost.in',
        outputs: [],
        handler: 'functions/ghost/handler.ts',
        batchSize: 1,
        maxDeliveries: 1,
        timeoutMs: 1000,
      };
      const scratch = new App({ context: { ...cdkContext(), ...NO_BUNDLING }, outdir });
      const network = new NetworkStack(scratch, 'GhostNetwork');
      const data = new DataStack(scratch, 'GhostData', {
        network: network.functionNetwork,
        prefix: 'ghost',
      });
      expect(
        () =>
          new PipelineStack(scratch, 'Ghost', {
            network: network.functionNetwork,
            data,
            stages: [ghost],
          }),
      ).toThrowError(/Cannot find the handler of stage ghost at .*functions\/ghost\/handler\.ts/);
    });
  });

  it('prints the URLs and the secrets to fill after a deploy', () => {
    const lines = describeOutputs({
      [STACK_NAMES.web]: {
        DashboardUrl: 'https://d1.cloudfront.net',
        WebhookUrl: 'https://d1.cloudfront.net/webhooks/catalog',
        ShopifyWebhookUrl: 'https://d1.cloudfront.net/webhooks/shopify',
      },
      [STACK_NAMES.operations]: { CloudWatchDashboardUrl: 'https://console.aws.amazon.com/x' },
      [STACK_NAMES.data]: {
        AdminTokenSecretName: 'AdminToken-abc',
        WebhookSecretName: 'Webhook-def',
      },
    }).join('\n');
    expect(lines).toContain('https://d1.cloudfront.net/webhooks/catalog');
    expect(lines).toContain('https://console.aws.amazon.com/x');
    expect(lines).toContain('--secret-id AdminToken-abc');
    expect(lines).toContain('--secret-id Webhook-def');
  });

  it('matches the snapshot of every stack, asset hashes stripped', async () => {
    const stacks = Object.fromEntries(
      [...app.byStack].map(([name, template]) => {
        const json = template.toJSON() as {
          Resources: Record<string, CfnResource & { Metadata?: unknown }>;
        };
        // CDK's own usage metadata changes with every CDK release, not with our intent.
        const resources = Object.fromEntries(
          Object.entries(json.Resources)
            .filter(([, resource]) => resource.Type !== 'AWS::CDK::Metadata')
            .map(([id, { Metadata: _metadata, ...resource }]) => [id, resource]),
        );
        return [name, stripAssetHashes({ ...json, Resources: resources })];
      }),
    );
    await expect(`${JSON.stringify(stacks, null, 2)}\n`).toMatchFileSnapshot(
      './__snapshots__/cdk-stacks.json',
    );
  });
});
