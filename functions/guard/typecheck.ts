import { statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import type { GuardReason } from './checks.js';

/**
 * Type-checks a patched file before it may go live, as `tsc` would check it in the repository,
 * without writing it anywhere: the file is an in-memory override of its repository path, every
 * other file is read from disk.
 *
 * A TypeScript program costs about 600 ms to build from nothing and 35 to 60 ms to update, so the
 * checker keeps one language service for its whole life and only bumps the version of the file it
 * checks; {@link TypeChecker.warm} pays the first build at start-up.
 */

/** The compiler options of the repository's tsconfig that matter for one file's diagnostics. */
export const GUARD_COMPILER_OPTIONS: Readonly<ts.CompilerOptions> = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ['lib.es2023.d.ts'],
  strict: true,
  noUncheckedIndexedAccess: true,
  noImplicitOverride: true,
  esModuleInterop: true,
  resolveJsonModule: true,
  isolatedModules: true,
  skipLibCheck: true,
  noEmit: true,
  types: [],
};

/** A long-lived type checker of one repository. */
export interface TypeChecker {
  /**
   * The syntactic and semantic diagnostics of `source` as the repository-relative file `path`,
   * as `type-error` reasons (`path:line:col: message`); empty when it type-checks. Checks run one
   * at a time, in call order.
   */
  check(path: string, source: string): Promise<GuardReason[]>;
  /** Runs a first check (of `source`, else the file on disk) so later checks are fast. */
  warm(path: string, source?: string): Promise<void>;
}

/** What {@link createTypeChecker} needs. */
export interface TypeCheckerOptions {
  /** The repository root: checked paths are relative to it, other files are read under it. */
  readonly repoRoot: string;
  /** Overrides of {@link GUARD_COMPILER_OPTIONS}. */
  readonly compilerOptions?: ts.CompilerOptions;
}

const toPosix = (file: string) => file.replaceAll('\\', '/');

/** Version of a file on disk: its modification time, so an edited file is read again. */
function diskVersion(fileName: string): string {
  try {
    return `disk:${statSync(fileName).mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/**
 * Creates a type checker over a long-lived `ts.LanguageService`.
 *
 * @example
 * ```ts
 * const checker = createTypeChecker({ repoRoot: process.cwd() });
 * await checker.warm('functions/shop/catalog-sync.ts');
 * const reasons = await checker.check('functions/shop/catalog-sync.ts', merged);
 * ```
 */
export function createTypeChecker(options: TypeCheckerOptions): TypeChecker {
  const root = toPosix(path.resolve(options.repoRoot));
  const settings: ts.CompilerOptions = { ...GUARD_COMPILER_OPTIONS, ...options.compilerOptions };
  let counter = 0;
  /** The file being checked: absolute name, text and an in-memory version. */
  let current: { file: string; text: string; version: string } | undefined;

  const host: ts.LanguageServiceHost = {
    getCompilationSettings: () => settings,
    getScriptFileNames: () => (current ? [current.file] : []),
    getScriptVersion: (fileName) =>
      fileName === current?.file ? current.version : diskVersion(fileName),
    getScriptSnapshot: (fileName) => {
      if (fileName === current?.file) return ts.ScriptSnapshot.fromString(current.text);
      const text = ts.sys.readFile(fileName);
      return text === undefined ? undefined : ts.ScriptSnapshot.fromString(text);
    },
    getCurrentDirectory: () => root,
    getDefaultLibFileName: (compilerOptions) => ts.getDefaultLibFilePath(compilerOptions),
    fileExists: (fileName) => fileName === current?.file || ts.sys.fileExists(fileName),
    readFile: (fileName, encoding) =>
      fileName === current?.file ? current.text : ts.sys.readFile(fileName, encoding),
    readDirectory: (...args) => ts.sys.readDirectory(...args),
    directoryExists: (directory) => ts.sys.directoryExists(directory),
    getDirectories: (directory) => ts.sys.getDirectories(directory),
    realpath: (fileName) => ts.sys.realpath?.(fileName) ?? fileName,
    useCaseSensitiveFileNames: () => ts.sys.useCaseSensitiveFileNames,
  };
  const service = ts.createLanguageService(
    host,
    ts.createDocumentRegistry(ts.sys.useCaseSensitiveFileNames, root),
  );

  const run = (relativePath: string, source: string): GuardReason[] => {
    const logical = toPosix(relativePath).replace(/^\.\//, '');
    const file = toPosix(path.resolve(root, logical));
    counter += 1;
    current = { file, text: source, version: `memory:${counter}` };
    const diagnostics = [
      ...service.getSyntacticDiagnostics(file),
      ...service.getSemanticDiagnostics(file),
    ];
    return diagnostics.map((diagnostic) => {
      const message = ts
        .flattenDiagnosticMessageText(diagnostic.messageText, '\n')
        .replace(/\s*\n\s*/g, ' ');
      if (diagnostic.file && diagnostic.start !== undefined) {
        const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
        return {
          code: 'type-error',
          message: `${logical}:${line + 1}:${character + 1}: ${message}`,
        };
      }
      return { code: 'type-error', message: `${logical}: ${message}` };
    });
  };

  // One check at a time: the service has one current file.
  let queue: Promise<unknown> = Promise.resolve();
  const serialize = <T>(task: () => T): Promise<T> => {
    const result = queue.then(task);
    queue = result.catch(() => undefined);
    return result;
  };

  return {
    check: (relativePath, source) => serialize(() => run(relativePath, source)),
    warm: async (relativePath, source) => {
      await serialize(() => {
        const text = source ?? ts.sys.readFile(path.resolve(root, relativePath)) ?? '';
        run(relativePath, text);
      });
    },
  };
}

const shared = new Map<string, TypeChecker>();

/** One {@link createTypeChecker} per repository root for the whole process, created on first use. */
export function sharedTypeChecker(repoRoot: string): TypeChecker {
  const root = path.resolve(repoRoot);
  let checker = shared.get(root);
  if (!checker) {
    checker = createTypeChecker({ repoRoot: root });
    shared.set(root, checker);
  }
  return checker;
}
