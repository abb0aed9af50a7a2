import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { REPO_ROOT } from '../../infra/aws/pipeline-stack.js';

/** The feature flags the CLI passes in, so tests synthesize what `npm run synth` does. */
export const cdkContext = (): Record<string, unknown> =>
  JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')).context;

/** Context that skips asset bundling: for tests that look at templates, not bundles. */
export const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] } as const;

export interface CfnResource {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
}

/** A resource somewhere in the app: its stack's name and logical id. */
export interface ResourceRef {
  readonly stack: string;
  readonly logicalId: string;
}

/** Synthesized templates of several stacks, with cross-stack references followed. */
export class AppTemplates {
  readonly byStack: ReadonlyMap<string, Template>;

  constructor(stacks: ReadonlyArray<Stack | undefined>) {
    const map = new Map<string, Template>();
    for (const stack of stacks) if (stack) map.set(stack.stackName, Template.fromStack(stack));
    this.byStack = map;
  }

  template(stack: string): Template {
    const found = this.byStack.get(stack);
    if (!found) throw new Error(`no stack ${stack}`);
    return found;
  }

  resources(stack: string, type?: string): Array<[string, CfnResource]> {
    const all = this.template(stack).toJSON().Resources as Record<string, CfnResource>;
    return Object.entries(all).filter(([, resource]) => !type || resource.Type === type);
  }

  /**
   * The resource a value points at: `Ref` or `Fn::GetAtt` in `stack`, or `Fn::GetStackOutput`
   * into another stack's output (followed to the `Ref`/`Fn::GetAtt` behind it). `undefined` for
   * anything else (a literal, `*`, a join).
   */
  refOf(stack: string, value: unknown): ResourceRef | undefined {
    if (typeof value !== 'object' || value === null) return undefined;
    const node = value as Record<string, unknown>;
    if (typeof node.Ref === 'string') return { stack, logicalId: node.Ref };
    const getAtt = node['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') {
      return { stack, logicalId: getAtt[0] };
    }
    const output = node['Fn::GetStackOutput'] as
      | { StackName?: string; OutputName?: string }
      | undefined;
    if (output?.StackName && output.OutputName) {
      const outputs = this.template(output.StackName).toJSON().Outputs as Record<
        string,
        { Value: unknown }
      >;
      return this.refOf(output.StackName, outputs[output.OutputName]?.Value);
    }
    return undefined;
  }

  /** Every resource referenced anywhere inside `value` (through joins, selects, splits). */
  refsIn(stack: string, value: unknown): ResourceRef[] {
    const direct = this.refOf(stack, value);
    if (direct) return [direct];
    if (Array.isArray(value)) return value.flatMap((item) => this.refsIn(stack, item));
    if (typeof value === 'object' && value !== null) {
      return Object.values(value).flatMap((item) => this.refsIn(stack, item));
    }
    return [];
  }
}

export const sameRef = (a: ResourceRef, b: ResourceRef): boolean =>
  a.stack === b.stack && a.logicalId === b.logicalId;

/** The logical id of `construct`'s CloudFormation resource, with its stack's name. */
export const refOfConstruct = (construct: IConstruct): ResourceRef => {
  const stack = Stack.of(construct);
  const child = construct.node.defaultChild as { logicalId?: string } | undefined;
  const logicalId = child ? stack.resolve(child.logicalId) : undefined;
  if (typeof logicalId !== 'string') {
    throw new Error(`${construct.node.path} has no CloudFormation resource`);
  }
  return { stack: stack.stackName, logicalId };
};

/**
 * A template with everything that changes without a change of intent replaced by a marker:
 * asset hashes (bundles, the web build), so the snapshot only catches changes of structure.
 */
export function stripAssetHashes(template: unknown): unknown {
  return JSON.parse(
    JSON.stringify(template)
      .replace(/[0-9a-f]{64}(\.zip|\.json)?/g, '[ASSET]')
      .replace(/"S3Key":"[^"]*"/g, '"S3Key":"[ASSET]"'),
  );
}
