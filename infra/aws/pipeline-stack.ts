import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { type StageSpec, topology } from '../topology.js';
import { StageFunction } from './stage-function.js';

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

/** Properties of the {@link PipelineStack}. */
export interface PipelineStackProps extends StackProps {
  /**
   * The stages to deploy.
   * @default topology (the manifest in `infra/topology.ts`)
   */
  readonly stages?: readonly StageSpec[];
  /**
   * Root that stage handler paths are relative to.
   * @default REPO_ROOT
   */
  readonly repoRoot?: string;
}

/**
 * The healing pipeline in AWS: one {@link StageFunction} per stage of the topology manifest.
 *
 * A skeleton for now: streams (ElastiCache), the trace store (Aurora), tables, schedulers,
 * Function URLs and the web distribution join it later, wired through `bind*()` helpers on
 * {@link StageFunction}. Environment-agnostic and free of lookups, so it synthesizes offline.
 */
export class PipelineStack extends Stack {
  /** The stage functions, by stage name. */
  readonly stageFunctions: ReadonlyMap<string, StageFunction>;

  constructor(scope: Construct, id: string, props: PipelineStackProps = {}) {
    super(scope, id, props);
    const stages = props.stages ?? topology;
    const repoRoot = props.repoRoot ?? REPO_ROOT;

    const functions = new Map<string, StageFunction>();
    for (const stage of stages) {
      functions.set(
        stage.name,
        new StageFunction(this, constructIdOf(stage.name), {
          stage,
          repoRoot,
          memorySize: MEMORY_MB_BY_STAGE[stage.name],
        }),
      );
    }
    this.stageFunctions = functions;
  }
}

/** `catalog-sync` → `CatalogSyncStage`: a stable, readable logical id prefix per stage. */
const constructIdOf = (stageName: string): string =>
  `${stageName
    .split(/[^a-zA-Z0-9]+/)
    .filter((part) => part.length > 0)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('')}Stage`;
