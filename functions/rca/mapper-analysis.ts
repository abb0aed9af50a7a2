import { createHash } from 'node:crypto';
import ts from 'typescript';

/**
 * Static analysis of a target's sync mapper with the TypeScript compiler API: which record fields
 * the mapper writes, from which source paths, and where. The rca stage joins this with signals and
 * catalog deltas; the patch templates edit the same nodes. Nothing here knows a field name: every
 * fact comes from the source text.
 */

/**
 * How a record property gets its value.
 * - `direct`: a plain path on the item (`item.sku`, `item['x']`, `item.pricing?.amount`);
 * - `param`: one of the mapper's extra parameters (`syncedAt`), or a path on it;
 * - `literal`: a constant (`'USD'`, `0`, `null`, `[]`);
 * - `computed`: anything else (`item.a ?? item.b`, `Number(item.price)`, a local variable).
 */
export type PropertyKind = 'direct' | 'computed' | 'param' | 'literal';

/** One property of the returned record literal. */
export interface MapperProperty {
  /** The record field written. */
  readonly field: string;
  /** 1-based line where the property starts. */
  readonly line: number;
  /** 1-based line where the property ends (same as `line` for one-line properties). */
  readonly end_line: number;
  /** Source text of the value (`item.return_policy`); the name for a shorthand property. */
  readonly expression: string;
  /** Source paths read, dotted, in order of appearance (`pricing.amount`). */
  readonly reads: readonly string[];
  readonly kind: PropertyKind;
  /** The whole item is used as a value (`normalize(item)`, `item[key]`): it may read anything. */
  readonly readsWholeItem: boolean;
}

/** A spread element of the returned literal (`...item`, `...item.extra`, `...defaults`). */
export interface MapperSpread {
  readonly line: number;
  readonly expression: string;
  /** Source path spread (`''` for the item itself), or `null` when the value is not the item's. */
  readonly source: string | null;
  /** `...item`: the record copies every source field, whatever its name. */
  readonly copiesAll: boolean;
}

/** What the mapper's function returns and how the literal is wrapped. */
export interface ReturnedLiteral {
  readonly start_line: number;
  readonly end_line: number;
  /** `return {...} as T` / `satisfies T` / `<T>{...}`: kept verbatim by every edit. */
  readonly assertion: {
    readonly kind: 'as' | 'satisfies' | 'type-assertion';
    readonly type: string;
  } | null;
}

/** The mapper as the rca stage and the patch templates see it. */
export interface MapperAnalysis {
  readonly fileName: string;
  readonly exportName: string;
  /** The function's own name (`toProductRecord`); the export name for anonymous defaults. */
  readonly name: string;
  /** Name of the first parameter, the item (its pattern text when destructured). */
  readonly itemParam: string;
  /** Names of the other parameters (`syncedAt`). */
  readonly extraParams: readonly string[];
  /** 1-based line range of the whole declaration (without its leading doc comment). */
  readonly start_line: number;
  readonly end_line: number;
  readonly returned: ReturnedLiteral;
  /** Record properties in source order (a later duplicate overrides an earlier one at runtime). */
  readonly properties: readonly MapperProperty[];
  readonly spreads: readonly MapperSpread[];
  /** Record fields written by name, deduplicated, in source order. */
  readonly writes: readonly string[];
  /** Every source path the record is built from (properties and spreads), deduplicated. */
  readonly reads: readonly string[];
  /** Some spread copies the whole item, so fields not in `writes` may still reach the record. */
  readonly copiesAll: boolean;
}

export type MapperAnalysisFailureReason = 'parse-error' | 'export-not-found' | 'unsupported-shape';

export interface MapperAnalysisFailure {
  readonly ok: false;
  readonly reason: MapperAnalysisFailureReason;
  readonly message: string;
}

export type MapperAnalysisResult =
  | { readonly ok: true; readonly analysis: MapperAnalysis }
  | MapperAnalysisFailure;

export interface AnalyzeMapperOptions {
  /** Path of the mapper file, for messages and to pick TS/TSX/JS parsing. */
  readonly fileName: string;
  /** The export holding the mapper (`toProductRecord`, or `default`). */
  readonly exportName: string;
}

