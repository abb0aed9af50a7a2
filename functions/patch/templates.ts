import ts from 'typescript';
import type { FaultClass } from '../../events/healing.js';
import {
  type LocatedMapper,
  type LocateMapperResult,
  locateMapper,
  type MapperProperty,
  unwrap,
} from '../rca/mapper-analysis.js';
import {
  COERCION_HELPERS,
  type ExpectedType,
  type HelperName,
  helperLines,
  type MapperTypes,
  type Narrowing,
  type PathType,
  readMapperTypes,
  type Slot,
} from './template-helpers.js';
import {
  applyEdits,
  buildSnippet,
  countChangedLines,
  detectStyle,
  type FileStyle,
  indentationAt,
  lineStart,
  nextLineStart,
  parsePath,
  quoteString,
  renderAccess,
  renderKey,
  type TextEdit,
} from './template-text.js';

/**
 * AST templates for the patch stage: one minimal, formatting-preserving edit per fault class,
 * computed from text positions the compiler API gives, so everything outside the edited lines
 * stays byte-identical (comments, blank lines, CRLF). Each plan carries the update snippet for an
 * applier (lazy-edit form, never the whole file), the instruction sentence, and the merged file
 * the edit must produce, for cross-checking the applier. The templates know no field names: all
 * come from the diagnosis.
 *
 * Every edit must type-check against the target's real types, because the guard type-checks the
 * patched file (strict, `noUncheckedIndexedAccess`) and refuses casts that switch checking off.
 * The types come from the mapper itself, read with the compiler ({@link readMapperTypes}): the
 * record field's type is the contextual type of the value the template writes (from the mapper's
 * return type or `as Record` assertion), and a source path's type is read on the item
 * parameter's type. Those are the types the guard checks the file against, whatever the target
 * declares them with; the record contract's field order (`contractOrder`) carries no types.
 * Where an upstream value is `unknown` (a field the item type does not declare, as extra keys of
 * a `z.looseObject`), it is narrowed at run time by a small local helper (`pickString`,
 * `pickNumber`, `pickBoolean`, `pickOneOf`, and `isRecord` for a nested path) that falls back to
 * the field's old source, so old-shape items still map. Where no type is known (JavaScript,
 * `any`, unresolved imports) the templates write plain reads, as they always did.
 */

export type { ExpectedType } from './template-helpers.js';

/** What the diagnosis says about the field to fix. */
export interface PatchFields {
  /**
   * The record field (`return_policy`). For `enum-drift` it may be a dotted path into the
   * record value when the enum is nested (`return_policy.type`).
   */
  readonly field: string;
  /** Where the value is upstream now (dotted path on the item); defaults to `field`. */
  readonly sourcePath?: string;
  /** Where the mapper read it before; defaults to what the property reads today. */
  readonly oldSourcePath?: string;
  /** The contract's type for `type-drift`. */
  readonly expectedType?: ExpectedType;
  /** Declared mapping of new upstream enum values to contract values, for `enum-drift`. */
  readonly enumMapping?: Readonly<Record<string, string>>;
}

export interface PlanPatchInput {
  readonly fault_class: FaultClass;
  /** The mapper file of the active release. */
  readonly source: string;
  /** Repository-relative path of the mapper file. */
  readonly fileName: string;
  /** The export holding the mapper. */
  readonly exportName: string;
  readonly fields: PatchFields;
  /**
   * The record contract's field order (e.g. `Object.keys(ProductRecordSchema.shape)`), so an
   * added property lands after the field that precedes it in the contract.
   */
  readonly contractOrder?: readonly string[];
  /**
   * The repository the mapper's imports resolve in, for reading its types; `process.cwd()` when
   * not given.
   */
  readonly repoRoot?: string;
}

export type PlanPatchFailureReason =
  /** No AST template for this fault class (the LLM planner's case). */
  | 'no-template'
  /** The mapper's shape is not one the template edits safely. */
  | 'unsupported-shape'
  /** The fix needs a decision a person must declare first (an enum mapping). */
  | 'needs-policy'
  | 'parse-error'
  | 'export-not-found'
  /** The diagnosis lacks what the template needs, or contradicts itself. */
  | 'invalid-input'
  /** The property to edit is not written by the mapper. */
  | 'field-not-found'
  /** `dropped-field`, but the mapper writes the field. */
  | 'field-present'
  /** The mapper already does what the edit would do. */
  | 'no-change';

