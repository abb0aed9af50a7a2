import path from 'node:path';
import { applyPatch, parsePatch, type StructuredPatch } from 'diff';
import type { Message } from 'esbuild';
import ts from 'typescript';
import { loadEsbuild } from '../runtime/esbuild.js';
import { globToRegExp, isPatchable, type TargetManifest } from '../target/define-target.js';
import type { Policy } from './policy.js';

/**
 * The guard's checks of a patch proposal, pure functions of the proposal, the base file, the
 * target manifest and the policy. Each finding is a {@link GuardReason}; an empty list means the
 * check lets the patch through. Everything is judged on the diff, because the diff is what a
 * person reviews: constructs a patch adds are findings, the ones it leaves alone are not.
 */

/** Why the guard refuses a patch. */
export type GuardReasonCode =
  /** A file outside the manifest's `patchable` globs (or the policy's allowlist). */
  | 'path-not-allowlisted'
  /** A file the manifest protects: contracts, validators, tests. */
  | 'protected-file'
  | 'too-many-files'
  | 'too-many-lines'
  /** An added import or `require` of a module the policy forbids. */
  | 'forbidden-module'
  /** Added code that runs strings, imports dynamically or rewrites `process.env`. */
  | 'forbidden-construct'
  /** Added code that switches typing or linting off (`as any`, `@ts-ignore`, …). */
  | 'weakens-checks'
  /** The diff is not what runs: applied to the base file it does not give the merged file. */
  | 'diff-mismatch'
  | 'does-not-compile'
  | 'type-error';

/** One finding of a check; the message names the file, the line and the construct. */
export interface GuardReason {
  readonly code: GuardReasonCode;
  readonly message: string;
}

/** The parts of a `patch.proposal` the diff checks read. */
export interface DiffProposal {
  /** Repository-relative files the proposal says it changes; `merged` is the first one. */
  readonly files: readonly string[];
  /** Unified diff against the base file. */
  readonly diff: string;
  /** The patched file, whole. */
  readonly merged: string;
  /** Claimed counts; never trusted, the checks count on the diff. */
  readonly added: number;
  readonly removed: number;
}

/** What {@link checkDiff} needs. */
export interface CheckDiffInput {
  readonly proposal: DiffProposal;
  /** The file the diff applies to (the active release's source). */
  readonly baseSource: string;
  readonly manifest: Pick<TargetManifest, 'patchable' | 'protectedFiles'>;
  readonly policy: Policy;
}

const reason = (code: GuardReasonCode, message: string): GuardReason => ({ code, message });

/**
 * A repository-relative path in one spelling: forward slashes, no `./`, `..` resolved. A path
 * that leaves the repository keeps its leading `..` (and so matches no glob).
 */
function normalizePath(file: string): string {
  const slashed = file.replaceAll('\\', '/').trim();
  const normalized = path.posix.normalize(slashed);
  return normalized.replace(/^\.\//, '');
}

/** The file a diff header names, without git's `a/` / `b/` prefix; undefined for `/dev/null`. */
function headerPath(name: string | undefined, prefix: 'a/' | 'b/'): string | undefined {
  if (name === undefined || name === '' || name === '/dev/null') return undefined;
  return normalizePath(name.startsWith(prefix) ? name.slice(prefix.length) : name);
}

/** An added line of a diff: its text and its line number in the new file. */
interface AddedLine {
  readonly line: number;
  readonly text: string;
}

/** The added lines of one file's patch, numbered as in the new file. */
function addedLines(patch: StructuredPatch): AddedLine[] {
  const added: AddedLine[] = [];
  for (const hunk of patch.hunks) {
    let line = hunk.newStart;
    for (const entry of hunk.lines) {
      const marker = entry[0];
      if (marker === '+') added.push({ line: line++, text: entry.slice(1) });
      else if (marker === ' ') line++;
      // '-' lines are not in the new file; '\' is "No newline at end of file".
    }
  }
  return added;
}

function changedCounts(patches: readonly StructuredPatch[]): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const patch of patches) {
    for (const hunk of patch.hunks) {
      for (const entry of hunk.lines) {
        if (entry.startsWith('+')) added++;
        else if (entry.startsWith('-')) removed++;
      }
    }
  }
  return { added, removed };
}