/** A function shape the analysis understands. */
export type MapperFunction = ts.FunctionDeclaration | ts.ArrowFunction | ts.FunctionExpression;

/** One element of the returned literal with its node, for templates that edit it. */
export type LocatedElement =
  | {
      readonly node:
        | ts.PropertyAssignment
        | ts.ShorthandPropertyAssignment
        | ts.MethodDeclaration
        | ts.AccessorDeclaration;
      readonly property: MapperProperty;
    }
  | { readonly node: ts.SpreadAssignment; readonly spread: MapperSpread };

/** The parsed mapper: nodes for editing plus the analysis built from them. Not cached. */
export interface LocatedMapper {
  readonly sourceFile: ts.SourceFile;
  readonly fn: MapperFunction;
  /** The top-level statement (or declaration) that holds the mapper. */
  readonly declaration: ts.Node;
  readonly itemParam: ts.ParameterDeclaration;
  readonly literal: ts.ObjectLiteralExpression;
  readonly elements: readonly LocatedElement[];
  readonly analysis: MapperAnalysis;
}

export type LocateMapperResult =
  | { readonly ok: true; readonly mapper: LocatedMapper }
  | MapperAnalysisFailure;

const CACHE_LIMIT = 64;
const cache = new Map<string, MapperAnalysisResult>();

/**
 * Analyses the mapper exported as `options.exportName` from `source`. Results (failures included)
 * are cached by a hash of the input in a small LRU, so a source is parsed once however often the
 * rca stage asks; the returned objects are frozen and shared.
 *
 * @example
 * ```ts
 * const result = analyzeMapper(source, { fileName: 'sync.ts', exportName: 'toRecord' });
 * if (result.ok) result.analysis.writes; // ['sku', 'title', ...]
 * ```
 */
export function analyzeMapper(source: string, options: AnalyzeMapperOptions): MapperAnalysisResult {
  const key = createHash('sha256')
    .update(options.fileName)
    .update('\0')
    .update(options.exportName)
    .update('\0')
    .update(source)
    .digest('base64');
  const hit = cache.get(key);
  if (hit !== undefined) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const located = locateMapper(source, options);
  const result: MapperAnalysisResult = located.ok
    ? deepFreeze({ ok: true, analysis: located.mapper.analysis })
    : deepFreeze(located);
  cache.set(key, result);
  if (cache.size > CACHE_LIMIT) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  return result;
}

/** Empties the analysis cache (tests, or a long-lived process that wants its memory back). */
export function clearMapperAnalysisCache(): void {
  cache.clear();
}

/**
 * Parses `source` and finds the mapper, its returned literal and the analysis, keeping the AST
 * nodes so templates can edit by text position. Uncached: callers that only need facts use
 * {@link analyzeMapper}.
 */