export type PlanPatchResult =
  | {
      readonly ok: true;
      readonly fault_class: FaultClass;
      /** One sentence saying what the edit does (Morph's `<instruction>`). */
      readonly instruction: string;
      /** Changed lines with unique context and `// ... existing code ...` markers. */
      readonly snippet: string;
      /** The whole file after the edit, computed from AST positions. */
      readonly expected: string;
      /** Lines added and removed by the edit (a changed line counts once in each). */
      readonly edit: { readonly file: string; readonly added: number; readonly removed: number };
    }
  | { readonly ok: false; readonly reason: PlanPatchFailureReason; readonly message: string };

type Failure = Extract<PlanPatchResult, { ok: false }>;

interface TemplateContext {
  readonly input: PlanPatchInput;
  readonly mapper: LocatedMapper;
  readonly sourceFile: ts.SourceFile;
  readonly text: string;
  readonly style: FileStyle;
  /** The item parameter's name (`item`). */
  readonly item: string;
  /** The mapper's types, read on first use. */
  readonly types: MapperTypes;
}

type Planned =
  | { readonly ok: true; readonly edits: readonly TextEdit[]; readonly instruction: string }
  | Failure;

type Template = (context: TemplateContext) => Planned;

const TEMPLATES: Partial<Record<FaultClass, Template>> = {
  'dropped-field': droppedField,
  'renamed-field': (context) => rereadField(context, 'renamed'),
  'moved-field': (context) => rereadField(context, 'moved'),
  'type-drift': typeDrift,
  'enum-drift': enumDrift,
};

/**
 * Plans the template edit for a diagnosed fault: the snippet for the applier, the instruction,
 * and the file the merge must produce. Refusals are values with a reason code. The edit
 * type-checks under the mapper's own types (see the module comment); an edit that cannot is
 * refused as `unsupported-shape`, for the LLM planner or a person.
 *
 * @example
 * ```ts
 * const plan = planPatch({
 *   fault_class: 'dropped-field', source, fileName: 'functions/shop/catalog-sync.ts',
 *   exportName: 'toProductRecord', fields: { field: 'return_policy' },
 * });
 * if (plan.ok) await applier.apply({ instruction: plan.instruction, snippet: plan.snippet, ... });
 * ```
 */
export function planPatch(input: PlanPatchInput): PlanPatchResult {
  const template = TEMPLATES[input.fault_class];
  if (template === undefined) {
    return fail('no-template', `no AST template for fault class ${input.fault_class}`);
  }
  if (input.fields.field.length === 0 || parsePath(input.fields.field) === undefined) {
    return fail('invalid-input', `not a field name: ${JSON.stringify(input.fields.field)}`);
  }
  if (input.fault_class === 'enum-drift' && !hasMapping(input.fields.enumMapping)) {
    return fail(
      'needs-policy',
      `no enum mapping is declared for ${input.fields.field}: which contract value a new upstream value means is a decision to declare, not to guess`,
    );
  }

  const located = locate(input.source, input);
  if (!located.ok) return fail(located.reason, located.message);
  const { mapper } = located;
  if (!ts.isIdentifier(mapper.itemParam.name)) {
    return unsupported(`${mapper.analysis.name} destructures its item parameter`);
  }
  const context: TemplateContext = {
    input,
    mapper,
    sourceFile: mapper.sourceFile,
    text: input.source,
    style: detectStyle(mapper.sourceFile),
    item: mapper.itemParam.name.text,
    types: readMapperTypes({
      source: input.source,
      fileName: input.fileName,
      ...(input.repoRoot === undefined ? {} : { repoRoot: input.repoRoot }),
    }),
  };

  const planned = template(context);
  if (!planned.ok) return planned;
  const expected = applyEdits(input.source, planned.edits);
  if (expected === input.source) return fail('no-change', 'the edit changes nothing');
  const after = locate(expected, input);
  if (!after.ok) {
    return unsupported(`the edit would leave a mapper that does not analyse: ${after.message}`);
  }
  const missed = postcondition(input, after.mapper);
  if (missed !== undefined) return unsupported(`the edit would not fix the mapper: ${missed}`);

  return {
    ok: true,
    fault_class: input.fault_class,
    instruction: planned.instruction,
    snippet: buildSnippet(input.source, expected, context.style.eol),
    expected,
    edit: { file: input.fileName, ...countChangedLines(input.source, expected) },
  };
}

