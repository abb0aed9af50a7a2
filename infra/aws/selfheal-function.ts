import * as path from 'node:path';
import { Duration, Lazy, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { AppTables, StreamCache, TraceDatabase } from './data-stack.js';
import { LAMBDA_TASK_ROOT, TARGET_SOURCE_DIR } from './lambda-asset.js';

/**
 * The Lambda runtime every function runs on. Pinned rather than `NODEJS_LATEST`, so a CDK upgrade
 * never moves production onto a Node version the code was not tested on.
 */
export const FUNCTION_RUNTIME = lambda.Runtime.NODEJS_22_X;

/** Memory a function gets unless it says otherwise. */
export const DEFAULT_MEMORY_MB = 512;

/** How long a function's logs are kept unless it says otherwise. */
export const DEFAULT_LOG_RETENTION = logs.RetentionDays.ONE_MONTH;

/**
 * Prefix of every Redis key on ElastiCache. ElastiCache Serverless runs in cluster mode, where a
 * transaction may only touch keys of one hash slot; the bus dead-letters with `MULTI` over a
 * stream and its `.dlq` twin. The hash tag `{selfheal}` puts every key in one slot, so those
 * transactions stay legal (and one slot is plenty for this traffic).
 */
export const STREAM_KEY_PREFIX = '{selfheal}:';

/**
 * Gives the ESM bundle the CommonJS globals its dependencies expect: CommonJS packages (ioredis,
 * pg, pino) call `require('net')` and read `__dirname`, which esbuild cannot turn into imports
 * and which ES modules do not have. Aliased imports keep clear of names in the bundle.
 */
export const ESM_COMMONJS_BANNER = [
  "import { createRequire as __selfhealCreateRequire } from 'node:module';",
  "import { dirname as __selfhealDirname } from 'node:path';",
  "import { fileURLToPath as __selfhealFileURLToPath } from 'node:url';",
  'const require = __selfhealCreateRequire(import.meta.url);',
  'const __filename = __selfhealFileURLToPath(import.meta.url);',
  'const __dirname = __selfhealDirname(__filename);',
].join(' ');

/** Read-only or read-write access to a data resource. */
export type DataAccess = 'read' | 'readWrite';

/** Where a function runs when it needs the VPC (Redis, Postgres). */
export interface FunctionNetwork {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
}

/** Properties of a {@link SelfHealFunction}. */
export interface SelfHealFunctionProps {
  /** Handler module, relative to `repoRoot`; exports `handler`. */
  readonly entry: string;
  /** Absolute path of the repository root. */
  readonly repoRoot: string;
  readonly description: string;
  readonly timeout: Duration;
  /** @default DEFAULT_MEMORY_MB */
  readonly memorySize?: number;
  /** @default DEFAULT_LOG_RETENTION */
  readonly logRetention?: logs.RetentionDays;
  /** Environment besides what the `bind*()` helpers set. */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Runs the function in these subnets, with a security group of its own that the `bind*()`
   * helpers open the cache and the database proxy to.
   * @default outside any VPC
   */
  readonly network?: FunctionNetwork;
  /**
   * Adds the AWS Parameters and Secrets Lambda Extension, through which the entry reads the
   * secrets bound with {@link SelfHealFunction.bindSecret} at cold start.
   * @default true
   */
  readonly secretsExtension?: boolean;
  /**
   * Ships what the healing path reads from disk beside the bundle (esbuild's WebAssembly build,
   * TypeScript's standard library, the sandbox harness, the target's sources; see
   * `lambda-asset.ts`) and points `SELFHEAL_TARGET_ROOT` at the sources.
   * @default false
   */
  readonly toolchain?: boolean;
}

/** How a secret becomes an environment variable (see `functions/runtime/lambda-secrets.ts`). */
export interface SecretBindingOptions {
  /** Takes one field of a JSON secret. */
  readonly field?: string;
  /** Put in front of the value unless it already starts with it (`whsec_`). */
  readonly prefix?: string;
  /** `postgres-url`: builds a connection URL from an RDS secret and `host`. */
  readonly format?: 'text' | 'postgres-url';
  readonly host?: string;
}

/**
 * The project's one Lambda construct: every function of the system is one. It holds the defaults
 * (pinned runtime, arm64, an explicit log group with retention, ESM bundles with source maps
 * built by the local esbuild, X-Ray tracing) and the `bind*()` helpers, each of which grants the
 * least access a backing service needs and sets the environment variable that points the code at
 * it, together, so a function never gets one without the other.
 *
 * @example
 * const fn = new SelfHealFunction(this, 'Api', { entry, repoRoot, description, timeout, network });
 * fn.bindRedis(cache).bindTraceStore(database).bindTable(tables, 'kv', 'read');
 */
export class SelfHealFunction extends Construct implements ec2.IConnectable {
  /** The bundled function. */
  readonly fn: NodejsFunction;
  /** Where the function logs. */
  readonly logGroup: logs.LogGroup;
  /** The function's own security group, when it runs in the VPC. */
  readonly securityGroup: ec2.SecurityGroup | undefined;
  readonly #secretBindings = new Map<string, Record<string, string>>();
  readonly #secretsExtension: boolean;
  #tablePrefix: string | undefined;

  constructor(scope: Construct, id: string, props: SelfHealFunctionProps) {
    super(scope, id);
    const { repoRoot, network } = props;
    this.#secretsExtension = props.secretsExtension ?? true;

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? DEFAULT_LOG_RETENTION,
      // Retention already bounds the history; a destroyed stack should not leave orphans behind.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    if (network) {
      this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
        vpc: network.vpc,
        description: `Self-heal function ${id}`,
        // Egress by rule: HTTPS (the VPC endpoints; the internet only through a NAT gateway,
        // when one is deployed), plus the cache and the proxy as the bind helpers add them.
        allowAllOutbound: false,
      });
      this.securityGroup.addEgressRule(
        ec2.Peer.anyIpv4(),
        ec2.Port.tcp(443),
        'HTTPS to VPC endpoints (and through NAT, when deployed)',
      );
    } else {
      this.securityGroup = undefined;
    }

    const completion = [
      `node "${path.join(repoRoot, 'node_modules/tsx/dist/cli.mjs')}"`,
      `"${path.join(repoRoot, 'infra/aws/lambda-asset.ts')}"`,
      `"${repoRoot}"`,
    ].join(' ');
    const toolchain = props.toolchain ? ' --toolchain' : '';
    this.fn = new NodejsFunction(this, 'Function', {
      description: props.description,
      entry: path.resolve(repoRoot, props.entry),
      handler: 'handler',
      projectRoot: repoRoot,
      depsLockFilePath: path.join(repoRoot, 'package-lock.json'),
      runtime: FUNCTION_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      timeout: props.timeout,
      memorySize: props.memorySize ?? DEFAULT_MEMORY_MB,
      logGroup: this.logGroup,
      tracing: lambda.Tracing.ACTIVE,
      ...(network && this.securityGroup
        ? { vpc: network.vpc, vpcSubnets: network.subnets, securityGroups: [this.securityGroup] }
        : {}),
      ...(this.#secretsExtension
        ? {
            paramsAndSecrets: lambda.ParamsAndSecretsLayerVersion.fromVersion(
              lambda.ParamsAndSecretsVersions.V1_0_103,
              { cacheEnabled: true, logLevel: lambda.ParamsAndSecretsLogLevel.WARN },
            ),
          }
        : {}),
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        ...(props.toolchain
          ? { SELFHEAL_TARGET_ROOT: path.posix.join(LAMBDA_TASK_ROOT, TARGET_SOURCE_DIR) }
          : {}),
        ...props.environment,
      },
      bundling: {
        // Bundle with the esbuild in node_modules: no Docker on our machines or in CI.
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        banner: ESM_COMMONJS_BANNER,
        sourceMap: true,
        sourceMapMode: SourceMapMode.DEFAULT,
        // Stack traces need file and line, not the sources: keeps the bundle small.
        sourcesContent: false,
        // Readable stack traces and faster synth matter more than a few kilobytes.
        minify: false,
        // Ship the SDK version we test against instead of whatever the runtime carries.
        bundleAwsSDK: true,
        // esbuild at run time is its WebAssembly build, shipped beside the bundle of functions
        // that build releases (see lambda-asset.ts): the native one is per platform.
        externalModules: ['esbuild-wasm'],
        esbuildArgs: { '--alias:esbuild': 'esbuild-wasm' },
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          // What the function reads from disk beside its bundle (the trace store's migrations,
          // the healing path's toolchain and the target's sources): lambda-asset.ts, run by
          // Node, so the hook runs the same on every OS.
          afterBundling: (_inputDir: string, outputDir: string) => [
            `${completion} "${outputDir}"${toolchain}`,
          ],
        },
      },
    });
  }

  /** Security groups of the function (empty outside the VPC). */
  get connections(): ec2.Connections {
    return this.fn.connections;
  }

  /** Sets one environment variable. The building block of the `bind*()` helpers. */
  setEnvironment(name: string, value: string): this {
    this.fn.addEnvironment(name, value);
    return this;
  }

  /**
   * The Redis Streams bus: `REDIS_URL` (TLS), the hash-tagged key prefix, and an ingress rule on
   * the cache's security group from this function's only, on 6379.
   */
  bindRedis(cache: StreamCache): this {
    this.#requireVpc('bindRedis');
    // allowTo, not the cache's allowFrom: the ingress rule then lives in this function's stack,
    // which depends on the data stack, instead of making the data stack depend on it.
    this.connections.allowTo(cache, ec2.Port.tcp(cache.port), `Redis from ${this.node.path}`);
    return this.setEnvironment('REDIS_URL', cache.url).setEnvironment(
      'SELFHEAL_STREAM_PREFIX',
      STREAM_KEY_PREFIX,
    );
  }

  /**
   * The Postgres trace store through RDS Proxy: `DATABASE_URL` built at cold start from the
   * database secret (read access to that secret only) with the proxy as host, and an ingress
   * rule on the proxy's security group from this function's only, on 5432.
   */
  bindTraceStore(database: TraceDatabase): this {
    this.#requireVpc('bindTraceStore');
    this.connections.allowTo(
      database.proxy,
      ec2.Port.tcp(database.port),
      `Postgres from ${this.node.path}`,
    );
    return this.bindSecret(database.secret, 'DATABASE_URL', {
      format: 'postgres-url',
      host: database.proxy.endpoint,
    });
  }

  /**
   * One of the system's tables (idempotency, snapshots, kv). The code derives their names from
   * `SELFHEAL_TABLE_PREFIX`, which this sets; access is granted on this table only.
   */
  bindTable(tables: AppTables, name: keyof AppTables['byName'], access: DataAccess): this {
    if (this.#tablePrefix !== undefined && this.#tablePrefix !== tables.prefix) {
      throw new Error(`${this.node.path}: tables of two prefixes bound to one function`);
    }
    this.#tablePrefix = tables.prefix;
    this.setEnvironment('SELFHEAL_TABLE_PREFIX', tables.prefix);
    this.#grantTable(tables.byName[name], access);
    return this;
  }

  /** A table the code finds through an environment variable of its own. */
  bindNamedTable(table: dynamodb.ITable, variable: string, access: DataAccess): this {
    this.#grantTable(table, access);
    return this.setEnvironment(variable, table.tableName);
  }

  /**
   * The target's sync function the Lambda deployer ships releases to (`SELFHEAL_LAMBDA_FUNCTION`,
   * an unqualified ARN): `read` may look at its alias and versions (a function catching up with
   * the active release), `deploy` may also update its code, publish versions and move the alias
   * (the heal stage). On that function and its versions and aliases only.
   */
  bindTargetFunction(functionArn: string, access: 'read' | 'deploy'): this {
    const actions = ['lambda:GetAlias', 'lambda:GetFunctionConfiguration'];
    if (access === 'deploy') {
      actions.push(
        'lambda:UpdateFunctionCode',
        'lambda:PublishVersion',
        'lambda:UpdateAlias',
        'lambda:CreateAlias',
      );
    }
    this.fn.addToRolePolicy(
      new iam.PolicyStatement({ actions, resources: [functionArn, `${functionArn}:*`] }),
    );
    return this.setEnvironment('SELFHEAL_LAMBDA_FUNCTION', functionArn);
  }

  /** A bucket: its name in `variable`, object access in it only. */
  bindBucket(bucket: s3.IBucket, variable: string, access: DataAccess): this {
    if (access === 'read') bucket.grantRead(this.fn);
    else bucket.grantReadWrite(this.fn);
    return this.setEnvironment(variable, bucket.bucketName);
  }

  /**
   * A secret as the environment variable `variable`, resolved at cold start (the value never
   * appears in the function's configuration); read access to this secret only.
   */
  bindSecret(
    secret: secretsmanager.ISecret,
    variable: string,
    options: SecretBindingOptions = {},
  ): this {
    if (!this.#secretsExtension) {
      throw new Error(`${this.node.path}: bindSecret needs the secrets extension`);
    }
    secret.grantRead(this.fn);
    if (this.#secretBindings.size === 0) {
      // Read by the entry's secrets loader at cold start, resolved once all bindings are known.
      this.setEnvironment('SELFHEAL_SECRETS', Lazy.string({ produce: () => this.#secretsJson() }));
    }
    this.#secretBindings.set(variable, {
      arn: secret.secretArn,
      ...(options.format ? { format: options.format } : {}),
      ...(options.field ? { field: options.field } : {}),
      ...(options.prefix ? { prefix: options.prefix } : {}),
      ...(options.host ? { host: options.host } : {}),
    });
    return this;
  }

  #grantTable(table: dynamodb.ITable, access: DataAccess): void {
    if (access === 'read') table.grantReadData(this.fn);
    else table.grantReadWriteData(this.fn);
  }

  #requireVpc(helper: string): void {
    if (!this.securityGroup) {
      throw new Error(`${this.node.path}: ${helper} needs the function in the VPC (props.network)`);
    }
  }

  #secretsJson(): string {
    // Sorted, so the synthesized template does not depend on the order of the bind calls.
    const sorted = Object.fromEntries(
      [...this.#secretBindings.entries()].sort(([a], [b]) => a.localeCompare(b)),
    );
    return Stack.of(this).toJsonString(sorted);
  }
}

/** Whole seconds, rounded up: Lambda counts whole seconds, and rounding never cuts a budget. */
export const secondsOf = (ms: number): Duration => Duration.seconds(Math.ceil(ms / 1000));