export function locateMapper(source: string, options: AnalyzeMapperOptions): LocateMapperResult {
  const sourceFile = ts.createSourceFile(
    options.fileName,
    source,
    ts.ScriptTarget.Latest,
    true,
    scriptKindOf(options.fileName),
  );
  const diagnostics = syntaxDiagnostics(sourceFile);
  if (diagnostics.length > 0) {
    return { ok: false, reason: 'parse-error', message: formatDiagnostics(diagnostics) };
  }

  const found = findExport(sourceFile, options.exportName);
  if (!found.ok) return found;
  const { fn, declaration, name } = found;

  const parameters = fn.parameters.filter(
    (p) => !(ts.isIdentifier(p.name) && p.name.text === 'this'),
  );
  const itemParam = parameters[0];
  if (itemParam === undefined) {
    return unsupported(`${name} takes no parameter, so it has no item to map`);
  }

  const scope = buildScope(fn, itemParam, parameters.slice(1));
  const returned = findReturnedLiteral(fn, sourceFile);
  if (!returned.ok) return unsupported(`${name} ${returned.message}`);
  const { literal, outer } = returned;

  const elements: LocatedElement[] = [];
  for (const element of literal.properties) {
    const located = analyzeElement(element, scope, sourceFile);
    if (!located.ok) return unsupported(`${name}: ${located.message}`);
    elements.push(located.element);
  }

  const properties: MapperProperty[] = [];
  const spreads: MapperSpread[] = [];
  const writes = new Set<string>();
  const reads = new Set<string>();
  for (const element of elements) {
    if ('spread' in element) {
      spreads.push(element.spread);
      if (element.spread.source) reads.add(element.spread.source);
    } else {
      properties.push(element.property);
      writes.add(element.property.field);
      for (const path of element.property.reads) reads.add(path);
    }
  }

  const analysis: MapperAnalysis = {
    fileName: options.fileName,
    exportName: options.exportName,
    name,
    itemParam: itemParam.name.getText(sourceFile),
    extraParams: parameters.slice(1).map((p) => p.name.getText(sourceFile)),
    start_line: lineOf(sourceFile, declaration.getStart(sourceFile)),
    end_line: lineOf(sourceFile, declaration.getEnd()),
    returned: {
      start_line: lineOf(sourceFile, outer.getStart(sourceFile)),
      end_line: lineOf(sourceFile, outer.getEnd()),
      assertion: assertionOf(outer, sourceFile),
    },
    properties,
    spreads,
    writes: [...writes],
    reads: [...reads],
    copiesAll: spreads.some((s) => s.copiesAll),
  };
  return {
    ok: true,
    mapper: { sourceFile, fn, declaration, itemParam, literal, elements, analysis },
  };
}

/** 1-based line of a text position. */
export function lineOf(sourceFile: ts.SourceFile, position: number): number {
  return sourceFile.getLineAndCharacterOfPosition(position).line + 1;
}

/** The static name of a property (`a`, `'a-b'`, `['a']`, `1`), or `undefined` when computed. */
export function staticPropertyName(name: ts.PropertyName): string | undefined {
  if (
    ts.isIdentifier(name) ||
    ts.isStringLiteral(name) ||
    ts.isNumericLiteral(name) ||
    ts.isNoSubstitutionTemplateLiteral(name) ||
    ts.isPrivateIdentifier(name)
  ) {
    return name.text;
  }
  if (ts.isComputedPropertyName(name)) {
    const expression = unwrap(name.expression);
    if (ts.isStringLiteralLike(expression) || ts.isNumericLiteral(expression)) {
      return expression.text;
    }
  }
  return undefined;
}

/** Strips parentheses, `!`, `as T`, `satisfies T` and `<T>x`: none changes the runtime value. */
export function unwrap(expression: ts.Expression): ts.Expression {
  let current = expression;
  for (;;) {
    if (
      ts.isParenthesizedExpression(current) ||
      ts.isNonNullExpression(current) ||
      ts.isAsExpression(current) ||
      ts.isSatisfiesExpression(current) ||
      ts.isTypeAssertionExpression(current)
    ) {
      current = current.expression;
    } else {
      return current;
    }
  }
}

function scriptKindOf(fileName: string): ts.ScriptKind {
  if (/\.[cm]?tsx$/.test(fileName)) return ts.ScriptKind.TSX;
  if (/\.[cm]?jsx$/.test(fileName)) return ts.ScriptKind.JSX;
  if (/\.[cm]?js$/.test(fileName)) return ts.ScriptKind.JS;
  return ts.ScriptKind.TS;
}

/** Syntax errors through the public API: a one-file program with no lib and no resolution. */
function syntaxDiagnostics(sourceFile: ts.SourceFile): readonly ts.Diagnostic[] {
  const host: ts.CompilerHost = {
    getSourceFile: (name) => (name === sourceFile.fileName ? sourceFile : undefined),
    getDefaultLibFileName: () => 'lib.d.ts',
    writeFile: () => {},
    getCurrentDirectory: () => '',
    getCanonicalFileName: (name) => name,
    useCaseSensitiveFileNames: () => true,
    getNewLine: () => '\n',
    fileExists: (name) => name === sourceFile.fileName,
    readFile: () => undefined,
  };
  const program = ts.createProgram({
    rootNames: [sourceFile.fileName],
    options: { noLib: true, noResolve: true, types: [], allowJs: true },
    host,
  });
  return program.getSyntacticDiagnostics(sourceFile);
}