/**
 * What the edited mapper must show, checked on its own analysis: the field is written, and a
 * re-read field reads its new path.
 */
function postcondition(input: PlanPatchInput, mapper: LocatedMapper): string | undefined {
  const [field = ''] = input.fields.field.split('.');
  const written = mapper.analysis.properties.filter((p) => p.field === field).at(-1);
  if (written === undefined) return `it does not write ${field}`;
  const { sourcePath } = input.fields;
  const rereads = input.fault_class === 'renamed-field' || input.fault_class === 'moved-field';
  const added = input.fault_class === 'dropped-field';
  if ((rereads || added) && !written.reads.includes(sourcePath ?? field)) {
    return `${field} does not read ${sourcePath ?? field}`;
  }
  return undefined;
}

function locate(source: string, input: PlanPatchInput): LocateMapperResult {
  return locateMapper(source, { fileName: input.fileName, exportName: input.exportName });
}

function fail(reason: PlanPatchFailureReason, message: string): Failure {
  return { ok: false, reason, message };
}

function unsupported(message: string): Failure {
  return fail('unsupported-shape', message);
}

function hasMapping(mapping: PatchFields['enumMapping']): boolean {
  return mapping !== undefined && Object.keys(mapping).length > 0;
}

/**
 * `field: item.<sourcePath ?? field>,` added to the returned literal where it belongs. The read
 * must have the record field's type as it is: with no old source to fall back to, a value of
 * another type (an undeclared upstream key is `unknown`) is refused rather than guessed at.
 */
function droppedField(context: TemplateContext): Planned {
  const { input, mapper, text, style } = context;
  const { field } = input.fields;
  if (field.includes('.')) {
    return unsupported(`adding a value inside a record field (${field}) has no template`);
  }
  if (mapper.analysis.writes.includes(field)) {
    return fail('field-present', `${mapper.analysis.name} already writes ${field}`);
  }
  const segments = parsePath(input.fields.sourcePath ?? field);
  if (segments === undefined) return invalidPath(input.fields.sourcePath);
  const layout = checkLayout(context);
  if (layout !== undefined) return layout;

  const source = readSource(context, segments);
  if (!source.ok) return source;
  const slot = context.types.fieldSlot(mapper.literal, field);
  if (!context.types.fits(source.path, slot, false)) {
    return unsupported(
      `${source.text} is ${source.path.text}${source.path.maybeUndefined ? ' or undefined' : ''}, not the ${typeName(slot)} ${field} must be; with nothing to fall back to, no template narrows it`,
    );
  }

  const elements = mapper.literal.properties;
  const index = insertionIndex(context);
  const value = source.text;
  const property = `${renderKey(field, style)}: ${value}`;
  const edits: TextEdit[] = [];
  if (source.guarded) {
    const declared = helperEdit(context, ['isRecord']);
    if (!declared.ok) return declared;
    edits.push(...declared.edits);
  }

  const previous = elements[index - 1];
  if (previous !== undefined) {
    const comma = commaAfter(context, previous);
    const isLast = index === elements.length;
    const indent = indentationAt(text, previous.getStart(context.sourceFile));
    const trailing = isLast && !elements.hasTrailingComma ? '' : ',';
    if (comma === undefined) {
      edits.push({ start: previous.getEnd(), end: previous.getEnd(), text: ',' });
    }
    const at = nextLineStart(text, comma ?? previous.getEnd());
    edits.push({ start: at, end: at, text: `${indent}${property}${trailing}${style.eol}` });
  } else {
    const next = elements[0];
    if (next === undefined) return unsupported('the returned literal is empty');
    const at = lineStart(text, leadingCommentStart(context, next));
    const indent = indentationAt(text, next.getStart(context.sourceFile));
    edits.push({ start: at, end: at, text: `${indent}${property},${style.eol}` });
  }

  return {
    ok: true,
    edits,
    instruction: `In ${mapper.analysis.name}, add the missing ${field} property to the returned record, reading ${value}; leave every other line unchanged.`,
  };
}

/**
 * Where an added property goes, as an index into the literal's elements: after the closest field
 * that precedes it in the contract order, else before the first property of a field that follows
 * it; without an order, before a trailing parameter-fed property (`synced_at: syncedAt`) or at
 * the end. Never before a spread, which would override it.
 */
