import * as path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { StageSpec } from '../topology.js';

/**
 * The Lambda runtime every stage runs on. Pinned rather than `NODEJS_LATEST`, so a CDK upgrade
 * never moves production onto a Node version the code was not tested on.
 */
export const STAGE_RUNTIME = lambda.Runtime.NODEJS_22_X;

/** Memory a stage gets unless the stack says otherwise. */
export const DEFAULT_STAGE_MEMORY_MB = 512;

/** How long a stage's logs are kept unless the stack says otherwise. */
export const DEFAULT_STAGE_LOG_RETENTION = logs.RetentionDays.ONE_MONTH;

/**
 * Gives the ESM bundle the CommonJS globals its dependencies expect: CommonJS packages (ioredis,
 * pg, pino) call `require('net')` and read `__dirname`, which esbuild cannot turn into imports
 * and which ES modules do not have. Aliased imports keep clear of names in the bundle.
 */
const ESM_COMMONJS_BANNER = [
  "import { createRequire as __selfhealCreateRequire } from 'node:module';",
  "import { dirname as __selfhealDirname } from 'node:path';",
  "import { fileURLToPath as __selfhealFileURLToPath } from 'node:url';",
  'const require = __selfhealCreateRequire(import.meta.url);',
  'const __filename = __selfhealFileURLToPath(import.meta.url);',
  'const __dirname = __selfhealDirname(__filename);',
].join(' ');

/** Properties of a {@link StageFunction}. */
export interface StageFunctionProps {
  /** The stage, straight from the topology manifest. */
  readonly stage: StageSpec;
  /** Absolute path of the repository root: `stage.handler` is resolved against it. */
  readonly repoRoot: string;
  /** @default DEFAULT_STAGE_MEMORY_MB */
  readonly memorySize?: number;
  /** @default DEFAULT_STAGE_LOG_RETENTION */
  readonly logRetention?: logs.RetentionDays;
  /** Extra environment, merged over the stage variables. */
  readonly environment?: Readonly<Record<string, string>>;
}

/**
 * One pipeline stage as a Lambda function, holding the defaults every stage shares: pinned
 * runtime, arm64, timeout from the manifest, an explicit log group with retention, ESM bundles
 * with source maps built by the local esbuild, and the stage's topology in its environment.
 *
 * Access to backing services is meant to be added through `bind*()` methods on this construct
 * that grant the permission and set the matching environment variable together (see
 * {@link StageFunction.setEnvironment}), so a stage never gets one without the other.
 *
 * @example
 * new StageFunction(this, 'Rca', { stage: rcaSpec, repoRoot });
 */
export class StageFunction extends Construct {
  /** The stage this function runs. */
  readonly stage: StageSpec;
  /** The bundled function. */
  readonly fn: NodejsFunction;
  /** Where the function logs. */
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: StageFunctionProps) {
    super(scope, id);
    const { stage, repoRoot } = props;
    this.stage = stage;

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? DEFAULT_STAGE_LOG_RETENTION,
      // Retention already bounds the history; a destroyed stack should not leave orphans behind.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.fn = new NodejsFunction(this, 'Function', {
      description: `Stage ${stage.name}: ${stage.input} -> ${stage.outputs.join(', ')}`,
      entry: path.resolve(repoRoot, stage.handler),
      handler: 'handler',
      projectRoot: repoRoot,
      depsLockFilePath: path.join(repoRoot, 'package-lock.json'),
      runtime: STAGE_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      // Lambda counts whole seconds; rounding up never cuts a batch's budget short.
      timeout: Duration.seconds(Math.ceil(stage.timeoutMs / 1000)),
      memorySize: props.memorySize ?? DEFAULT_STAGE_MEMORY_MB,
      logGroup: this.logGroup,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        STAGE_NAME: stage.name,
        INPUT_STREAM: stage.input,
        OUTPUT_STREAMS: stage.outputs.join(','),
        BATCH_SIZE: String(stage.batchSize),
        MAX_DELIVERIES: String(stage.maxDeliveries),
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
      },
    });
  }

  /**
   * Sets one environment variable on the function. The building block of `bind*()` helpers,
   * which pair it with the grant that makes the value usable.
   */
  setEnvironment(name: string, value: string): this {
    this.fn.addEnvironment(name, value);
    return this;
  }
}
