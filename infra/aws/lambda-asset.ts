import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * What a Lambda asset holds besides its bundle, put there by the CDK's `afterBundling` hook (which
 * runs this file) and by the tests that run the bundles as Lambda would, so both lay an asset out
 * the same way.
 *
 * Every asset: the trace store's migrations in `drizzle/`.
 *
 * An asset of a function on the healing path (`toolchain`) also gets what that path needs at run
 * time and a bundle cannot inline:
 * - `node_modules/esbuild-wasm`: the bundles alias `esbuild` to it. esbuild's native binary is per
 *   platform (the functions run on arm64, synthesis anywhere); the WebAssembly build is the same
 *   version and produces the same bytes.
 * - `lib.*.d.ts` beside the bundle: TypeScript's standard library, found next to the executing
 *   file, for the guard's type check.
 * - `harness.js`: the sandbox harness, pre-bundled, which verify bundles each candidate with.
 * - `target-src/`: the target's source tree (the demo shop's, with the packages its sources
 *   import), the root its manifest's paths are relative to, for diagnosis, patches, the type
 *   check and candidate builds (`SELFHEAL_TARGET_ROOT` points at it).
 */

/** Where the target's source tree goes in an asset. */
export const TARGET_SOURCE_DIR = 'target-src';

/** Where Lambda unpacks an asset. */
export const LAMBDA_TASK_ROOT = '/var/task';

/** Source directories of the target tree, repository-relative. */
const TARGET_SOURCES = ['functions', 'events'];
/** Packages the target's sources import (type check and sandbox builds resolve them). */
const TARGET_PACKAGES = ['zod', 'hono'];

export interface CompleteAssetOptions {
  readonly repoRoot: string;
  /** The asset directory, where the bundle `index.mjs` is. */
  readonly outputDir: string;
  readonly toolchain: boolean;
}

/** Adds to an asset directory what its function reads from disk at run time. */
export async function completeAsset(options: CompleteAssetOptions): Promise<void> {
  const { repoRoot, outputDir } = options;
  const from = (...parts: string[]) => path.join(repoRoot, ...parts);
  cpSync(from('functions/adapters/store/drizzle'), path.join(outputDir, 'drizzle'), {
    recursive: true,
  });
  if (!options.toolchain) return;

  cpSync(from('node_modules/esbuild-wasm'), path.join(outputDir, 'node_modules/esbuild-wasm'), {
    recursive: true,
  });
  const libDir = from('node_modules/typescript/lib');
  for (const file of readdirSync(libDir)) {
    if (/^lib\..*\.d\.ts$/.test(file) || file === 'lib.d.ts') {
      cpSync(path.join(libDir, file), path.join(outputDir, file));
    }
  }
  await build({
    entryPoints: [from('functions/verify/sandbox/harness.ts')],
    outfile: path.join(outputDir, 'harness.js'),
    absWorkingDir: repoRoot,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    // Types only from zod; everything else the harness imports is Node's own.
    logLevel: 'silent',
  });
  const target = path.join(outputDir, TARGET_SOURCE_DIR);
  mkdirSync(target, { recursive: true });
  for (const dir of TARGET_SOURCES) {
    cpSync(from(dir), path.join(target, dir), {
      recursive: true,
      filter: (source) => !source.includes(`${path.sep}node_modules${path.sep}`),
    });
  }
  for (const file of ['package.json', 'tsconfig.json']) cpSync(from(file), path.join(target, file));
  for (const name of TARGET_PACKAGES) {
    cpSync(from('node_modules', name), path.join(target, 'node_modules', name), {
      recursive: true,
    });
  }
}

// Run by the CDK's `afterBundling` hook: `tsx lambda-asset.ts <repoRoot> <outputDir> [--toolchain]`.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [repoRoot, outputDir] = process.argv.slice(2);
  if (!repoRoot || !outputDir) {
    console.error('usage: lambda-asset.ts <repoRoot> <outputDir> [--toolchain]');
    process.exit(2);
  }
  await completeAsset({ repoRoot, outputDir, toolchain: process.argv.includes('--toolchain') });
}