function insertionIndex(context: TemplateContext): number {
  const { mapper, input } = context;
  const elements = mapper.elements;
  const order = input.contractOrder ?? [];
  const position = order.indexOf(input.fields.field);
  const writing = (field: string | undefined): number[] =>
    elements.flatMap((element, i) =>
      'property' in element && element.property.field === field ? [i] : [],
    );

  let index: number | undefined;
  if (position >= 0) {
    for (let p = position - 1; p >= 0 && index === undefined; p -= 1) {
      const at = writing(order[p]).at(-1);
      if (at !== undefined) index = at + 1;
    }
    if (index === undefined) {
      // Nothing precedes it: before the earliest property of a field that follows it.
      const following = order.slice(position + 1).flatMap((field) => writing(field));
      if (following.length > 0) index = Math.min(...following);
    }
  }
  if (index === undefined) {
    const last = elements.at(-1);
    index =
      last !== undefined && 'property' in last && last.property.kind === 'param'
        ? elements.length - 1
        : elements.length;
  }
  const lastSpread = elements.findLastIndex((element) => 'spread' in element);
  return Math.max(index, lastSpread + 1);
}

/** Added lines need one element per line, each alone at the start of its line. */
function checkLayout(context: TemplateContext): Failure | undefined {
  const { mapper, sourceFile, text } = context;
  const literal = mapper.literal;
  let previousLine = line(sourceFile, literal.getStart(sourceFile));
  for (const element of literal.properties) {
    const start = element.getStart(sourceFile);
    const startLine = line(sourceFile, start);
    if (startLine <= previousLine || text.slice(lineStart(text, start), start).trim() !== '') {
      return unsupported(
        `the returned literal of ${mapper.analysis.name} does not put one property per line (line ${startLine})`,
      );
    }
    previousLine = line(sourceFile, element.getEnd());
  }
  if (line(sourceFile, literal.getEnd() - 1) <= previousLine) {
    return unsupported(
      `the returned literal of ${mapper.analysis.name} closes on its last property's line`,
    );
  }
  for (const element of literal.properties) {
    const comma = commaAfter(context, element);
    const rest = text.slice(comma ?? element.getEnd(), nextLineStart(text, element.getEnd()));
    if (!/^\s*(\/\/.*|\/\*.*\*\/\s*)?$/.test(rest)) {
      return unsupported(`line ${line(sourceFile, element.getEnd())} holds more than one property`);
    }
  }
  return undefined;
}

/** Offset just past the comma that follows an element, if one does. */
function commaAfter(context: TemplateContext, element: ts.Node): number | undefined {
  const scanner = ts.createScanner(
    ts.ScriptTarget.Latest,
    true,
    context.sourceFile.languageVariant,
    context.text,
    undefined,
    element.getEnd(),
  );
  return scanner.scan() === ts.SyntaxKind.CommaToken ? scanner.getTokenEnd() : undefined;
}

/**
 * Where a node's own comments start: the comments right above it, with no blank line between,
 * and not trailing the previous token's line.
 */
function leadingCommentStart(context: TemplateContext, node: ts.Node): number {
  const { text, sourceFile } = context;
  const fullStartLine = line(sourceFile, node.pos);
  const comments = ts.getLeadingCommentRanges(text, node.pos) ?? [];
  let start = node.getStart(sourceFile);
  for (const comment of comments.reverse()) {
    const lineBreaks = text.slice(comment.end, start).split('\n').length - 1;
    if (lineBreaks > 1) break;
    if (node.pos > 0 && line(sourceFile, comment.pos) <= fullStartLine) break;
    start = comment.pos;
  }
  return start;
}

/**
 * `renamed-field` / `moved-field`: every read of the old path in the property's value becomes a
 * read of the new path that falls back to the old one, nothing else changes. When the new path's
 * type fits where the old value was used, that is `item.<new> ?? item.<old>` (optional chaining
 * where the type says a link may be missing). An upstream key the item type does not declare is
 * `unknown`, so it is narrowed at run time by a local helper chosen by the type the old value had
 * to have (the record field's type): `pickString(item.name, item.title)`, and for a nested path
 * `pickNumber(isRecord(item.pricing) ? item.pricing.amount : undefined, item.price)`.
 */