function formatDiagnostics(diagnostics: readonly ts.Diagnostic[]): string {
  const shown = diagnostics.slice(0, 5).map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, ' ');
    if (d.file === undefined || d.start === undefined) return text;
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    return `${d.file.fileName}:${line + 1}:${character + 1} ${text}`;
  });
  const more =
    diagnostics.length > shown.length ? ` (+${diagnostics.length - shown.length} more)` : '';
  return `${shown.join('; ')}${more}`;
}

function unsupported(message: string): MapperAnalysisFailure {
  return { ok: false, reason: 'unsupported-shape', message };
}

type FoundExport =
  | { readonly ok: true; readonly fn: MapperFunction; readonly declaration: ts.Node; name: string }
  | MapperAnalysisFailure;

function hasModifier(node: ts.Node, kind: ts.SyntaxKind): boolean {
  return (
    ts.canHaveModifiers(node) && (ts.getModifiers(node)?.some((m) => m.kind === kind) ?? false)
  );
}

/** The function exported as `exportName`: a declaration, `export const` or `export { a as b }`. */
function findExport(sourceFile: ts.SourceFile, exportName: string): FoundExport {
  let localName: string | undefined;
  for (const statement of sourceFile.statements) {
    const exported = hasModifier(statement, ts.SyntaxKind.ExportKeyword);
    const isDefault = hasModifier(statement, ts.SyntaxKind.DefaultKeyword);
    if (ts.isFunctionDeclaration(statement) && exported && statement.body !== undefined) {
      const name = statement.name?.text;
      if ((isDefault && exportName === 'default') || (!isDefault && name === exportName)) {
        return { ok: true, fn: statement, declaration: statement, name: name ?? exportName };
      }
    }
    if (ts.isVariableStatement(statement) && exported) {
      const found = fromVariableStatement(statement, exportName);
      if (found) return found;
    }
    if (ts.isExportAssignment(statement) && !statement.isExportEquals && exportName === 'default') {
      const expression = unwrap(statement.expression);
      if (ts.isArrowFunction(expression) || ts.isFunctionExpression(expression)) {
        const name = ts.isFunctionExpression(expression) ? expression.name?.text : undefined;
        return { ok: true, fn: expression, declaration: statement, name: name ?? exportName };
      }
      if (ts.isIdentifier(expression)) localName = expression.text;
      else return unsupported(`the default export is not a function`);
    }
    if (
      ts.isExportDeclaration(statement) &&
      statement.moduleSpecifier === undefined &&
      statement.exportClause !== undefined &&
      ts.isNamedExports(statement.exportClause)
    ) {
      for (const specifier of statement.exportClause.elements) {
        if (specifier.name.text === exportName) {
          localName = (specifier.propertyName ?? specifier.name).getText(sourceFile);
        }
      }
    }
    if (exported && !isDefault && declaresName(statement, exportName)) {
      return unsupported(`the export ${exportName} is not a function`);
    }
  }
  if (localName !== undefined) {
    for (const statement of sourceFile.statements) {
      if (
        ts.isFunctionDeclaration(statement) &&
        statement.name?.text === localName &&
        statement.body !== undefined
      ) {
        return { ok: true, fn: statement, declaration: statement, name: localName };
      }
      if (ts.isVariableStatement(statement)) {
        const found = fromVariableStatement(statement, localName);
        if (found) return found;
      }
    }
    return unsupported(`the export ${exportName} (${localName}) is not a function of this file`);
  }
  return {
    ok: false,
    reason: 'export-not-found',
    message: `${sourceFile.fileName} has no export named ${exportName}`,
  };
}

function fromVariableStatement(
  statement: ts.VariableStatement,
  name: string,
): FoundExport | undefined {
  const declarations = statement.declarationList.declarations;
  for (const declaration of declarations) {
    if (!ts.isIdentifier(declaration.name) || declaration.name.text !== name) continue;
    const init = declaration.initializer && unwrap(declaration.initializer);
    if (init && (ts.isArrowFunction(init) || ts.isFunctionExpression(init))) {
      return {
        ok: true,
        fn: init,
        declaration: declarations.length === 1 ? statement : declaration,
        name,
      };
    }
    return unsupported(`${name} is not initialised with a function`);
  }
  return undefined;
}

