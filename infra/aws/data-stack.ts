import {
  CfnOutput,
  Duration,
  RemovalPolicy,
  SecretValue,
  Stack,
  type StackProps,
} from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { FunctionNetwork } from './selfheal-function.js';

/** Properties of the {@link DataStack}. */
export interface DataStackProps extends StackProps {
  readonly network: FunctionNetwork;
  /**
   * Prefix of physical names (tables, cache): `<prefix>-selfheal-kv`, as `SELFHEAL_TABLE_PREFIX`
   * makes the code expect. Two deployments in one account need two prefixes.
   */
  readonly prefix: string;
  /**
   * Keeps tables, the database (as a final snapshot) and the bucket when the stack is destroyed.
   * @default false: `npm run destroy` removes the data too (the releases bucket excepted, see
   * README)
   */
  readonly retainData?: boolean;
}

/**
 * The ElastiCache Serverless cache (Valkey) that carries the streams, reachable on 6379 only from
 * the functions bound to it. Serverless caches always encrypt in transit: clients use `rediss://`.
 */
export class StreamCache extends Construct implements ec2.IConnectable {
  readonly connections: ec2.Connections;
  readonly endpoint: string;
  /** The port clients connect to (6380 serves replica reads, which the bus does not use). */
  readonly port = 6379;
  /** `rediss://<endpoint>:6379`. */
  readonly url: string;
  readonly cache: elasticache.CfnServerlessCache;

  constructor(scope: Construct, id: string, props: { network: FunctionNetwork; name: string }) {
    super(scope, id);
    const { vpc, subnets } = props.network;
    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: 'ElastiCache (streams): 6379 from bound functions only',
      allowAllOutbound: false,
    });
    this.cache = new elasticache.CfnServerlessCache(this, 'Cache', {
      engine: 'valkey',
      majorEngineVersion: '8',
      serverlessCacheName: props.name,
      description: 'Self-healing pipeline: Redis Streams between the stages',
      securityGroupIds: [securityGroup.securityGroupId],
      subnetIds: vpc.selectSubnets(subnets).subnetIds,
      // Caps what a runaway producer can cost; the streams are capped at ~100k entries each.
      cacheUsageLimits: {
        dataStorage: { maximum: 5, unit: 'GB' },
        ecpuPerSecond: { maximum: 20_000 },
      },
      snapshotRetentionLimit: 1,
    });
    this.endpoint = this.cache.attrEndpointAddress;
    this.url = `rediss://${this.endpoint}:${this.port}`;
    this.connections = new ec2.Connections({
      securityGroups: [securityGroup],
      defaultPort: ec2.Port.tcp(this.port),
    });
  }
}

/**
 * The trace store: Aurora Serverless v2 PostgreSQL behind RDS Proxy, its credentials in Secrets
 * Manager.
 *
 * RDS Proxy rather than the RDS Data API: the trace store is the node-postgres adapter that the
 * contract suite runs against real Postgres, and it runs unchanged behind the proxy; the Data
 * API would need a second adapter (and an SDK client) and cannot hold the session-level advisory
 * lock that serializes the migrations of concurrent cold starts. The proxy pools the connections
 * of the overlapping pollers, so cold starts never exhaust the database, and it presents a
 * certificate from a public CA, which Node verifies without a bundled RDS CA file. Its price is
 * a floor of 8 ACUs billed per hour (see README, costs).
 */
export class TraceDatabase extends Construct {
  readonly cluster: rds.DatabaseCluster;
  readonly proxy: rds.DatabaseProxy;
  /** The generated credentials (JSON: username, password, host, port, dbname). */
  readonly secret: secretsmanager.ISecret;
  /** The port clients connect to on the proxy. */
  readonly port = 5432;

  constructor(
    scope: Construct,
    id: string,
    props: { network: FunctionNetwork; removalPolicy: RemovalPolicy },
  ) {
    super(scope, id);
    const { vpc, subnets } = props.network;
    this.cluster = new rds.DatabaseCluster(this, 'Cluster', {
      engine: rds.DatabaseClusterEngine.auroraPostgres({
        version: rds.AuroraPostgresEngineVersion.VER_16_6,
      }),
      writer: rds.ClusterInstance.serverlessV2('Writer'),
      // 0.5 ACU at idle: RDS Proxy holds connections open, so the cluster would not auto-pause
      // at 0 anyway.
      serverlessV2MinCapacity: 0.5,
      serverlessV2MaxCapacity: 4,
      credentials: rds.Credentials.fromGeneratedSecret('selfheal'),
      defaultDatabaseName: 'selfheal',
      vpc,
      vpcSubnets: subnets,
      storageEncrypted: true,
      backup: { retention: Duration.days(7) },
      removalPolicy: props.removalPolicy,
    });
    const secret = this.cluster.secret;
    if (!secret) throw new Error('the cluster has no generated secret');
    this.secret = secret;
    this.proxy = this.cluster.addProxy('Proxy', {
      secrets: [secret],
      vpc,
      vpcSubnets: subnets,
      requireTLS: true,
      // Functions come and go with their pollers; idle client connections are closed after this.
      idleClientTimeout: Duration.minutes(15),
    });
  }
}

