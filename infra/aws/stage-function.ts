import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { StageSpec } from '../topology.js';
import { type FunctionNetwork, SelfHealFunction, secondsOf } from './selfheal-function.js';

/** How often EventBridge Scheduler starts a stage's poller. */
export const POLL_PERIOD = Duration.minutes(1);

/**
 * How long a poller keeps starting batches: longer than {@link POLL_PERIOD}, so the next poller
 * is already reading before this one stops (the overlap covers a late or throttled start).
 */
export const POLL_WINDOW_MS = 80_000;

/**
 * The Lambda timeout of a stage: the poll window plus one batch budget. The poller stops
 * starting batches when less than `stage.timeoutMs` is left, so it reads for the whole window
 * and its last batch still finishes before the deadline.
 */
export const stageTimeoutOf = (stage: StageSpec): Duration =>
  secondsOf(POLL_WINDOW_MS + stage.timeoutMs);

/** The Lambda entry of a stage in AWS: the scheduled poller around `stage.handler`. */
export const stageEntryOf = (stage: StageSpec): string =>
  `infra/aws/handlers/stage-${stage.name}.ts`;

/** Properties of a {@link StageFunction}. */
export interface StageFunctionProps {
  /** The stage, straight from the topology manifest. */
  readonly stage: StageSpec;
  /** Absolute path of the repository root. */
  readonly repoRoot: string;
  readonly network?: FunctionNetwork;
  readonly memorySize?: number;
  readonly logRetention?: logs.RetentionDays;
  /** Ships the healing path's toolchain and the target's sources (see `SelfHealFunction`). */
  readonly toolchain?: boolean;
  /** Extra environment, merged over the stage variables. */
  readonly environment?: Readonly<Record<string, string>>;
}

/**
 * One pipeline stage as a Lambda function: a {@link SelfHealFunction} whose entry is the stage's
 * scheduled poller (`infra/aws/handlers/stage-<name>.ts`, which wraps `stage.handler`), whose
 * timeout is the poll window plus one batch budget, and whose environment carries the stage's
 * topology.
 *
 * @example
 * new StageFunction(this, 'RcaStage', { stage: rcaSpec, repoRoot, network });
 */
export class StageFunction extends SelfHealFunction {
  /** The stage this function runs. */
  readonly stage: StageSpec;

  constructor(scope: Construct, id: string, props: StageFunctionProps) {
    const { stage } = props;
    // The entry imports the stage's handler; a manifest pointing at nothing fails synth here.
    const handler = path.resolve(props.repoRoot, stage.handler);
    if (!existsSync(handler)) {
      throw new Error(`Cannot find the handler of stage ${stage.name} at ${handler}`);
    }
    super(scope, id, {
      entry: stageEntryOf(stage),
      repoRoot: props.repoRoot,
      description: `Stage ${stage.name}: ${stage.input} -> ${stage.outputs.join(', ')}`,
      timeout: stageTimeoutOf(stage),
      ...(props.memorySize === undefined ? {} : { memorySize: props.memorySize }),
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
      ...(props.network ? { network: props.network } : {}),
      ...(props.toolchain ? { toolchain: true } : {}),
      environment: {
        STAGE_NAME: stage.name,
        INPUT_STREAM: stage.input,
        OUTPUT_STREAMS: stage.outputs.join(','),
        BATCH_SIZE: String(stage.batchSize),
        MAX_DELIVERIES: String(stage.maxDeliveries),
        ...props.environment,
      },
    });
    this.stage = stage;
  }
}