function declaresName(statement: ts.Statement, name: string): boolean {
  if (
    (ts.isClassDeclaration(statement) ||
      ts.isEnumDeclaration(statement) ||
      ts.isFunctionDeclaration(statement)) &&
    statement.name?.text === name
  ) {
    return true;
  }
  return false;
}

/** How identifiers in the mapper relate to the item. */
interface Scope {
  /** Names bound to a path of the item (`item` → [], `const p = item.pricing` → ['pricing']). */
  readonly aliases: Map<string, readonly string[]>;
  /** Names of the extra parameters (and names destructured from them). */
  readonly params: Set<string>;
  /** Other locals of the function body, with what their initialisers read. */
  readonly locals: Map<string, Collected>;
}

interface Collected {
  readonly reads: Set<string>;
  wholeItem: boolean;
  usesParam: boolean;
  usesLocal: boolean;
}

function emptyCollected(): Collected {
  return { reads: new Set(), wholeItem: false, usesParam: false, usesLocal: false };
}

function buildScope(
  fn: MapperFunction,
  itemParam: ts.ParameterDeclaration,
  extraParams: readonly ts.ParameterDeclaration[],
): Scope {
  const scope: Scope = { aliases: new Map(), params: new Set(), locals: new Map() };
  bindPattern(itemParam.name, [], scope);
  for (const param of extraParams) {
    for (const name of boundNames(param.name)) scope.params.add(name);
  }
  if (fn.body === undefined || !ts.isBlock(fn.body)) return scope;
  // Only the body's own statements: locals of nested blocks are not visible to the return.
  for (const statement of fn.body.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    for (const declaration of statement.declarationList.declarations) {
      const init = declaration.initializer;
      if (init === undefined) continue;
      const path = pathOf(init, scope);
      if (path !== undefined) {
        bindPattern(declaration.name, path, scope);
      } else {
        const collected = collect(init, scope);
        for (const name of boundNames(declaration.name)) scope.locals.set(name, collected);
      }
    }
  }
  return scope;
}

/** Binds the names of a (possibly destructuring) binding to paths under `base`. */
function bindPattern(name: ts.BindingName, base: readonly string[], scope: Scope): void {
  if (ts.isIdentifier(name)) {
    scope.aliases.set(name.text, base);
    return;
  }
  name.elements.forEach((element, index) => {
    if (ts.isOmittedExpression(element)) return;
    if (element.dotDotDotToken) {
      // `...rest` holds the remaining fields: reading it may read anything under `base`.
      bindPattern(element.name, base, scope);
      return;
    }
    let key: string | undefined;
    if (ts.isArrayBindingPattern(name)) key = String(index);
    else if (element.propertyName) key = staticPropertyName(element.propertyName);
    else if (ts.isIdentifier(element.name)) key = element.name.text;
    if (key === undefined) {
      for (const bound of boundNames(element.name)) scope.locals.set(bound, wholeItemRead());
      return;
    }
    bindPattern(element.name, [...base, key], scope);
  });
}

function wholeItemRead(): Collected {
  const collected = emptyCollected();
  collected.wholeItem = true;
  return collected;
}

function boundNames(name: ts.BindingName): string[] {
  if (ts.isIdentifier(name)) return [name.text];
  const names: string[] = [];
  for (const element of name.elements) {
    if (!ts.isOmittedExpression(element)) names.push(...boundNames(element.name));
  }
  return names;
}

/**
 * The item path an expression denotes when it is a plain access chain on an item alias
 * (`item.a.b`, `item['a']?.b`, `p.amount`), else `undefined`.
 */