/** Markers that switch a checker off, looked for in added lines. */
const WEAKENERS: readonly { readonly pattern: RegExp; readonly name: string }[] = [
  { pattern: /\bas\s+any\b/, name: 'as any' },
  { pattern: /\bas\s+unknown\s+as\b/, name: 'as unknown as' },
  { pattern: /@ts-ignore\b/, name: '@ts-ignore' },
  { pattern: /@ts-expect-error\b/, name: '@ts-expect-error' },
  { pattern: /@ts-nocheck\b/, name: '@ts-nocheck' },
  { pattern: /biome-ignore/, name: 'biome-ignore' },
  { pattern: /eslint-disable/, name: 'eslint-disable' },
];

const snippet = (text: string) => {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 80 ? `${line.slice(0, 77)}...` : line;
};

/**
 * Checks a proposal's diff: which files it touches, its size, whether it is exactly what runs,
 * and what its added lines bring in.
 *
 * - every file (named in `files` or in a diff header) must match the manifest's `patchable`
 *   globs, and the policy's `allowlist` when set (`path-not-allowlisted`), and none of its
 *   `protectedFiles` (`protected-file`);
 * - the diff applied to `baseSource` must give `merged` byte for byte (`diff-mismatch`);
 * - files and changed lines, counted on the diff, within the policy (`too-many-files`,
 *   `too-many-lines`);
 * - added lines must not import a forbidden module (`forbidden-module`), evaluate strings, import
 *   dynamically or mutate `process.env` (`forbidden-construct`), nor switch typing or linting off
 *   (`weakens-checks`). Only constructs on added lines count: what the base file already had is
 *   not the patch's doing.
 */
export function checkDiff(input: CheckDiffInput): GuardReason[] {
  const { proposal, baseSource, manifest, policy } = input;
  const reasons: GuardReason[] = [];

  let patches: StructuredPatch[];
  try {
    patches = parsePatch(proposal.diff);
  } catch (error) {
    patches = [];
    reasons.push(
      reason(
        'diff-mismatch',
        `the diff does not parse: ${error instanceof Error ? error.message : String(error)}`,
      ),
    );
  }
  // parsePatch yields an empty patch for text without headers or hunks.
  patches = patches.filter(
    (patch) =>
      patch.hunks.length > 0 || patch.oldFileName !== undefined || patch.newFileName !== undefined,
  );

  // Files: the proposal's own list and every file a diff header names.
  const files: string[] = [];
  const addFile = (file: string | undefined) => {
    if (file !== undefined && !files.includes(file)) files.push(file);
  };
  for (const file of proposal.files) addFile(normalizePath(file));
  for (const patch of patches) {
    addFile(headerPath(patch.oldFileName, 'a/'));
    addFile(headerPath(patch.newFileName, 'b/'));
  }
  const allowlist = policy.allowlist?.map(globToRegExp);
  const protectedGlobs = manifest.protectedFiles.map(globToRegExp);
  for (const file of files) {
    if (protectedGlobs.some((glob) => glob.test(file))) {
      reasons.push(reason('protected-file', `${file}: protected by the target manifest`));
    } else if (!isPatchable(manifest, file)) {
      reasons.push(
        reason('path-not-allowlisted', `${file}: not among the manifest's patchable files`),
      );
    } else if (allowlist && !allowlist.some((glob) => glob.test(file))) {
      reasons.push(reason('path-not-allowlisted', `${file}: not in the policy's allowlist`));
    }
  }

  // The diff is what gets reviewed, so it must be what runs.
  const mergedFile = proposal.files[0] === undefined ? undefined : normalizePath(proposal.files[0]);
  const [patch, ...others] = patches;
  if (!patch) {
    if (proposal.merged !== baseSource) {
      reasons.push(
        reason('diff-mismatch', 'the diff changes nothing but merged differs from base'),
      );
    }
  } else if (others.length > 0) {
    reasons.push(
      reason(
        'diff-mismatch',
        `the diff patches ${patches.length} files; merged is one file (${mergedFile ?? '?'})`,
      ),
    );
  } else {
    const patched = headerPath(patch.newFileName, 'b/') ?? headerPath(patch.oldFileName, 'a/');
    if (patched !== undefined && mergedFile !== undefined && patched !== mergedFile) {
      reasons.push(
        reason('diff-mismatch', `the diff patches ${patched}, the proposal names ${mergedFile}`),
      );
    }
    const applied = applyPatch(baseSource, patch, { autoConvertLineEndings: false });
    if (applied === false) {
      reasons.push(reason('diff-mismatch', `the diff does not apply to the base of ${patched}`));
    } else if (applied !== proposal.merged) {
      reasons.push(
        reason(
          'diff-mismatch',
          `${patched}: the diff applied to the base does not give the merged file (first difference at line ${firstDifferentLine(applied, proposal.merged)})`,
        ),
      );
    }
  }

  if (files.length > policy.max_files) {
    reasons.push(
      reason(
        'too-many-files',
        `the patch touches ${files.length} files (${files.join(', ')}); the policy allows ${policy.max_files}`,
      ),
    );
  }
  const counts = changedCounts(patches);
  const changed = counts.added + counts.removed;
  if (changed > policy.max_changed_lines) {
    reasons.push(
      reason(
        'too-many-lines',
        `the diff changes ${changed} lines (+${counts.added} -${counts.removed}); the policy allows ${policy.max_changed_lines}`,
      ),
    );
  }

  // What the added lines bring in: text markers on every file's added lines, constructs on the
  // AST of the merged file (the only one whose whole text the proposal carries).
  for (const each of patches) {
    const file = headerPath(each.newFileName, 'b/') ?? headerPath(each.oldFileName, 'a/') ?? '?';
    for (const { line, text } of addedLines(each)) {
      for (const { pattern, name } of WEAKENERS) {
        if (pattern.test(text)) {
          reasons.push(
            reason('weakens-checks', `${file}:${line}: adds '${name}' (${snippet(text)})`),
          );
        }
      }
    }
  }
  const mergedPatch = patches.find(
    (each) =>
      (headerPath(each.newFileName, 'b/') ?? headerPath(each.oldFileName, 'a/')) === mergedFile,
  );
  if (mergedPatch && mergedFile !== undefined) {
    const lines = new Set(addedLines(mergedPatch).map(({ line }) => line));
    for (const finding of findConstructs(mergedFile, proposal.merged, policy.forbidden_modules)) {
      const touched = finding.lines.some((line) => lines.has(line));
      if (touched) reasons.push(finding.reason);
    }
  }
  return reasons;
}