function rereadField(context: TemplateContext, how: 'renamed' | 'moved'): Planned {
  const { input, style } = context;
  const { field, sourcePath } = input.fields;
  if (sourcePath === undefined) {
    return fail(
      'invalid-input',
      `a ${how} field needs sourcePath, where the value is upstream now`,
    );
  }
  const newSegments = parsePath(sourcePath);
  if (newSegments === undefined) return invalidPath(sourcePath);
  const found = findProperty(context, field);
  if (!found.ok) return found;
  const { node, property } = found;

  if (property.reads.includes(sourcePath)) {
    return fail('no-change', `${field} already reads ${sourcePath}`);
  }
  const oldPath = input.fields.oldSourcePath ?? soleRead(property);
  if (oldPath === undefined) {
    return fail(
      property.reads.length === 0 ? 'unsupported-shape' : 'invalid-input',
      property.reads.length === 0
        ? `${field} is not read from the item (${property.expression})`
        : `${field} reads ${property.reads.join(', ')}; say which one moved (oldSourcePath)`,
    );
  }
  const oldSegments = parsePath(oldPath);
  if (oldSegments === undefined) return invalidPath(oldPath);
  if (oldPath === sourcePath) {
    return fail('invalid-input', `the new and the old source path are both ${sourcePath}`);
  }

  const reads = accessesOf(node.initializer, oldSegments, context.item);
  if (reads.length === 0) {
    return unsupported(
      `${field} does not read ${context.item}.${oldPath} directly (${property.expression})`,
    );
  }
  const source = readSource(context, newSegments);
  if (!source.ok) return source;

  const helpers = new Set<HelperName>();
  const narrowings: Narrowing[] = [];
  const edits: TextEdit[] = [];
  for (const read of reads) {
    const old = read.getText(context.sourceFile);
    const slot = context.types.slotOf(read);
    let replacement: string;
    if (context.types.fits(source.path, slot, true)) {
      const either = `${source.guarded ? `(${source.text})` : source.text} ?? ${old}`;
      replacement = needsParentheses(read) ? `(${either})` : either;
    } else {
      const narrowing = context.types.narrowing(slot);
      if (narrowing === undefined) {
        return unsupported(
          `${source.text} is ${source.path.text}, and no helper narrows it to the ${typeName(slot)} ${field} must be`,
        );
      }
      replacement = narrowed(narrowing, source.text, old, style);
      helpers.add(narrowing.helper);
      narrowings.push(narrowing);
    }
    if (source.guarded) helpers.add('isRecord');
    edits.push({ start: read.getStart(context.sourceFile), end: read.getEnd(), text: replacement });
  }
  const declared = helperEdit(context, [...helpers]);
  if (!declared.ok) return declared;

  const where = how === 'renamed' ? 'its new upstream name' : 'its new upstream location';
  const [narrowing] = narrowings;
  const named = [...helpers].map((helper) => `${helper}()`).join(' and ');
  const instruction =
    narrowing === undefined
      ? `In ${context.mapper.analysis.name}, make ${field} read ${source.text} (${where}) and fall back to ${context.item}.${oldPath}; change nothing else.`
      : `In ${context.mapper.analysis.name}, make ${field} read ${context.item}.${sourcePath} (${where}) when it holds ${narrowingNoun(narrowing)} and fall back to ${context.item}.${oldPath}, with ${named}, local ${helpers.size === 1 ? 'helper' : 'helpers'} added after the imports; change nothing else.`;
  return { ok: true, edits: [...declared.edits, ...edits], instruction };
}

type SourceRead =
  | {
      readonly ok: true;
      readonly path: Extract<PathType, { ok: true }>;
      /** The read as code: an access chain, or `isRecord(…) ? <chain> : undefined`. */
      readonly text: string;
      /** `text` is guarded by `isRecord`, a conditional expression. */
      readonly guarded: boolean;
    }
  | Failure;

/**
 * The code reading `item.<segments>` so it type-checks: `?.` after a link the type says may be
 * missing, and an `isRecord(<prefix>)` guard before reading into a value of type `unknown`.
 * Without types it is the plain chain, optional after the first link.
 */