function pathOf(expression: ts.Expression, scope: Scope): readonly string[] | undefined {
  const segments: string[] = [];
  let current = unwrap(expression);
  for (;;) {
    if (ts.isPropertyAccessExpression(current)) {
      segments.unshift(current.name.text);
      current = unwrap(current.expression);
    } else if (ts.isElementAccessExpression(current)) {
      const argument = unwrap(current.argumentExpression);
      if (!ts.isStringLiteralLike(argument) && !ts.isNumericLiteral(argument)) return undefined;
      segments.unshift(argument.text);
      current = unwrap(current.expression);
    } else if (ts.isIdentifier(current)) {
      const base = scope.aliases.get(current.text);
      return base === undefined ? undefined : [...base, ...segments];
    } else {
      return undefined;
    }
  }
}

/** True when the expression is an extra parameter or an access chain on one. */
function isParamRead(expression: ts.Expression, scope: Scope): boolean {
  let current = unwrap(expression);
  while (ts.isPropertyAccessExpression(current) || ts.isElementAccessExpression(current)) {
    current = unwrap(current.expression);
  }
  return ts.isIdentifier(current) && scope.params.has(current.text);
}

function isLiteral(expression: ts.Expression): boolean {
  const node = unwrap(expression);
  switch (node.kind) {
    case ts.SyntaxKind.StringLiteral:
    case ts.SyntaxKind.NumericLiteral:
    case ts.SyntaxKind.BigIntLiteral:
    case ts.SyntaxKind.NoSubstitutionTemplateLiteral:
    case ts.SyntaxKind.RegularExpressionLiteral:
    case ts.SyntaxKind.TrueKeyword:
    case ts.SyntaxKind.FalseKeyword:
    case ts.SyntaxKind.NullKeyword:
      return true;
    default:
      break;
  }
  if (ts.isIdentifier(node)) return node.text === 'undefined';
  if (ts.isPrefixUnaryExpression(node)) return isLiteral(node.operand);
  if (ts.isArrayLiteralExpression(node)) return node.elements.every(isLiteral);
  if (ts.isObjectLiteralExpression(node)) {
    return node.properties.every((p) => ts.isPropertyAssignment(p) && isLiteral(p.initializer));
  }
  return false;
}

/** Collects the item paths, parameters and locals an expression (or statement) reads. */
function collect(root: ts.Node, scope: Scope, into: Collected = emptyCollected()): Collected {
  const visit = (node: ts.Node, shadowed: ReadonlySet<string>): void => {
    if (ts.isTypeNode(node) || ts.isTypeParameterDeclaration(node)) return;
    if (ts.isIdentifier(node)) {
      readIdentifier(node, shadowed);
      return;
    }
    if (ts.isPropertyAccessExpression(node)) {
      visit(node.expression, shadowed);
      return;
    }
    if (ts.isPropertyAssignment(node)) {
      if (ts.isComputedPropertyName(node.name)) visit(node.name.expression, shadowed);
      visit(node.initializer, shadowed);
      return;
    }
    if (ts.isShorthandPropertyAssignment(node)) {
      readIdentifier(node.name, shadowed);
      if (node.objectAssignmentInitializer) visit(node.objectAssignmentInitializer, shadowed);
      return;
    }
    if (ts.isFunctionLike(node)) {
      // A nested function's parameters hide outer names (`tags.map((item) => item.name)`).
      const inner = new Set(shadowed);
      for (const param of node.parameters) {
        for (const name of boundNames(param.name)) inner.add(name);
        if (param.initializer) visit(param.initializer, inner);
      }
      if (node.name !== undefined && ts.isComputedPropertyName(node.name)) {
        visit(node.name.expression, shadowed);
      }
      const body = 'body' in node ? node.body : undefined;
      if (body) visit(body, inner);
      return;
    }
    if (ts.isVariableDeclaration(node) || ts.isBindingElement(node)) {
      if (node.initializer) visit(node.initializer, shadowed);
      return;
    }
    ts.forEachChild(node, (child) => visit(child, shadowed));
  };

  const readIdentifier = (identifier: ts.Identifier, shadowed: ReadonlySet<string>): void => {
    const name = identifier.text;
    if (shadowed.has(name)) return;
    const base = scope.aliases.get(name);
    if (base !== undefined) {
      const path = [...base, ...climbPath(identifier)];
      if (path.length === 0) into.wholeItem = true;
      else into.reads.add(path.join('.'));
      return;
    }
    if (scope.params.has(name)) {
      into.usesParam = true;
      return;
    }
    const local = scope.locals.get(name);
    if (local !== undefined) {
      into.usesLocal = true;
      for (const path of local.reads) into.reads.add(path);
      into.wholeItem ||= local.wholeItem;
      into.usesParam ||= local.usesParam;
    }
  };

  visit(root, new Set());
  return into;
}