function firstDifferentLine(a: string, b: string): number {
  const left = a.split('\n');
  const right = b.split('\n');
  let index = 0;
  while (index < left.length && index < right.length && left[index] === right[index]) index++;
  return index + 1;
}

/** A forbidden construct found in a file, with every line its node spans. */
interface Finding {
  readonly lines: readonly number[];
  readonly reason: GuardReason;
}

/** True when `specifier` is a forbidden module, a `node:` spelling of one or a subpath of one. */
export function isForbiddenModule(specifier: string, forbidden: readonly string[]): boolean {
  const bare = specifier.replace(/^node:/, '');
  return forbidden.some((entry) => {
    const module = entry.replace(/^node:/, '');
    return bare === module || bare.startsWith(`${module}/`);
  });
}

const GLOBAL_OBJECTS = new Set(['globalThis', 'global', 'window', 'self']);

/** Strips what does not change which value an expression is: parentheses, casts, `(0, x)`. */
function unwrap(node: ts.Expression): ts.Expression {
  let current = node;
  for (;;) {
    if (
      ts.isParenthesizedExpression(current) ||
      ts.isAsExpression(current) ||
      ts.isNonNullExpression(current) ||
      ts.isTypeAssertionExpression(current) ||
      ts.isSatisfiesExpression(current)
    ) {
      current = current.expression;
    } else if (
      ts.isBinaryExpression(current) &&
      current.operatorToken.kind === ts.SyntaxKind.CommaToken
    ) {
      current = current.right;
    } else return current;
  }
}

/** The property a member access reads, when it is a name or a string literal. */
function memberName(node: ts.Expression): string | undefined {
  if (ts.isPropertyAccessExpression(node)) return node.name.text;
  if (ts.isElementAccessExpression(node) && ts.isStringLiteralLike(node.argumentExpression)) {
    return node.argumentExpression.text;
  }
  return undefined;
}

/** `name`, `globalThis.name`, `globalThis['name']` (and `global`, `window`, `self`). */
function isGlobal(node: ts.Expression, name: string): boolean {
  const bare = unwrap(node);
  if (ts.isIdentifier(bare)) return bare.text === name;
  if (ts.isPropertyAccessExpression(bare) || ts.isElementAccessExpression(bare)) {
    const object = unwrap(bare.expression);
    return memberName(bare) === name && ts.isIdentifier(object) && GLOBAL_OBJECTS.has(object.text);
  }
  return false;
}