function readSource(context: TemplateContext, segments: readonly string[]): SourceRead {
  const path = context.types.readPath(context.mapper.itemParam, segments);
  if (!path.ok) {
    return unsupported(
      `${context.item}.${segments.join('.')} cannot be read: its type ${path.owner} has no ${path.segment} and allows no other fields`,
    );
  }
  let chain = context.item;
  const guards: string[] = [];
  segments.forEach((segment, index) => {
    const link = path.links[index];
    if (link === 'guarded') guards.push(`isRecord(${chain})`);
    const optional = link === 'optional' || (link === 'any' && index > 0);
    chain += renderAccess(segment, optional, context.style);
  });
  if (guards.length === 0) return { ok: true, path, text: chain, guarded: false };
  return { ok: true, path, text: `${guards.join(' && ')} ? ${chain} : undefined`, guarded: true };
}

/** `pickString(<value>, <fallback>)`, or `pickOneOf(<value>, ['a', 'b'], <fallback>)`. */
function narrowed(narrowing: Narrowing, value: string, fallback: string, style: FileStyle): string {
  if (narrowing.helper !== 'pickOneOf') return `${narrowing.helper}(${value}, ${fallback})`;
  const allowed = narrowing.values.map((v) => (typeof v === 'string' ? quoteString(v, style) : v));
  return `pickOneOf(${value}, [${allowed.join(', ')}], ${fallback})`;
}

function narrowingNoun(narrowing: Narrowing): string {
  switch (narrowing.helper) {
    case 'pickString':
      return 'a string';
    case 'pickNumber':
      return 'a finite number';
    case 'pickBoolean':
      return 'a boolean';
    case 'pickOneOf':
      return `one of ${narrowing.values.map((v) => JSON.stringify(v)).join(', ')}`;
  }
}

function typeName(slot: Slot): string {
  return slot.known ? slot.text : 'value';
}

/**
 * `type-drift`: `field: toFiniteNumber(<value>, 'field')`, plus the helper after the imports. The
 * helpers take `unknown` and return the expected type, which must fit the record field's type.
 */
function typeDrift(context: TemplateContext): Planned {
  const { input, style } = context;
  const { field, expectedType, sourcePath } = input.fields;
  if (expectedType === undefined || !Object.hasOwn(COERCION_HELPERS, expectedType)) {
    return fail(
      'invalid-input',
      `type-drift needs expectedType (number, integer, string, boolean)`,
    );
  }
  if (field.includes('.')) {
    return unsupported(`coercing inside a nested record value (${field}) has no template`);
  }
  const found = findProperty(context, field);
  if (!found.ok) return found;
  const helper = COERCION_HELPERS[expectedType];
  const initializer = found.node.initializer;
  const current = unwrap(initializer);
  if (
    ts.isCallExpression(current) &&
    ts.isIdentifier(current.expression) &&
    current.expression.text === helper
  ) {
    return fail('no-change', `${field} is already coerced with ${helper}`);
  }
  let value = initializer.getText(context.sourceFile);
  const helpers: HelperName[] = [helper];
  if (sourcePath !== undefined) {
    const segments = parsePath(sourcePath);
    if (segments === undefined) return invalidPath(sourcePath);
    const source = readSource(context, segments);
    if (!source.ok) return source;
    value = source.text;
    if (source.guarded) helpers.push('isRecord');
  }
  const slot = context.types.slotOf(initializer, { ownType: false });
  if (!context.types.accepts(slot, expectedType)) {
    return unsupported(`${field} must be ${typeName(slot)}, which a ${expectedType} is not`);
  }

  const declared = helperEdit(context, helpers);
  if (!declared.ok) return declared;
  return {
    ok: true,
    edits: [
      ...declared.edits,
      {
        start: initializer.getStart(context.sourceFile),
        end: initializer.getEnd(),
        text: `${helper}(${value}, ${quoteString(field, style)})`,
      },
    ],
    instruction: `In ${context.mapper.analysis.name}, coerce ${field} with ${helper}(), a local helper added after the imports that throws on a value that is not a valid ${expectedType} instead of storing it; change nothing else.`,
  };
}

