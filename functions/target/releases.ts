import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createTwoFilesPatch, FILE_HEADERS_ONLY } from 'diff';
import type { Message } from 'esbuild';
import { loadEsbuild } from '../runtime/esbuild.js';

/**
 * A release of a target: the mapper source and the self-contained ESM bundle built from it,
 * addressed by the SHA-256 of the bundle. Two builds of the same source give the same hash, so a
 * deployer can tell "already live" from "new code" without comparing labels.
 */
export interface Release {
  /** A label chosen by the caller, e.g. `R1`, `R2`. */
  readonly id: string;
  /** SHA-256 (hex) of `bundle`. */
  readonly hash: string;
  /** Repository-relative path the source stands for (the manifest's mapper file). */
  readonly path: string;
  /** The bundled module: ESM JavaScript for Node, with every import inlined. */
  readonly bundle: string;
  /** The TypeScript source the bundle was built from. */
  readonly source: string;
  readonly parent_id: string | null;
  /** Unified diff (`a/<path>` → `b/<path>`) of the source against the parent's; null without one. */
  readonly diff: string | null;
}

export interface BuildReleaseInput {
  readonly id: string;
  /** Repository-relative path the source stands for; names the file in bundles and diffs. */
  readonly path: string;
  /**
   * Where to read the source: a repository-relative or absolute file (e.g. R2's source kept
   * beside R1). Give `sourceFile` or `sourceText`.
   */
  readonly sourceFile?: string;
  /** The source itself (a patched candidate). */
  readonly sourceText?: string;
  readonly parent?: Release;
  /** Repository root that `path` and `sourceFile` are relative to (default: the working dir). */
  readonly repoRoot?: string;
}

/** Base of the errors the release machinery throws. */
export class ReleaseError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ReleaseError';
  }
}

/** The input named no source, or both kinds. */
export class ReleaseInputError extends ReleaseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ReleaseInputError';
  }
}

/** esbuild could not bundle the source; `errors` are its messages as `file:line:col: text`. */
export class ReleaseBuildError extends ReleaseError {
  readonly releaseId: string;
  readonly errors: readonly string[];

  constructor(releaseId: string, errors: readonly string[], options?: { cause?: unknown }) {
    super(`release ${releaseId} does not build: ${errors[0] ?? 'unknown error'}`, options);
    this.name = 'ReleaseBuildError';
    this.releaseId = releaseId;
    this.errors = errors;
  }
}

/**
 * Builds a release: bundles the source with esbuild (ESM, Node, everything inlined, not
 * minified so it stays readable in the dashboard), hashes the bundle and diffs the source against
 * the parent's.
 *
 * The source is bundled as if it lived at `path` (imports resolve from that directory), whether it
 * was read from `sourceFile` or given as text, so R2's source kept in a sibling file and a patched
 * candidate both build exactly like the real mapper file would.
 *
 * @throws {ReleaseBuildError} when esbuild reports errors
 * @example
 * ```ts
 * const r1 = await buildRelease({ id: 'R1', path: 'functions/shop/catalog-sync.ts',
 *   sourceFile: 'functions/shop/catalog-sync.ts' });
 * const r2 = await buildRelease({ id: 'R2', path: r1.path,
 *   sourceFile: 'functions/shop/catalog-sync-r2.ts', parent: r1 });
 * ```
 */
export async function buildRelease(input: BuildReleaseInput): Promise<Release> {
  const repoRoot = path.resolve(input.repoRoot ?? process.cwd());
  const source = await sourceOf(input, repoRoot);
  const logicalPath = input.path.replaceAll('\\', '/');

  const { build } = await loadEsbuild();
  let output: string;
  try {
    const result = await build({
      stdin: {
        contents: source,
        loader: 'ts',
        // Absolute, because esbuild joins a relative name onto resolveDir; bundle comments and
        // error locations still print it relative to absWorkingDir.
        sourcefile: path.resolve(repoRoot, logicalPath),
        resolveDir: path.dirname(path.resolve(repoRoot, logicalPath)),
      },
      // Fixed so the bundle (and so the hash) does not depend on where the process runs from.
      absWorkingDir: repoRoot,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      write: false,
      logLevel: 'silent',
    });
    output = result.outputFiles[0]?.text ?? '';
  } catch (error) {
    throw new ReleaseBuildError(input.id, esbuildErrors(error), { cause: error });
  }

  return {
    id: input.id,
    hash: sha256(output),
    path: logicalPath,
    bundle: output,
    source,
    parent_id: input.parent?.id ?? null,
    diff: input.parent ? diffSources(logicalPath, input.parent.source, source) : null,
  };
}

/** SHA-256 (hex) of a text, as releases are addressed. */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The unified diff between two sources of the same file, git-style `a/` and `b/` labels. */
export function diffSources(filePath: string, before: string, after: string): string {
  return createTwoFilesPatch(
    `a/${filePath}`,
    `b/${filePath}`,
    before,
    after,
    undefined,
    undefined,
    {
      context: 3,
      headerOptions: FILE_HEADERS_ONLY,
    },
  );
}

async function sourceOf(input: BuildReleaseInput, repoRoot: string): Promise<string> {
  const hasFile = input.sourceFile !== undefined;
  const hasText = input.sourceText !== undefined;
  if (hasFile === hasText) {
    throw new ReleaseInputError(
      `release ${input.id}: give exactly one of sourceFile or sourceText`,
    );
  }
  if (input.sourceText !== undefined) return input.sourceText;
  const file = path.resolve(repoRoot, input.sourceFile ?? '');
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new ReleaseInputError(`release ${input.id}: cannot read ${file}`, { cause: error });
  }
}

function esbuildErrors(error: unknown): string[] {
  const messages =
    typeof error === 'object' &&
    error !== null &&
    Array.isArray((error as { errors?: unknown }).errors)
      ? (error as { errors: Message[] }).errors
      : [];
  if (messages.length === 0) return [error instanceof Error ? error.message : String(error)];
  return messages.map(({ text, location }) =>
    location ? `${location.file}:${location.line}:${location.column}: ${text}` : text,
  );
}