/** `process.env` (also through `globalThis.process`). */
function isProcessEnv(node: ts.Expression): boolean {
  const bare = unwrap(node);
  if (!ts.isPropertyAccessExpression(bare) && !ts.isElementAccessExpression(bare)) return false;
  return memberName(bare) === 'env' && isGlobal(bare.expression, 'process');
}

/** `process.env` itself or one of its variables. */
function targetsProcessEnv(node: ts.Expression): boolean {
  const bare = unwrap(node);
  if (isProcessEnv(bare)) return true;
  return (
    (ts.isPropertyAccessExpression(bare) || ts.isElementAccessExpression(bare)) &&
    isProcessEnv(bare.expression)
  );
}

/** True when a destructuring target (or plain target) writes to `process.env`. */
function assignsProcessEnv(target: ts.Expression): boolean {
  if (targetsProcessEnv(target)) return true;
  let found = false;
  const visit = (node: ts.Node) => {
    if (found) return;
    if (ts.isExpression(node) && targetsProcessEnv(node)) found = true;
    else ts.forEachChild(node, visit);
  };
  const bare = unwrap(target);
  if (ts.isObjectLiteralExpression(bare) || ts.isArrayLiteralExpression(bare)) visit(bare);
  return found;
}

/** Calls that write through their first argument. */
const MUTATORS: Readonly<Record<string, readonly string[]>> = {
  Object: ['assign', 'defineProperty', 'defineProperties', 'setPrototypeOf'],
  Reflect: ['set', 'defineProperty', 'deleteProperty', 'setPrototypeOf'],
};

function isMutatorCall(call: ts.CallExpression): string | undefined {
  const callee = unwrap(call.expression);
  if (!ts.isPropertyAccessExpression(callee) && !ts.isElementAccessExpression(callee)) return;
  const method = memberName(callee);
  const object = unwrap(callee.expression);
  if (method === undefined || !ts.isIdentifier(object)) return;
  return MUTATORS[object.text]?.includes(method) ? `${object.text}.${method}` : undefined;
}

/** True when an `eval` identifier is a reference to the global (not a property name). */
function isEvalReference(node: ts.Identifier): boolean {
  if (node.text !== 'eval') return false;
  const parent = node.parent;
  if (!parent) return true;
  if (ts.isPropertyAccessExpression(parent) && parent.name === node) return false;
  if (ts.isQualifiedName(parent) && parent.right === node) return false;
  if (
    (ts.isPropertyAssignment(parent) ||
      ts.isMethodDeclaration(parent) ||
      ts.isPropertyDeclaration(parent) ||
      ts.isPropertySignature(parent) ||
      ts.isMethodSignature(parent) ||
      ts.isGetAccessorDeclaration(parent) ||
      ts.isSetAccessorDeclaration(parent)) &&
    parent.name === node
  ) {
    return false;
  }
  return true;
}

/**
 * Every forbidden construct of a TypeScript file, with the lines it spans: imports of forbidden
 * modules, dynamic imports, string evaluation, `Function` constructors and writes to
 * `process.env`. The caller keeps the ones on added lines.
 */