/** `enum-drift`: `field: mapEnumValue(<value>, { new: 'known' })`, only with a declared mapping. */
function enumDrift(context: TemplateContext): Planned {
  const { input, style } = context;
  const mapping = Object.entries(input.fields.enumMapping ?? {});
  const malformed = mapping.find(
    ([from, to]) => from.length === 0 || typeof to !== 'string' || to.length === 0,
  );
  if (malformed !== undefined) {
    return fail(
      'invalid-input',
      `enum mapping entry ${JSON.stringify(malformed)} is not value → value`,
    );
  }
  const [top, ...inner] = parsePath(input.fields.field) ?? [];
  if (top === undefined) return invalidPath(input.fields.field);
  const found = findProperty(context, top);
  if (!found.ok) return found;

  const initializer = found.node.initializer;
  const pairs = mapping.map(([from, to]) => `${renderKey(from, style)}: ${quoteString(to, style)}`);
  const args = [initializer.getText(context.sourceFile), `{ ${pairs.join(', ')} }`];
  if (inner.length > 0) args.push(`[${inner.map((key) => quoteString(key, style)).join(', ')}]`);

  const declared = helperEdit(context, ['mapEnumValue']);
  if (!declared.ok) return declared;
  const described = mapping.map(([from, to]) => `${from} → ${to}`).join(', ');
  return {
    ok: true,
    edits: [
      ...declared.edits,
      {
        start: initializer.getStart(context.sourceFile),
        end: initializer.getEnd(),
        text: `mapEnumValue(${args.join(', ')})`,
      },
    ],
    instruction: `In ${context.mapper.analysis.name}, map the declared new upstream values of ${input.fields.field} (${described}) with mapEnumValue(), a local helper added after the imports; change nothing else.`,
  };
}

type FoundProperty =
  | { readonly ok: true; readonly node: ts.PropertyAssignment; readonly property: MapperProperty }
  | Failure;

/** The one `field: value` property writing `field`. */
function findProperty(context: TemplateContext, field: string): FoundProperty {
  const name = context.mapper.analysis.name;
  const matches = context.mapper.elements.filter(
    (element) => 'property' in element && element.property.field === field,
  );
  const [only] = matches;
  if (only === undefined || !('property' in only)) {
    return fail('field-not-found', `${name} does not write ${field}`);
  }
  if (matches.length > 1) return unsupported(`${name} writes ${field} more than once`);
  if (!ts.isPropertyAssignment(only.node)) {
    return unsupported(
      `${name} writes ${field} as ${only.property.expression}, not as field: value`,
    );
  }
  return { ok: true, node: only.node, property: only.property };
}

function soleRead(property: MapperProperty): string | undefined {
  return property.reads.length === 1 ? property.reads[0] : undefined;
}

function invalidPath(path: string | undefined): Failure {
  return fail('invalid-input', `not a source path: ${JSON.stringify(path)}`);
}

/**
 * The access chains in `root` that read exactly `segments` from the item parameter (not from a
 * nested function's own `item`).
 */
function accessesOf(root: ts.Node, segments: readonly string[], item: string): ts.Expression[] {
  const found: ts.Expression[] = [];
  const visit = (node: ts.Node, shadowed: boolean): void => {
    if (ts.isTypeNode(node)) return;
    if (!shadowed && ts.isExpression(node) && sameSegments(itemPath(node, item), segments)) {
      found.push(node);
      return;
    }
    if (ts.isFunctionLike(node)) {
      const hides = node.parameters.some((p) => bindsName(p.name, item));
      ts.forEachChild(node, (child) => visit(child, shadowed || hides));
      return;
    }
    ts.forEachChild(node, (child) => visit(child, shadowed));
  };
  visit(root, false);
  return found;
}

/** The path of a plain access chain on `item` (`item.a?.['b']` → ['a', 'b']), else undefined. */
function itemPath(node: ts.Expression, item: string): string[] | undefined {
  const segments: string[] = [];
  let current: ts.Expression = node;
  for (;;) {
    if (ts.isPropertyAccessExpression(current)) {
      segments.unshift(current.name.text);
      current = current.expression;
    } else if (ts.isElementAccessExpression(current)) {
      const argument = current.argumentExpression;
      if (!ts.isStringLiteralLike(argument) && !ts.isNumericLiteral(argument)) return undefined;
      segments.unshift(argument.text);
      current = current.expression;
    } else if (ts.isNonNullExpression(current) || ts.isParenthesizedExpression(current)) {
      current = current.expression;
    } else {
      return ts.isIdentifier(current) && current.text === item && segments.length > 0
        ? segments
        : undefined;
    }
  }
}

function sameSegments(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return a !== undefined && a.length === b.length && a.every((segment, i) => segment === b[i]);
}

function bindsName(name: ts.BindingName, wanted: string): boolean {
  if (ts.isIdentifier(name)) return name.text === wanted;
  return name.elements.some(
    (element) => !ts.isOmittedExpression(element) && bindsName(element.name, wanted),
  );
}

