import path from 'node:path';
import { type BuildOptions, build } from 'esbuild';
import { completeAsset } from '../../infra/aws/lambda-asset.js';
import { ESM_COMMONJS_BANNER } from '../../infra/aws/selfheal-function.js';

/** The repository root: every entry path and every bundle comment is relative to it. */
const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * What the CDK's `NodejsFunction` runs for a `SelfHealFunction`, as esbuild API options: its
 * command line is `esbuild --bundle <entry> --target=node22 --platform=node --format=esm
 * --outfile=<asset>/index.mjs --sourcemap --sources-content=false --banner:js=<banner>
 * --main-fields=module,main --alias:esbuild=esbuild-wasm --external:esbuild-wasm`, run from the
 * repository root (the AWS SDK is bundled). `test/lambda-handlers.test.ts` checks that a bundle built with these options is the
 * CDK asset byte for byte, so a change on either side fails there.
 */
export const CDK_BUNDLE_OPTIONS: Readonly<BuildOptions> = {
  bundle: true,
  target: 'node22',
  platform: 'node',
  format: 'esm',
  sourcemap: true,
  sourcesContent: false,
  banner: { js: ESM_COMMONJS_BANNER },
  mainFields: ['module', 'main'],
  alias: { esbuild: 'esbuild-wasm' },
  external: ['esbuild-wasm'],
  absWorkingDir: REPO_ROOT,
};

/** One handler, bundled as its Lambda asset: `<dir>/index.mjs`, its map and what `lambda-asset.ts` adds. */
export interface BundledHandler {
  /** Repository-relative entry. */
  readonly entry: string;
  /** The asset directory. */
  readonly dir: string;
  /** The bundle: the module the Lambda runtime imports (`index.handler`). */
  readonly file: string;
}

/**
 * Bundles Lambda entries (repository-relative paths, by a name of the caller's choosing) into
 * `outdir/<name>/`, each exactly as its CDK asset: one esbuild run for all of them (with no code
 * splitting every output is self-contained, the same bytes as a build of its entry alone), then
 * completed as the asset's `afterBundling` hook does (`toolchain` names the entries that ship the
 * healing path's toolchain and the target's sources).
 *
 * @example
 * ```ts
 * const bundles = await bundleHandlers({ ingest: 'infra/aws/handlers/stage-ingest.ts' }, tmp);
 * const { handler } = await import(pathToFileURL(bundles.ingest.file).href);
 * ```
 */
export async function bundleHandlers<const N extends string>(
  entries: Readonly<Record<N, string>>,
  outdir: string,
  toolchain: readonly N[] = [],
): Promise<Record<N, BundledHandler>> {
  const names = Object.keys(entries) as N[];
  const result = await build({
    ...CDK_BUNDLE_OPTIONS,
    entryPoints: Object.fromEntries(
      names.map((name) => [`${name}/index`, path.resolve(REPO_ROOT, entries[name])]),
    ),
    outdir,
    outExtension: { '.js': '.mjs' },
    logLevel: 'silent',
  });
  if (result.errors.length > 0) {
    throw new Error(`bundling failed: ${result.errors.map((error) => error.text).join('; ')}`);
  }
  const bundles = {} as Record<N, BundledHandler>;
  for (const name of names) {
    const dir = path.join(outdir, name);
    await completeAsset({
      repoRoot: REPO_ROOT,
      outputDir: dir,
      toolchain: toolchain.includes(name),
    });
    bundles[name] = { entry: entries[name], dir, file: path.join(dir, 'index.mjs') };
  }
  return bundles;
}
