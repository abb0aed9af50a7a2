import { App, type AppProps } from 'aws-cdk-lib';
import { PipelineStack, type PipelineStackProps } from './pipeline-stack.js';

/** Name of the pipeline stack in CloudFormation. */
export const PIPELINE_STACK_NAME = 'SelfHealPipeline';

/** Options of {@link createApp}. */
export interface CreateAppOptions {
  /** Passed to the CDK `App` (context, outdir); the CLI supplies these through the environment. */
  readonly app?: AppProps;
  /** Passed to the pipeline stack. */
  readonly pipeline?: PipelineStackProps;
}

/**
 * Builds the CDK app: the one place that decides which stacks exist. `app.ts` synthesizes it for
 * the CLI; tests build it in-process.
 *
 * @example
 * const { app } = createApp();
 * app.synth();
 */
export const createApp = (
  options: CreateAppOptions = {},
): { app: App; pipeline: PipelineStack } => {
  const app = new App(options.app);
  // No `env`: the stack stays environment-agnostic, so synthesis needs no account, region or
  // credentials, and `cdk deploy` targets whatever the caller's profile points at.
  const pipeline = new PipelineStack(app, PIPELINE_STACK_NAME, {
    description: 'Self-healing commerce agents: the healing pipeline',
    ...options.pipeline,
  });
  return { app, pipeline };
};