/**
 * The access chain above an identifier (`item.pricing?.amount` → ['pricing', 'amount']). A final
 * segment that is called is a method of the value, not a field (`item.title.trim()` → ['title']);
 * a computed index ends the path (`item.prices[i]` → ['prices']).
 */
function climbPath(identifier: ts.Identifier): string[] {
  const segments: string[] = [];
  let node: ts.Node = identifier;
  for (;;) {
    const parent: ts.Node = node.parent;
    if (ts.isPropertyAccessExpression(parent) && parent.expression === node) {
      segments.push(parent.name.text);
    } else if (ts.isElementAccessExpression(parent) && parent.expression === node) {
      const argument = unwrap(parent.argumentExpression);
      if (!ts.isStringLiteralLike(argument) && !ts.isNumericLiteral(argument)) break;
      segments.push(argument.text);
    } else if (
      !(
        (ts.isParenthesizedExpression(parent) ||
          ts.isNonNullExpression(parent) ||
          ts.isAsExpression(parent) ||
          ts.isSatisfiesExpression(parent)) &&
        parent.expression === node
      )
    ) {
      break;
    }
    node = parent;
  }
  const parent = node.parent;
  if (segments.length > 0 && ts.isCallExpression(parent) && parent.expression === node) {
    segments.pop();
  }
  return segments;
}

type ReturnedFound =
  | {
      readonly ok: true;
      readonly literal: ts.ObjectLiteralExpression;
      /** The returned expression with its wrappers (`{...} as T`). */
      readonly outer: ts.Expression;
    }
  | { readonly ok: false; readonly message: string };

/** The single object literal the function returns (directly, wrapped, or through a `const`). */
function findReturnedLiteral(fn: MapperFunction, sourceFile: ts.SourceFile): ReturnedFound {
  const body = fn.body;
  if (body === undefined) return { ok: false, message: 'has no body' };
  if (!ts.isBlock(body)) {
    const literal = unwrap(body);
    return ts.isObjectLiteralExpression(literal)
      ? { ok: true, literal, outer: body }
      : { ok: false, message: 'does not return an object literal' };
  }

  const returns: ts.ReturnStatement[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) || ts.isClassLike(node)) return;
    if (ts.isReturnStatement(node)) returns.push(node);
    ts.forEachChild(node, visit);
  };
  ts.forEachChild(body, visit);

  const candidates: { literal: ts.ObjectLiteralExpression; outer: ts.Expression }[] = [];
  for (const statement of returns) {
    if (statement.expression === undefined) continue;
    const returned = unwrap(statement.expression);
    if (ts.isObjectLiteralExpression(returned)) {
      candidates.push({ literal: returned, outer: statement.expression });
    } else if (ts.isIdentifier(returned)) {
      const viaConst = literalOfConst(body, returned, sourceFile);
      if (typeof viaConst === 'string') return { ok: false, message: viaConst };
      if (viaConst) candidates.push(viaConst);
    }
  }
  if (candidates.length === 0) return { ok: false, message: 'does not return an object literal' };
  if (candidates.length > 1) {
    return { ok: false, message: `returns ${candidates.length} object literals; expected one` };
  }
  const [only] = candidates;
  return only ? { ok: true, ...only } : { ok: false, message: 'does not return an object literal' };
}

/**
 * `const record = {...}; return record;`: the literal, when `record` is used nowhere else (a
 * mutation after the declaration would make the literal an incomplete picture of the record).
 */
