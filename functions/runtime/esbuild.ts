/** esbuild's JavaScript API: the same functions from the native package and the WebAssembly one. */
export type Esbuild = typeof import('esbuild');

let loading: Promise<Esbuild> | undefined;

/**
 * esbuild, loaded on first use. The healing path bundles releases, candidates and the sandbox
 * harness at run time. Locally this is the native `esbuild`; the Lambda bundles alias the
 * specifier to `esbuild-wasm` (same version, same output) and ship that package beside the
 * bundle, because the native binary is per platform and the functions run on arm64. Loading it
 * lazily keeps functions that never build from needing either.
 *
 * @example
 * ```ts
 * const { build } = await loadEsbuild();
 * ```
 */
export function loadEsbuild(): Promise<Esbuild> {
  loading ??= import('esbuild').catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}