/** The tables the code derives from `SELFHEAL_TABLE_PREFIX` (see `functions/adapters/kv`). */
export interface AppTables {
  readonly prefix: string;
  readonly byName: {
    /** Idempotency records (pk `pk`), expiring through TTL on `expires_at`. */
    readonly idempotency: dynamodb.Table;
    /** Catalog item snapshots (pk `pk`, sk `sk`). */
    readonly snapshots: dynamodb.Table;
    /** Release pointers and the pipeline's other small named values (pk `pk`). */
    readonly kv: dynamodb.Table;
  };
}

/** The secrets the API and the patch stage read; `npm run deploy` prints how to fill them. */
export interface AppSecrets {
  /** `Authorization: Bearer …` for admin actions and, in AWS, for reads. */
  readonly adminToken: secretsmanager.Secret;
  /** Standard Webhooks signing secret of `/webhooks/catalog` (`whsec_` optional when filling). */
  readonly webhookSecret: secretsmanager.Secret;
  /** Shopify app secret for `X-Shopify-Hmac-Sha256` on `/webhooks/shopify`. */
  readonly shopifyWebhookSecret: secretsmanager.Secret;
  /** JSON `{ "morphApiKey": "", "llmApiKey": "" }`; empty values leave the feature off. */
  readonly integrations: secretsmanager.Secret;
}

/**
 * The data layer: the streams' cache, the trace store, the tables, the release bucket and the
 * application secrets. Nothing here runs code; the pipeline stack binds functions to it.
 */
export class DataStack extends Stack {
  readonly cache: StreamCache;
  readonly database: TraceDatabase;
  readonly tables: AppTables;
  /** The copy of the trace stream the SSE function reads (pk stream, sk entry id, TTL). */
  readonly traceMirror: dynamodb.Table;
  /** The demo shop's product records (pk `pk`). */
  readonly shopRecords: dynamodb.Table;
  /** Release bundles and patches. */
  readonly releases: s3.Bucket;
  readonly secrets: AppSecrets;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    const removalPolicy = props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const { prefix } = props;

    this.cache = new StreamCache(this, 'Streams', {
      network: props.network,
      name: `${prefix}-selfheal-streams`.toLowerCase(),
    });
    this.database = new TraceDatabase(this, 'TraceStore', {
      network: props.network,
      removalPolicy: props.retainData ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
    });

    const table = (
      tableId: string,
      name: string,
      keys: { sortKey?: boolean; ttl?: boolean },
    ): dynamodb.Table =>
      new dynamodb.Table(this, tableId, {
        tableName: `${prefix}-${name}`,
        partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
        ...(keys.sortKey ? { sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING } } : {}),
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        encryption: dynamodb.TableEncryption.AWS_MANAGED,
        ...(keys.ttl ? { timeToLiveAttribute: 'expires_at' } : {}),
        removalPolicy,
      });
    this.tables = {
      prefix,
      byName: {
        idempotency: table('Idempotency', 'selfheal-idempotency', { ttl: true }),
        snapshots: table('Snapshots', 'selfheal-snapshots', { sortKey: true }),
        kv: table('ReleasePointers', 'selfheal-kv', {}),
      },
    };
    this.traceMirror = table('TraceMirror', 'selfheal-trace-mirror', { sortKey: true, ttl: true });
    this.shopRecords = table('ShopRecords', 'selfheal-shop-records', {});

    this.releases = new s3.Bucket(this, 'Releases', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(30) }],
      // Release bundles are the audit trail of what ran: kept even when the stack goes.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const generated = (secretId: string, description: string, length: number) =>
      new secretsmanager.Secret(this, secretId, {
        description,
        generateSecretString: { passwordLength: length, excludePunctuation: true },
        removalPolicy,
      });
    this.secrets = {
      adminToken: generated(
        'AdminToken',
        'Self-heal: admin bearer token (Authorization: Bearer <token>)',
        48,
      ),
      // 44 base64 letters: a valid Standard Webhooks key once `whsec_` is put in front.
      webhookSecret: generated(
        'WebhookSecret',
        'Self-heal: Standard Webhooks secret of /webhooks/catalog (whsec_...)',
        44,
      ),
      shopifyWebhookSecret: generated(
        'ShopifyWebhookSecret',
        'Self-heal: Shopify app secret for /webhooks/shopify',
        32,
      ),
      integrations: new secretsmanager.Secret(this, 'Integrations', {
        description: 'Self-heal: optional API keys (JSON: morphApiKey, llmApiKey); empty = off',
        secretObjectValue: {
          morphApiKey: SecretValue.unsafePlainText(''),
          llmApiKey: SecretValue.unsafePlainText(''),
        },
        removalPolicy,
      }),
    };
    // Names, not values: `npm run deploy` prints how to fill each one in.
    new CfnOutput(this, 'AdminTokenSecretName', { value: this.secrets.adminToken.secretName });
    new CfnOutput(this, 'WebhookSecretName', { value: this.secrets.webhookSecret.secretName });
    new CfnOutput(this, 'ShopifyWebhookSecretName', {
      value: this.secrets.shopifyWebhookSecret.secretName,
    });
    new CfnOutput(this, 'IntegrationsSecretName', {
      value: this.secrets.integrations.secretName,
    });
  }
}