function findConstructs(file: string, source: string, forbidden: readonly string[]): Finding[] {
  const sourceFile = ts.createSourceFile(
    file,
    source,
    ts.ScriptTarget.Latest,
    true,
    ts.ScriptKind.TS,
  );
  const findings: Finding[] = [];
  const lineOf = (position: number) => sourceFile.getLineAndCharacterOfPosition(position).line + 1;
  const add = (node: ts.Node, code: GuardReasonCode, what: string) => {
    const first = lineOf(node.getStart(sourceFile));
    const last = lineOf(node.getEnd());
    const lines = Array.from({ length: last - first + 1 }, (_, index) => first + index);
    findings.push({
      lines,
      reason: reason(code, `${file}:${first}: ${what}: ${snippet(node.getText(sourceFile))}`),
    });
  };
  const checkModule = (node: ts.Node, specifier: ts.Expression | undefined, how: string) => {
    if (
      specifier &&
      ts.isStringLiteralLike(specifier) &&
      isForbiddenModule(specifier.text, forbidden)
    ) {
      add(node, 'forbidden-module', `${how} of forbidden module '${specifier.text}'`);
    }
  };

  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) checkModule(node, node.moduleSpecifier, 'import');
    else if (ts.isExportDeclaration(node)) checkModule(node, node.moduleSpecifier, 'export-from');
    else if (ts.isImportEqualsDeclaration(node)) {
      if (ts.isExternalModuleReference(node.moduleReference)) {
        checkModule(node, node.moduleReference.expression, 'import = require');
      }
    } else if (ts.isImportTypeNode(node)) {
      const argument = node.argument;
      if (ts.isLiteralTypeNode(argument)) checkModule(node, argument.literal, 'import type');
    } else if (ts.isCallExpression(node)) {
      const callee = unwrap(node.expression);
      const [first] = node.arguments;
      if (node.expression.kind === ts.SyntaxKind.ImportKeyword) {
        checkModule(node, first, 'dynamic import');
        add(node, 'forbidden-construct', 'dynamic import()');
      } else if (ts.isIdentifier(callee) && callee.text === 'require') {
        if (first && ts.isStringLiteralLike(first)) checkModule(node, first, 'require');
        else add(node, 'forbidden-construct', 'require() of a computed module name');
      } else if (isGlobal(callee, 'Function')) {
        add(node, 'forbidden-construct', 'Function() evaluates a string');
      } else if (memberName(callee) === 'constructor' && node.arguments.length > 0) {
        add(node, 'forbidden-construct', '.constructor() call (Function constructor)');
      } else {
        const mutator = isMutatorCall(node);
        if (mutator && first && targetsProcessEnv(first)) {
          add(node, 'forbidden-construct', `${mutator} on process.env`);
        }
      }
    } else if (ts.isNewExpression(node)) {
      if (isGlobal(node.expression, 'Function')) {
        add(node, 'forbidden-construct', 'new Function() evaluates a string');
      }
    } else if (ts.isIdentifier(node)) {
      if (isEvalReference(node)) add(node, 'forbidden-construct', 'eval');
    } else if (ts.isPropertyAccessExpression(node) || ts.isElementAccessExpression(node)) {
      const object = unwrap(node.expression);
      if (
        memberName(node) === 'eval' &&
        ts.isIdentifier(object) &&
        GLOBAL_OBJECTS.has(object.text)
      ) {
        add(node, 'forbidden-construct', 'eval');
      }
    } else if (ts.isBinaryExpression(node)) {
      const kind = node.operatorToken.kind;
      const assigns = kind >= ts.SyntaxKind.FirstAssignment && kind <= ts.SyntaxKind.LastAssignment;
      if (assigns && assignsProcessEnv(node.left)) {
        add(node, 'forbidden-construct', 'assignment to process.env');
      }
    } else if (ts.isPrefixUnaryExpression(node) || ts.isPostfixUnaryExpression(node)) {
      const updates =
        node.operator === ts.SyntaxKind.PlusPlusToken ||
        node.operator === ts.SyntaxKind.MinusMinusToken;
      if (updates && targetsProcessEnv(node.operand)) {
        add(node, 'forbidden-construct', 'update of process.env');
      }
    } else if (ts.isDeleteExpression(node)) {
      if (targetsProcessEnv(node.expression)) {
        add(node, 'forbidden-construct', 'delete on process.env');
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return findings;
}

/** What {@link checkCompiles} needs. */
export interface CheckCompilesInput {
  /** Repository-relative path the source stands for; imports resolve from its directory. */
  readonly path: string;
  readonly source: string;
  readonly repoRoot: string;
}

/**
 * Bundles the patched file with esbuild exactly as a release would be built (ESM, Node, every
 * import followed), without writing anything. Syntax errors and unresolvable imports come back as
 * `does-not-compile`, as `file:line:col: text`. Types are not checked here: see `typecheck.ts`.
 */
export async function checkCompiles(input: CheckCompilesInput): Promise<GuardReason[]> {
  const repoRoot = path.resolve(input.repoRoot);
  const absolute = path.resolve(repoRoot, input.path);
  const { build } = await loadEsbuild();
  try {
    await build({
      stdin: {
        contents: input.source,
        loader: 'ts',
        sourcefile: absolute,
        resolveDir: path.dirname(absolute),
      },
      absWorkingDir: repoRoot,
      bundle: true,
      format: 'esm',
      platform: 'node',
      write: false,
      logLevel: 'silent',
    });
    return [];
  } catch (error) {
    return esbuildMessages(error).map((message) => reason('does-not-compile', message));
  }
}

function esbuildMessages(error: unknown): string[] {
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