function literalOfConst(
  body: ts.Block,
  identifier: ts.Identifier,
  sourceFile: ts.SourceFile,
): { literal: ts.ObjectLiteralExpression; outer: ts.Expression } | string | undefined {
  for (const statement of body.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    for (const declaration of statement.declarationList.declarations) {
      if (!ts.isIdentifier(declaration.name) || declaration.name.text !== identifier.text) continue;
      const init = declaration.initializer;
      if (init === undefined || !ts.isObjectLiteralExpression(unwrap(init))) return undefined;
      let uses = 0;
      const count = (node: ts.Node): void => {
        if (ts.isIdentifier(node) && node.text === identifier.text) uses += 1;
        ts.forEachChild(node, count);
      };
      count(body);
      // The declaration's name and the returned identifier.
      if (uses > 2) {
        return `returns ${identifier.getText(sourceFile)}, which is used elsewhere in the body`;
      }
      return { literal: unwrap(init) as ts.ObjectLiteralExpression, outer: init };
    }
  }
  return undefined;
}

function assertionOf(
  outer: ts.Expression,
  sourceFile: ts.SourceFile,
): ReturnedLiteral['assertion'] {
  let current = outer;
  while (ts.isParenthesizedExpression(current) || ts.isNonNullExpression(current)) {
    current = current.expression;
  }
  if (ts.isAsExpression(current)) return { kind: 'as', type: current.type.getText(sourceFile) };
  if (ts.isSatisfiesExpression(current)) {
    return { kind: 'satisfies', type: current.type.getText(sourceFile) };
  }
  if (ts.isTypeAssertionExpression(current)) {
    return { kind: 'type-assertion', type: current.type.getText(sourceFile) };
  }
  return null;
}

type ElementResult =
  | { readonly ok: true; readonly element: LocatedElement }
  | { readonly ok: false; readonly message: string };

function analyzeElement(
  element: ts.ObjectLiteralElementLike,
  scope: Scope,
  sourceFile: ts.SourceFile,
): ElementResult {
  const line = lineOf(sourceFile, element.getStart(sourceFile));
  const end_line = lineOf(sourceFile, element.getEnd());

  if (ts.isSpreadAssignment(element)) {
    const path = pathOf(element.expression, scope);
    const collected = collect(element.expression, scope);
    const source = path?.join('.') ?? (collected.wholeItem ? '' : null);
    const spread: MapperSpread = {
      line,
      expression: element.expression.getText(sourceFile),
      source,
      copiesAll: source === '',
    };
    return { ok: true, element: { node: element, spread } };
  }

  const field = staticPropertyName(element.name);
  if (field === undefined) {
    return {
      ok: false,
      message: `line ${line} writes a computed key (${element.name.getText(sourceFile)}), so the record's fields are not known statically`,
    };
  }

  if (ts.isPropertyAssignment(element)) {
    const collected = collect(element.initializer, scope);
    const path = pathOf(element.initializer, scope);
    let kind: PropertyKind;
    if (path !== undefined && path.length > 0) kind = 'direct';
    else if (isParamRead(element.initializer, scope)) kind = 'param';
    else if (isLiteral(element.initializer)) kind = 'literal';
    else kind = 'computed';
    const property = toProperty(field, line, end_line, element.initializer, collected, kind);
    return { ok: true, element: { node: element, property: property(sourceFile) } };
  }

  if (ts.isShorthandPropertyAssignment(element)) {
    const collected = collect(element, scope);
    const alias = scope.aliases.get(element.name.text);
    let kind: PropertyKind = 'computed';
    if (alias !== undefined && alias.length > 0) kind = 'direct';
    else if (scope.params.has(element.name.text)) kind = 'param';
    const property = toProperty(field, line, end_line, element.name, collected, kind);
    return { ok: true, element: { node: element, property: property(sourceFile) } };
  }

  // Methods and accessors: whatever their bodies read, computed.
  const collected = collect(element, scope);
  const property = toProperty(field, line, end_line, element, collected, 'computed');
  return { ok: true, element: { node: element, property: property(sourceFile) } };
}

function toProperty(
  field: string,
  line: number,
  end_line: number,
  node: ts.Node,
  collected: Collected,
  kind: PropertyKind,
): (sourceFile: ts.SourceFile) => MapperProperty {
  return (sourceFile) => ({
    field,
    line,
    end_line,
    expression: node.getText(sourceFile),
    reads: [...collected.reads],
    kind,
    readsWholeItem: collected.wholeItem,
  });
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
