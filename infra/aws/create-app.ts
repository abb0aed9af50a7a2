import { App, type AppProps, Tags } from 'aws-cdk-lib';
import { DataStack } from './data-stack.js';
import { DemoShopStack } from './demo-shop-stack.js';
import { NetworkStack } from './network-stack.js';
import { OperationsStack } from './operations-stack.js';
import { PipelineStack, type PipelineStackProps, REPO_ROOT } from './pipeline-stack.js';
import { WebStack } from './web-stack.js';

/** Names of the stacks in CloudFormation, in deployment order. */
export const STACK_NAMES = {
  network: 'SelfHealNetwork',
  data: 'SelfHealData',
  demoShop: 'SelfHealDemoShop',
  pipeline: 'SelfHealPipeline',
  web: 'SelfHealWeb',
  operations: 'SelfHealOperations',
} as const;

/** Name of the pipeline stack in CloudFormation. */
export const PIPELINE_STACK_NAME = STACK_NAMES.pipeline;

/** The context keys the app reads (`cdk deploy -c demoShop=true`). */
export interface DeploymentSettings {
  /** Deploys the demo shop as the target (`demoShop`). Default false. */
  readonly demoShop: boolean;
  /** NAT gateways (`natGateways`). Default 0, or 1 with the demo shop (its probes need egress). */
  readonly natGateways: number;
  /** Prefix of table and cache names (`prefix`). Default `cloud`. */
  readonly prefix: string;
  /** Keep the data when the stacks are destroyed (`retainData`). Default false. */
  readonly retainData: boolean;
  /** E-mail subscribed to the alarms (`alarmEmail`). */
  readonly alarmEmail: string | undefined;
  /** Base URL of your own target's API for the probes (`targetUrl`); the demo shop's when on. */
  readonly targetUrl: string | undefined;
  /**
   * Your target's sync function, an unqualified Lambda ARN (`targetSyncFunction`): heals then
   * ship each release to it as code, a published version and an alias move.
   */
  readonly targetSyncFunctionArn: string | undefined;
}

/** Reads the settings from the app's context (`-c key=value` arrives as a string). */
export function deploymentSettingsOf(app: App): DeploymentSettings {
  const context = (key: string): unknown => app.node.tryGetContext(key);
  const flag = (key: string): boolean => {
    const value = context(key);
    return value === true || value === 'true';
  };
  const demoShop = flag('demoShop');
  const nat = context('natGateways');
  const natGateways = nat === undefined ? (demoShop ? 1 : 0) : Number(nat);
  if (!Number.isInteger(natGateways) || natGateways < 0 || natGateways > 2) {
    throw new Error(`natGateways must be 0, 1 or 2, not ${String(nat)}`);
  }
  const prefix = String(context('prefix') ?? 'cloud');
  if (!/^[a-z][a-z0-9-]{0,19}$/.test(prefix)) {
    throw new Error(`prefix must be 1-20 lower-case letters, digits or dashes, not ${prefix}`);
  }
  const alarmEmail = context('alarmEmail');
  const targetUrl = context('targetUrl');
  if (targetUrl !== undefined && !/^https?:\/\/[^/\s]+/.test(String(targetUrl))) {
    throw new Error(`targetUrl must be an http(s) URL, not ${String(targetUrl)}`);
  }
  const syncFunction = context('targetSyncFunction');
  if (
    syncFunction !== undefined &&
    !/^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:[a-zA-Z0-9_-]{1,64}$/.test(
      String(syncFunction),
    )
  ) {
    throw new Error(
      `targetSyncFunction must be a Lambda function ARN without a version or alias, not ${String(syncFunction)}`,
    );
  }
  return {
    demoShop,
    natGateways,
    prefix,
    retainData: flag('retainData'),
    alarmEmail: typeof alarmEmail === 'string' && alarmEmail !== '' ? alarmEmail : undefined,
    targetUrl: targetUrl === undefined ? undefined : String(targetUrl),
    targetSyncFunctionArn: syncFunction === undefined ? undefined : String(syncFunction),
  };
}

/** Options of {@link createApp}. */
export interface CreateAppOptions {
  /** Passed to the CDK `App` (context, outdir); the CLI supplies these through the environment. */
  readonly app?: AppProps;
  /** Over the pipeline stack's properties (tests pass `stages`). */
  readonly pipeline?: Partial<Pick<PipelineStackProps, 'stages' | 'repoRoot'>>;
}

/** The app and its stacks. */
export interface SelfHealApp {
  readonly app: App;
  readonly settings: DeploymentSettings;
  readonly network: NetworkStack;
  readonly data: DataStack;
  readonly demoShop: DemoShopStack | undefined;
  readonly pipeline: PipelineStack;
  readonly web: WebStack;
  readonly operations: OperationsStack;
}

/**
 * Builds the CDK app: the one place that decides which stacks exist. `app.ts` synthesizes it for
 * the CLI; tests build it in-process. Network → data → (demo shop) → pipeline → web and
 * operations; `cdk deploy --all` follows these dependencies.
 *
 * @example
 * const { app } = createApp();
 * app.synth();
 */
export const createApp = (options: CreateAppOptions = {}): SelfHealApp => {
  const app = new App(options.app);
  const settings = deploymentSettingsOf(app);
  const repoRoot = options.pipeline?.repoRoot ?? REPO_ROOT;
  // No `env`: the stacks stay environment-agnostic, so synthesis needs no account, region or
  // credentials, and `cdk deploy` targets whatever the caller's profile points at.
  const network = new NetworkStack(app, STACK_NAMES.network, {
    description: 'Self-healing commerce agents: VPC and endpoints',
    natGateways: settings.natGateways,
  });
  const data = new DataStack(app, STACK_NAMES.data, {
    description: 'Self-healing commerce agents: streams, trace store, tables, releases, secrets',
    network: network.functionNetwork,
    prefix: settings.prefix,
    retainData: settings.retainData,
  });
  const demoShop = settings.demoShop
    ? new DemoShopStack(app, STACK_NAMES.demoShop, {
        description: 'Self-healing commerce agents: the demo shop (target)',
        repoRoot,
        network: network.functionNetwork,
        data,
      })
    : undefined;
  const pipeline = new PipelineStack(app, STACK_NAMES.pipeline, {
    description: 'Self-healing commerce agents: the healing pipeline',
    network: network.functionNetwork,
    data,
    repoRoot,
    ...(options.pipeline?.stages ? { stages: options.pipeline.stages } : {}),
    ...(demoShop
      ? { targetUrl: demoShop.url.url }
      : settings.targetUrl
        ? { targetUrl: settings.targetUrl }
        : {}),
    ...(settings.targetSyncFunctionArn
      ? { targetSyncFunctionArn: settings.targetSyncFunctionArn }
      : {}),
  });
  const web = new WebStack(app, STACK_NAMES.web, {
    description: 'Self-healing commerce agents: dashboard (S3 + CloudFront)',
    repoRoot,
    apiUrl: pipeline.apiUrl,
    streamUrl: pipeline.streamUrl,
    ...(demoShop ? { shopUrl: demoShop.url } : {}),
  });
  const operations = new OperationsStack(app, STACK_NAMES.operations, {
    description: 'Self-healing commerce agents: alarms and dashboard',
    pipeline,
    ...(settings.alarmEmail ? { alarmEmail: settings.alarmEmail } : {}),
  });
  for (const stack of [network, data, demoShop, pipeline, web, operations]) {
    if (stack) Tags.of(stack).add('project', 'selfheal');
  }
  return { app, settings, network, data, demoShop, pipeline, web, operations };
};
