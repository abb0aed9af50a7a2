import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, PIPELINE_STACK_NAME } from '../infra/aws/create-app.js';
import { PipelineStack, REPO_ROOT } from '../infra/aws/pipeline-stack.js';
import { type StageSpec, topology } from '../infra/topology.js';

/** The feature flags the CLI passes in, so the test synthesizes what `npm run synth` does. */
const cdkContext = (): Record<string, unknown> =>
  JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')).context;

interface CfnResource {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
}

describe('PipelineStack', () => {
  let outdir: string;
  let built: ReturnType<typeof createApp>;
  let template: Template;

  beforeAll(() => {
    outdir = mkdtempSync(path.join(tmpdir(), 'selfheal-cdk-'));
    // Bundling all stages with esbuild happens here, once for the whole file.
    built = createApp({ app: { context: cdkContext(), outdir } });
    template = Template.fromStack(built.pipeline);
  }, 120_000);

  afterAll(() => {
    rmSync(outdir, { recursive: true, force: true });
  });

  /** The one function whose STAGE_NAME is `stage`, with its logical id. */
  const functionOf = (stage: string): [string, CfnResource] => {
    const found = Object.entries(
      template.findResources('AWS::Lambda::Function', {
        Properties: { Environment: { Variables: { STAGE_NAME: stage } } },
      }),
    ) as Array<[string, CfnResource]>;
    expect(found).toHaveLength(1);
    return found[0] as [string, CfnResource];
  };

  it('creates one function per stage of the topology', () => {
    template.resourceCountIs('AWS::Lambda::Function', topology.length);
    expect([...built.pipeline.stageFunctions.keys()]).toEqual(topology.map((s) => s.name));
  });

  it.each(topology.map((stage) => [stage.name, stage] as const))(
    'runs %s on nodejs22.x, arm64, with its timeout and topology in the environment',
    (_name, stage) => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Timeout: stage.timeoutMs / 1000,
        Handler: 'index.handler',
        Environment: {
          Variables: Match.objectLike({
            STAGE_NAME: stage.name,
            INPUT_STREAM: stage.input,
            OUTPUT_STREAMS: stage.outputs.join(','),
            BATCH_SIZE: String(stage.batchSize),
            MAX_DELIVERIES: String(stage.maxDeliveries),
            NODE_OPTIONS: '--enable-source-maps',
          }),
        },
      });
    },
  );

  it.each(topology.map((stage) => stage.name))(
    'logs %s to its own log group with a retention',
    (name) => {
      const [, fn] = functionOf(name);
      const logGroupRef = (fn.Properties.LoggingConfig as { LogGroup?: { Ref?: string } })?.LogGroup
        ?.Ref;
      expect(logGroupRef).toEqual(expect.any(String));
      const logGroup = template.toJSON().Resources[logGroupRef as string] as CfnResource;
      expect(logGroup.Type).toBe('AWS::Logs::LogGroup');
      expect(logGroup.Properties.RetentionInDays).toBeGreaterThan(0);
    },
  );

  it('gives no stage function the floating NODEJS_LATEST runtime', () => {
    for (const stageFunction of built.pipeline.stageFunctions.values()) {
      expect(stageFunction.fn.runtime).not.toBe(lambda.Runtime.NODEJS_LATEST);
      expect(stageFunction.fn.runtime.name).toBe(lambda.Runtime.NODEJS_22_X.name);
    }
    const runtimes = Object.values(template.findResources('AWS::Lambda::Function')).map(
      (fn) => (fn as CfnResource).Properties.Runtime,
    );
    expect(runtimes).not.toContain(lambda.Runtime.NODEJS_LATEST.name);
  });

  /** The directory CDK staged a stage's bundle in, found through the function's S3 key. */
  const bundleDirOf = (stage: string): string => {
    const [, fn] = functionOf(stage);
    const s3Key = (fn.Properties.Code as { S3Key?: string }).S3Key ?? '';
    return path.join(outdir, `asset.${s3Key.replace(/\.zip$/, '')}`);
  };

  it('bundles each handler as an ES module with a source map and a CommonJS shim', () => {
    for (const { name } of topology) {
      const bundleDir = bundleDirOf(name);
      const bundle = readFileSync(path.join(bundleDir, 'index.mjs'), 'utf8');
      expect(existsSync(path.join(bundleDir, 'index.mjs.map'))).toBe(true);
      expect(bundle).toContain('createRequire');
      expect(bundle).toContain('const __dirname');
      expect(bundle).toMatch(/\/\/# sourceMappingURL=index\.mjs\.map\s*$/);
    }
  });

  it('ships bundles that load on Node and export a handler function', () => {
    const bundles = Object.fromEntries(
      topology.map(({ name }) => [
        name,
        pathToFileURL(path.join(bundleDirOf(name), 'index.mjs')).href,
      ]),
    );
    // A child process, as Lambda would: module-scope code of the bundles stays out of this one.
    const loader = `
      const out = {};
      for (const [stage, url] of Object.entries(JSON.parse(process.argv[1]))) {
        try { out[stage] = typeof (await import(url)).handler; }
        catch (error) { out[stage] = 'failed: ' + String(error?.message ?? error).split('\\n')[0]; }
      }
      console.log(JSON.stringify(out));`;
    const stdout = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', loader, JSON.stringify(bundles)],
      { env: { PATH: process.env.PATH, NODE_OPTIONS: '--enable-source-maps' }, encoding: 'utf8' },
    );
    expect(JSON.parse(stdout)).toEqual(
      Object.fromEntries(topology.map(({ name }) => [name, 'function'])),
    );
  }, 30_000);

  it('synthesizes the app into an environment-agnostic cloud assembly', () => {
    const assembly = built.app.synth();
    const artifact = assembly.getStackByName(PIPELINE_STACK_NAME);
    expect(artifact.environment.account).toBe('unknown-account');
    expect(artifact.environment.region).toBe('unknown-region');
    expect(existsSync(path.join(assembly.directory, artifact.templateFile))).toBe(true);
    expect(Object.keys(artifact.template.Resources ?? {}).length).toBeGreaterThan(0);
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
    expect(() => new PipelineStack(new App({ outdir }), 'Ghost', { stages: [ghost] })).toThrowError(
      /Cannot find entry file at .*functions\/ghost\/handler\.ts/,
    );
  });
});
