// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are helper source code whose own template literals must stay literal text here
import { statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import type { FileStyle } from './template-text.js';

/**
 * Local helper functions the templates add to a mapper file, and what the templates learn from
 * the mapper's own types to pick them.
 *
 * The helpers are written once here, in two-space TypeScript with single quotes, and adapted to
 * the file's style (indentation, quotes, line ending; types stripped for JavaScript). A coercion
 * that fails throws a clear Error: a record that cannot be mapped must fail loudly, not store NaN.
 * The `pick*` helpers narrow an upstream value of unknown type at run time, so a re-read field
 * type-checks without a cast and still falls back to its old source for old-shape items.
 */

export type ExpectedType = 'number' | 'integer' | 'string' | 'boolean';

export type HelperName =
  | 'toFiniteNumber'
  | 'toSafeInteger'
  | 'toStringValue'
  | 'toBooleanValue'
  | 'mapEnumValue'
  | 'isRecord'
  | 'pickString'
  | 'pickNumber'
  | 'pickBoolean'
  | 'pickOneOf';

/** The coercion helper for each expected type. */
export const COERCION_HELPERS: Readonly<Record<ExpectedType, HelperName>> = {
  number: 'toFiniteNumber',
  integer: 'toSafeInteger',
  string: 'toStringValue',
  boolean: 'toBooleanValue',
};

/**
 * Lines of each helper. `⟨…⟩` holds TypeScript-only text (annotations), removed for JavaScript.
 * The describe-and-throw tail is the same everywhere, so every failure reads alike.
 */
const SOURCES: Readonly<Record<HelperName, readonly string[]>> = {
  toFiniteNumber: [
    '/** Coerces a feed value to a finite number; anything else fails the mapping loudly. */',
    'function toFiniteNumber(value⟨: unknown⟩, field⟨: string⟩)⟨: number⟩ {',
    "  if (typeof value === 'number' && Number.isFinite(value)) return value;",
    "  const text = typeof value === 'string' ? value.trim() : undefined;",
    '  if (text !== undefined && /^[+-]?(\\d+\\.?\\d*|\\.\\d+)(e[+-]?\\d+)?$/i.test(text)) {',
    '    return Number(text);',
    '  }',
    "  const got = typeof value === 'string' ? JSON.stringify(value) : String(value);",
    '  throw new Error(`${field}: expected a finite number, got ${got}`);',
    '}',
  ],
  toSafeInteger: [
    '/** Coerces a feed value to a safe integer; anything else fails the mapping loudly. */',
    'function toSafeInteger(value⟨: unknown⟩, field⟨: string⟩)⟨: number⟩ {',
    "  const text = typeof value === 'string' ? value.trim() : undefined;",
    '  const number = text !== undefined && /^[+-]?\\d+$/.test(text) ? Number(text) : value;',
    "  if (typeof number === 'number' && Number.isSafeInteger(number)) return number;",
    "  const got = typeof value === 'string' ? JSON.stringify(value) : String(value);",
    '  throw new Error(`${field}: expected an integer, got ${got}`);',
    '}',
  ],
  toStringValue: [
    '/** Coerces a scalar feed value to a string; objects, null and undefined fail loudly. */',
    'function toStringValue(value⟨: unknown⟩, field⟨: string⟩)⟨: string⟩ {',
    "  if (typeof value === 'string') return value;",
    "  if (typeof value === 'number' && Number.isFinite(value)) return String(value);",
    "  if (typeof value === 'boolean' || typeof value === 'bigint') return String(value);",
    '  throw new Error(`${field}: expected a string, got ${String(value)}`);',
    '}',
  ],
  toBooleanValue: [
    '/** Coerces a feed value (true/false, "true"/"false", 1/0) to a boolean; else fails loudly. */',
    'function toBooleanValue(value⟨: unknown⟩, field⟨: string⟩)⟨: boolean⟩ {',
    "  if (typeof value === 'boolean') return value;",
    "  const text = typeof value === 'string' ? value.trim().toLowerCase() : value;",
    "  if (text === 'true' || text === '1' || text === 1) return true;",
    "  if (text === 'false' || text === '0' || text === 0) return false;",
    "  const got = typeof value === 'string' ? JSON.stringify(value) : String(value);",
    '  throw new Error(`${field}: expected a boolean, got ${got}`);',
    '}',
  ],
  mapEnumValue: [
    '/** Maps declared upstream enum values (at `path` inside `value`) to the values the record uses. */',
    'function mapEnumValue⟨<T>⟩(',
    '  value⟨: T⟩,',
    '  mapping⟨: Readonly<Record<string, string>>⟩,',
    '  path⟨: readonly string[]⟩ = [],',
    ')⟨: T⟩ {',
    '  const [key, ...rest] = path;',
    '  if (key === undefined) {',
    "    if (typeof value !== 'string' || !Object.hasOwn(mapping, value)) return value;",
    '    return mapping[value]⟨ as T⟩;',
    '  }',
    "  if (typeof value !== 'object' || value === null) return value;",
    '  const inner = (value⟨ as Record<string, unknown>⟩)[key];',
    '  return { ...value, [key]: mapEnumValue(inner, mapping, rest) }⟨ as T⟩;',
    '}',
  ],
  isRecord: [
    '/** Whether a feed value is an object whose fields can be read. */',
    'function isRecord(value⟨: unknown⟩)⟨: value is Readonly<Record<string, unknown>>⟩ {',
    "  return typeof value === 'object' && value !== null;",
    '}',
  ],
  pickString: [
    '/** The feed value when it is a string, else the fallback (where the field was read before). */',
    'function pickString⟨<T>⟩(value⟨: unknown⟩, fallback⟨: T⟩)⟨: string | T⟩ {',
    "  return typeof value === 'string' ? value : fallback;",
    '}',
  ],
  pickNumber: [
    '/** The feed value when it is a finite number, else the fallback (where it was read before). */',
    'function pickNumber⟨<T>⟩(value⟨: unknown⟩, fallback⟨: T⟩)⟨: number | T⟩ {',
    "  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;",
    '}',
  ],
  pickBoolean: [
    '/** The feed value when it is a boolean, else the fallback (where the field was read before). */',
    'function pickBoolean⟨<T>⟩(value⟨: unknown⟩, fallback⟨: T⟩)⟨: boolean | T⟩ {',
    "  return typeof value === 'boolean' ? value : fallback;",
    '}',
  ],
  pickOneOf: [
    '/** The feed value when it is one of `allowed`, else the fallback (where it was read before). */',
    'function pickOneOf⟨<V extends string | number, T>⟩(',
    '  value⟨: unknown⟩,',
    '  allowed⟨: readonly V[]⟩,',
    '  fallback⟨: T⟩,',
    ')⟨: V | T⟩ {',
    '  return allowed.find((option) => option === value) ?? fallback;',
    '}',
  ],
};

/** The helper's declaration, in the file's style, as lines without line breaks. */
export function helperLines(name: HelperName, style: FileStyle): string[] {
  return (SOURCES[name] ?? []).map((line) => {
    let text = style.typed
      ? line.replace(/[⟨⟩]/g, '')
      : line.replace(/⟨[^⟩]*⟩/g, '').replace('(value)[key]', 'value[key]');
    text = text.replace(/^((?: {2})+)/, (indent) => style.indentUnit.repeat(indent.length / 2));
    if (style.quote === '"') text = swapQuotes(text);
    return text;
  });
}

/** Single-quoted string literals to double-quoted ones (the helpers hold no other quotes). */
function swapQuotes(line: string): string {
  if (line.trimStart().startsWith('/**')) return line;
  return line.replace(/'([^'"\\]*)'/g, '"$1"');
}

/**
 * Which helper narrows an upstream value to a record field's type: a string, a finite number, a
 * boolean, or one of a union of literals (an enum).
 */
export type Narrowing =
  | { readonly helper: 'pickString' | 'pickNumber' | 'pickBoolean' }
  | { readonly helper: 'pickOneOf'; readonly values: readonly (string | number)[] };

/** The type a value must have where a template writes it, when the compiler can tell. */
export type Slot =
  | { readonly known: false }
  | { readonly known: true; readonly type: ts.Type; readonly text: string };

/** How one segment of an item path is reached, given the type of what holds it. */
export type PathLink =
  /** No type is known there (`any`, an unresolved import, JavaScript): written as it always was. */
  | 'any'
  /** A declared field, or an index signature, of a value that is always there: `.a`. */
  | 'member'
  /** A declared field of a value that may be null or undefined: `?.a`. */
  | 'optional'
  /** A field of a value of type `unknown`: read after an `isRecord(...)` guard on that value. */
  | 'guarded';

/** How `item.<path>` reads under the mapper's types. */
export type PathType =
  | {
      readonly ok: true;
      /** One link per segment. */
      readonly links: readonly PathLink[];
      /** The type of the value read; `undefined` when no type is known. */
      readonly type: ts.Type | undefined;
      /** The read may give `undefined` although `type` does not say so (`?.`, index signatures). */
      readonly maybeUndefined: boolean;
      /** `type` as the compiler prints it. */
      readonly text: string;
    }
  /** A segment the type neither declares nor allows (a closed object type, a primitive). */
  | { readonly ok: false; readonly segment: string; readonly owner: string };

/**
 * What the mapper's TypeScript types say about the values a template writes: the type a record
 * field must have, and what reading an item path gives. Every answer degrades to "no type known"
 * (templates then write what they always wrote) when the compiler cannot tell: JavaScript, an
 * item or record typed `any`, or imports that do not resolve.
 */
export interface MapperTypes {
  /**
   * The type the value of `node` (an expression of the mapper file) must have: its contextual
   * type, which for a property of the returned literal is the record field's type from the
   * mapper's return type or assertion (`ProductRecord['title']`); else the node's own type, so a
   * replacement keeps whatever the surrounding code relies on (`(item.sku).trim()`). With
   * `ownType: false`, only the contextual type: what a replacement of another type must fit.
   */
  slotOf(node: ts.Expression, options?: { readonly ownType?: boolean }): Slot;
  /** The type of `field` in the record type the returned literal is checked against. */
  fieldSlot(literal: ts.ObjectLiteralExpression, field: string): Slot;
  /** How `item.<segments>` reads on the type of the item parameter. */
  readPath(itemParam: ts.ParameterDeclaration, segments: readonly string[]): PathType;
  /**
   * Whether the value read along `path` may be written where `slot` is, as it is
   * (`withFallback` false) or as the left side of `?? <old read>` (null and undefined dropped).
   */
  fits(path: Extract<PathType, { ok: true }>, slot: Slot, withFallback: boolean): boolean;
  /** The helper that narrows an unknown upstream value to `slot`, if one does. */
  narrowing(slot: Slot): Narrowing | undefined;
  /** Whether a value coerced to `expected` may be written where `slot` is. */
  accepts(slot: Slot, expected: ExpectedType): boolean;
}

/** Where the types of a mapper file come from. */
export interface MapperTypesInput {
  /** The mapper file's text (read instead of the file on disk). */
  readonly source: string;
  /** Its path relative to `repoRoot`, so its relative imports resolve from there. */
  readonly fileName: string;
  /** The repository the mapper's imports resolve in; `process.cwd()` when not given. */
  readonly repoRoot?: string;
}

/**
 * Compiler options the types are read with: the repository's `tsconfig.json` settings that
 * change a type (strict null checks, unchecked index access, NodeNext resolution), the ones the
 * guard type-checks a patched file with.
 */
const TYPE_OPTIONS: Readonly<ts.CompilerOptions> = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ['lib.es2023.d.ts'],
  strict: true,
  noUncheckedIndexedAccess: true,
  esModuleInterop: true,
  resolveJsonModule: true,
  skipLibCheck: true,
  noEmit: true,
  types: [],
};

const BLIND: MapperTypes = {
  slotOf: () => ({ known: false }),
  fieldSlot: () => ({ known: false }),
  readPath: (_, segments) => ({
    ok: true,
    links: segments.map(() => 'any'),
    type: undefined,
    maybeUndefined: false,
    text: 'any',
  }),
  fits: () => true,
  narrowing: () => undefined,
  accepts: () => true,
};

/**
 * Reads the mapper's types with the TypeScript compiler: the mapper file is an in-memory
 * override of its repository path and every other file (its imports, `zod`'s declarations) is
 * read from disk, as the guard checks it. One language service per repository stays alive, so
 * only the first call pays for building a program (about a second); the program is built on the
 * first question, not before.
 *
 * @example
 * ```ts
 * const types = readMapperTypes({ source, fileName: 'functions/shop/catalog-sync.ts' });
 * types.slotOf(titleRead); // { known: true, text: 'string', ... }
 * ```
 */
export function readMapperTypes(input: MapperTypesInput): MapperTypes {
  if (!/\.[cm]?tsx?$/.test(input.fileName) || /\.d\.[cm]?ts$/.test(input.fileName)) return BLIND;
  let answers: MapperTypes | undefined;
  const typed = (): MapperTypes => {
    if (answers === undefined) {
      answers = BLIND;
      try {
        const root = path.resolve(input.repoRoot ?? process.cwd());
        const file = path.resolve(root, input.fileName).replaceAll('\\', '/');
        const program = programSourceFor(root)(file, input.source);
        const sourceFile = program?.getSourceFile(file);
        if (program && sourceFile) answers = typedAnswers(program.getTypeChecker(), sourceFile);
      } catch {
        // No program (a broken file system, a compiler failure): no type is known.
      }
    }
    return answers;
  };
  return {
    slotOf: (node, options) => typed().slotOf(node, options),
    fieldSlot: (literal, field) => typed().fieldSlot(literal, field),
    readPath: (param, segments) => typed().readPath(param, segments),
    fits: (read, slot, withFallback) => typed().fits(read, slot, withFallback),
    narrowing: (slot) => typed().narrowing(slot),
    accepts: (slot, expected) => typed().accepts(slot, expected),
  };
}

function typedAnswers(checker: ts.TypeChecker, sourceFile: ts.SourceFile): MapperTypes {
  const known = (type: ts.Type | undefined): Slot => {
    if (type === undefined || !informative(type)) return { known: false };
    return { known: true, type, text: checker.typeToString(type) };
  };
  const assignable = (source: ts.Type, target: ts.Type) =>
    checker.isTypeAssignableTo(source, target);

  return {
    slotOf(node, options) {
      const own = twin(sourceFile, node);
      if (own === undefined || !ts.isExpression(own)) return { known: false };
      const contextual = known(checker.getContextualType(own));
      if (contextual.known || options?.ownType === false) return contextual;
      return known(checker.getTypeAtLocation(own));
    },

    fieldSlot(literal, field) {
      const own = twin(sourceFile, literal);
      if (own === undefined || !ts.isObjectLiteralExpression(own)) return { known: false };
      const record = checker.getContextualType(own);
      const property = record && checker.getPropertyOfType(record, field);
      return known(property && checker.getTypeOfSymbol(property));
    },

    readPath(itemParam, segments) {
      const param = twin(sourceFile, itemParam);
      if (param === undefined) return BLIND.readPath(itemParam, segments);
      let type = checker.getTypeAtLocation(param);
      let maybeUndefined = false;
      const links: PathLink[] = [];
      for (const segment of segments) {
        if (type.flags & ts.TypeFlags.Any) {
          links.push(...segments.slice(links.length).map((): PathLink => 'any'));
          return { ok: true, links, type: undefined, maybeUndefined: false, text: 'any' };
        }
        if (type.flags & ts.TypeFlags.Unknown) {
          links.push('guarded');
          maybeUndefined = false;
          continue;
        }
        const present = checker.getNonNullableType(type);
        const nullable = nullish(type);
        const member = memberType(checker, present, segment);
        if (member === undefined || present.flags & ts.TypeFlags.Never) {
          return { ok: false, segment, owner: checker.typeToString(present) };
        }
        links.push(nullable ? 'optional' : 'member');
        maybeUndefined ||= nullable || member.fromIndex;
        type = member.type;
      }
      return { ok: true, links, type, maybeUndefined, text: checker.typeToString(type) };
    },

    fits(read, slot, withFallback) {
      if (!slot.known || read.type === undefined) return true;
      if (withFallback) return assignable(checker.getNonNullableType(read.type), slot.type);
      if (read.maybeUndefined && !assignable(checker.getUndefinedType(), slot.type)) return false;
      return assignable(read.type, slot.type);
    },

    narrowing(slot) {
      if (!slot.known) return undefined;
      if (assignable(checker.getStringType(), slot.type)) return { helper: 'pickString' };
      if (assignable(checker.getNumberType(), slot.type)) return { helper: 'pickNumber' };
      if (assignable(checker.getBooleanType(), slot.type)) return { helper: 'pickBoolean' };
      const present = checker.getNonNullableType(slot.type);
      const members = present.isUnion() ? present.types : [present];
      const values: (string | number)[] = [];
      for (const member of members) {
        if (member.isStringLiteral() || member.isNumberLiteral()) values.push(member.value);
        else return undefined;
      }
      values.sort((a, b) => String(a).localeCompare(String(b)));
      return values.length > 0 ? { helper: 'pickOneOf', values } : undefined;
    },

    accepts(slot, expected) {
      if (!slot.known) return true;
      const coerced =
        expected === 'string'
          ? checker.getStringType()
          : expected === 'boolean'
            ? checker.getBooleanType()
            : checker.getNumberType();
      return assignable(coerced, slot.type);
    },
  };
}

/** A type worth narrowing to: not `any`/`unknown`/`never`, nor a type parameter's stand-in. */
function informative(type: ts.Type): boolean {
  const vague = ts.TypeFlags.Any | ts.TypeFlags.Unknown | ts.TypeFlags.Never;
  return (type.flags & vague) === 0 && (type.flags & ts.TypeFlags.Instantiable) === 0;
}

/** Whether `null` or `undefined` is one of the values of `type`. */
function nullish(type: ts.Type): boolean {
  const flags = ts.TypeFlags.Null | ts.TypeFlags.Undefined | ts.TypeFlags.Void;
  const members = type.isUnion() ? type.types : [type];
  return members.some((member) => (member.flags & flags) !== 0);
}

/** The type of `owner.<segment>`: a declared property, else a matching index signature. */
function memberType(
  checker: ts.TypeChecker,
  owner: ts.Type,
  segment: string,
): { type: ts.Type; fromIndex: boolean } | undefined {
  const apparent = checker.getApparentType(owner);
  const property = checker.getPropertyOfType(apparent, segment);
  if (property !== undefined) return { type: checker.getTypeOfSymbol(property), fromIndex: false };
  const numeric = /^(0|[1-9]\d*)$/.test(segment);
  const index =
    (numeric ? checker.getIndexInfoOfType(apparent, ts.IndexKind.Number) : undefined) ??
    checker.getIndexInfoOfType(apparent, ts.IndexKind.String);
  return index === undefined ? undefined : { type: index.type, fromIndex: true };
}

/** The node of `sourceFile` at the same text range and of the same kind as `node`. */
function twin(sourceFile: ts.SourceFile, node: ts.Node): ts.Node | undefined {
  let found: ts.Node | undefined;
  const visit = (candidate: ts.Node): void => {
    if (found !== undefined || candidate.pos > node.pos || candidate.end < node.end) return;
    if (candidate.pos === node.pos && candidate.end === node.end && candidate.kind === node.kind) {
      found = candidate;
      return;
    }
    ts.forEachChild(candidate, visit);
  };
  ts.forEachChild(sourceFile, visit);
  return found;
}

type ProgramSource = (file: string, text: string) => ts.Program | undefined;

const programSources = new Map<string, ProgramSource>();

/** One long-lived language service per repository root, created on first use. */
/**
 * Builds the program the templates read types from, with the mapper's current text, and checks
 * it once, so the first patch after start-up does not pay for it (about a second).
 */
export function warmMapperTypes(input: MapperTypesInput): void {
  const root = path.resolve(input.repoRoot ?? process.cwd());
  const file = path.resolve(root, input.fileName).replaceAll('\\', '/');
  programSourceFor(root)(file, input.source)?.getTypeChecker();
}

function programSourceFor(root: string): ProgramSource {
  let source = programSources.get(root);
  if (source === undefined) {
    source = createProgramSource(root);
    programSources.set(root, source);
  }
  return source;
}

/** Version of a file on disk: its modification time, so an edited file is read again. */
function diskVersion(fileName: string): string {
  try {
    return `disk:${statSync(fileName).mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/**
 * A program of one file at a time, `text` standing in for `file`, over a language service that
 * reuses everything else (lib and package declarations) from one program to the next.
 */
function createProgramSource(root: string): ProgramSource {
  let current: { file: string; text: string; version: string } | undefined;
  let counter = 0;
  const host: ts.LanguageServiceHost = {
    getCompilationSettings: () => ({ ...TYPE_OPTIONS }),
    getScriptFileNames: () => (current ? [current.file] : []),
    getScriptVersion: (fileName) =>
      fileName === current?.file ? current.version : diskVersion(fileName),
    getScriptSnapshot: (fileName) => {
      if (fileName === current?.file) return ts.ScriptSnapshot.fromString(current.text);
      const text = ts.sys.readFile(fileName);
      return text === undefined ? undefined : ts.ScriptSnapshot.fromString(text);
    },
    getCurrentDirectory: () => root,
    getDefaultLibFileName: (options) => ts.getDefaultLibFilePath(options),
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
  return (file, text) => {
    if (current?.file !== file || current.text !== text) {
      counter += 1;
      current = { file, text, version: `memory:${counter}` };
    }
    return service.getProgram();
  };
}