/** Whether `a ?? b` put where `node` is needs parentheses to keep its meaning. */
function needsParentheses(node: ts.Expression): boolean {
  const parent = node.parent;
  if (ts.isPropertyAssignment(parent) || ts.isVariableDeclaration(parent)) {
    return parent.initializer !== node;
  }
  if (ts.isCallExpression(parent) || ts.isNewExpression(parent)) {
    return !(parent.arguments?.includes(node) ?? false);
  }
  if (ts.isConditionalExpression(parent)) return parent.condition === node;
  return !(
    ts.isArrayLiteralExpression(parent) ||
    ts.isParenthesizedExpression(parent) ||
    ts.isTemplateSpan(parent) ||
    ts.isSpreadElement(parent) ||
    ts.isReturnStatement(parent)
  );
}

type HelperEdit = { readonly ok: true; readonly edits: readonly TextEdit[] } | Failure;

/**
 * Declares helpers once per file, in the order given: after the last import, or above the mapper
 * when the file has none. A helper of that name already declared the same way is reused; any
 * other binding of the name is a conflict the template will not resolve.
 */
function helperEdit(context: TemplateContext, names: readonly HelperName[]): HelperEdit {
  const { sourceFile, text, style } = context;
  const normalized = (value: string): string => value.replace(/\s+/g, ' ').trim();
  const missing: string[] = [];
  for (const name of names) {
    const lines = helperLines(name, style);
    let declared = false;
    for (const statement of sourceFile.statements) {
      if (ts.isFunctionDeclaration(statement) && statement.name?.text === name) {
        const existing = text.slice(leadingCommentStart(context, statement), statement.getEnd());
        if (normalized(existing) !== normalized(lines.join('\n'))) {
          return unsupported(`${sourceFile.fileName} already declares a different ${name}`);
        }
        declared = true;
        break;
      }
      if (declaresTopLevel(statement, name)) {
        return unsupported(`${sourceFile.fileName} already binds the name ${name}`);
      }
    }
    if (!declared) missing.push(lines.join(style.eol));
  }
  if (missing.length === 0) return { ok: true, edits: [] };
  const block = missing.join(style.eol + style.eol);

  const imports = sourceFile.statements.filter(
    (statement) => ts.isImportDeclaration(statement) || ts.isImportEqualsDeclaration(statement),
  );
  const lastImport = imports.at(-1);
  if (lastImport !== undefined) {
    const end = nextLineStart(text, lastImport.getEnd());
    const lineEnd = text.slice(0, end).endsWith('\r\n')
      ? end - 2
      : text[end - 1] === '\n'
        ? end - 1
        : end;
    const insertion = [style.eol, style.eol, block].join('');
    return { ok: true, edits: [{ start: lineEnd, end: lineEnd, text: insertion }] };
  }
  const statement = topLevelStatement(context.mapper.declaration);
  const at = lineStart(text, leadingCommentStart(context, statement));
  return {
    ok: true,
    edits: [{ start: at, end: at, text: block + style.eol + style.eol }],
  };
}

function declaresTopLevel(statement: ts.Statement, name: string): boolean {
  if (ts.isVariableStatement(statement)) {
    return statement.declarationList.declarations.some((d) => bindsName(d.name, name));
  }
  if (ts.isImportDeclaration(statement)) {
    const clause = statement.importClause;
    if (clause?.name?.text === name) return true;
    const bindings = clause?.namedBindings;
    if (bindings === undefined) return false;
    if (ts.isNamespaceImport(bindings)) return bindings.name.text === name;
    return bindings.elements.some((element) => element.name.text === name);
  }
  if (
    ts.isClassDeclaration(statement) ||
    ts.isEnumDeclaration(statement) ||
    ts.isModuleDeclaration(statement) ||
    ts.isImportEqualsDeclaration(statement)
  ) {
    return (
      statement.name !== undefined &&
      ts.isIdentifier(statement.name) &&
      statement.name.text === name
    );
  }
  return false;
}

function topLevelStatement(node: ts.Node): ts.Node {
  let current = node;
  while (!ts.isSourceFile(current.parent)) current = current.parent;
  return current;
}

function line(sourceFile: ts.SourceFile, position: number): number {
  return sourceFile.getLineAndCharacterOfPosition(position).line;
}
