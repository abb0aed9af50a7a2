import { diffLines } from 'diff';
import ts from 'typescript';

/**
 * Text helpers for the patch templates: the file's own conventions (line ending, indentation,
 * quotes), rendering source paths, applying position edits and cutting a lazy-edit snippet.
 */

/** The lazy-edit marker the appliers understand (Morph's form). */
export const EXISTING_CODE_MARKER = '// ... existing code ...';

/** Replace `[start, end)` of the source with `text` (0-based UTF-16 offsets, as the AST gives). */
export interface TextEdit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** How the file writes code, so inserted lines look like their neighbours. */
export interface FileStyle {
  readonly eol: '\n' | '\r\n';
  /** One level of indentation (`'  '`, `'    '` or `'\t'`). */
  readonly indentUnit: string;
  readonly quote: "'" | '"';
  /** Type annotations allowed (TypeScript rather than JavaScript). */
  readonly typed: boolean;
}

/** Reads the file's line ending, indentation unit and quote style. */
export function detectStyle(sourceFile: ts.SourceFile): FileStyle {
  const text = sourceFile.text;
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  let indentUnit = '  ';
  let smallest = Number.POSITIVE_INFINITY;
  for (const match of text.matchAll(/^([ \t]+)\S/gm)) {
    const indent = match[1] ?? '';
    if (indent.startsWith('\t')) {
      indentUnit = '\t';
      break;
    }
    // A JSDoc continuation (` * text`) is one space, not an indentation level.
    if (indent.length >= 2 && indent.length < smallest) {
      smallest = indent.length;
      indentUnit = indent;
    }
  }
  const typed = !/\.[cm]?jsx?$/.test(sourceFile.fileName);
  return { eol, indentUnit, quote: firstQuote(sourceFile) ?? "'", typed };
}

/** The quote of the file's first string literal (an import's, usually). */
function firstQuote(sourceFile: ts.SourceFile): "'" | '"' | undefined {
  let quote: "'" | '"' | undefined;
  const visit = (node: ts.Node): void => {
    if (quote !== undefined) return;
    if (ts.isStringLiteral(node)) {
      quote = node.getText(sourceFile).startsWith('"') ? '"' : "'";
      return;
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return quote;
}

/** A string literal in the file's quote style. */
export function quoteString(value: string, style: FileStyle): string {
  const escaped = value
    .replaceAll('\\', '\\\\')
    .replaceAll(style.quote, `\\${style.quote}`)
    .replaceAll('\n', '\\n')
    .replaceAll('\r', '\\r');
  return `${style.quote}${escaped}${style.quote}`;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** An object key: bare when it is an identifier, quoted otherwise. */
export function renderKey(key: string, style: FileStyle): string {
  return IDENTIFIER.test(key) ? key : quoteString(key, style);
}

/** Splits a dotted source path (`pricing.amount`); `undefined` for an empty segment. */
export function parsePath(path: string): string[] | undefined {
  const segments = path.split('.');
  return segments.every((segment) => segment.length > 0) ? segments : undefined;
}

/**
 * An access chain on `root`: `item.a.b`, `item['a-b']`, with `optional` `item.a?.b` (the first
 * access is plain: the item itself is always there).
 */
export function renderPath(
  root: string,
  segments: readonly string[],
  optional: boolean,
  style: FileStyle,
): string {
  let text = root;
  segments.forEach((segment, index) => {
    text += renderAccess(segment, optional && index > 0, style);
  });
  return text;
}

/** One access of a chain: `.a`, `?.a`, `[0]`, `?.['a-b']`. */
export function renderAccess(segment: string, optional: boolean, style: FileStyle): string {
  const chain = optional ? '?.' : '';
  if (IDENTIFIER.test(segment)) return optional ? `?.${segment}` : `.${segment}`;
  if (/^(0|[1-9]\d*)$/.test(segment)) return `${chain}[${segment}]`;
  return `${chain}[${quoteString(segment, style)}]`;
}

/** Applies non-overlapping edits to `text`. */
export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  const sorted = [...edits].sort((a, b) => b.start - a.start || b.end - a.end);
  let result = text;
  let limit = Number.POSITIVE_INFINITY;
  for (const edit of sorted) {
    if (edit.end > limit || edit.start > edit.end) throw new Error('overlapping template edits');
    result = result.slice(0, edit.start) + edit.text + result.slice(edit.end);
    limit = edit.start;
  }
  return result;
}

/** Offset of the start of the line holding `position`. */
export function lineStart(text: string, position: number): number {
  return text.lastIndexOf('\n', position - 1) + 1;
}

/** Offset just past the end of the line holding `position` (after its line break, if any). */
export function nextLineStart(text: string, position: number): number {
  const newline = text.indexOf('\n', position);
  return newline === -1 ? text.length : newline + 1;
}

/** The whitespace that starts the line holding `position`. */
export function indentationAt(text: string, position: number): string {
  const start = lineStart(text, position);
  return /^[ \t]*/.exec(text.slice(start, position))?.[0] ?? '';
}

/** Lines added and removed between two texts. */
export function countChangedLines(
  before: string,
  after: string,
): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const change of diffLines(before, after)) {
    if (change.added) added += change.count;
    if (change.removed) removed += change.count;
  }
  return { added, removed };
}

const MAX_CONTEXT = 4;

/**
 * Cuts an update snippet in lazy-edit form from the original and the edited text: each changed
 * region with one line of context on each side (more while that context is not unique in the
 * original, up to four), markers before, between and after (except at the very start or end of
 * the file, where no unchanged code remains to stand for). Never the whole file.
 */
export function buildSnippet(original: string, edited: string, eol: string): string {
  const originalLines = splitLines(original);
  const editedLines = splitLines(edited);

  // Changed regions as [start, end) in edited lines, with where they sit in the original.
  const hunks: { eStart: number; eEnd: number; oStart: number; oEnd: number }[] = [];
  let o = 0;
  let e = 0;
  for (const change of diffLines(original, edited)) {
    const last = hunks.at(-1);
    const touching = last !== undefined && last.eEnd === e && last.oEnd === o;
    if (change.added) {
      if (touching) last.eEnd += change.count;
      else hunks.push({ eStart: e, eEnd: e + change.count, oStart: o, oEnd: o });
      e += change.count;
    } else if (change.removed) {
      if (touching) last.oEnd += change.count;
      else hunks.push({ eStart: e, eEnd: e, oStart: o, oEnd: o + change.count });
      o += change.count;
    } else {
      o += change.count;
      e += change.count;
    }
  }

  const windows: { start: number; end: number }[] = [];
  for (const hunk of hunks) {
    const before = contextSize(originalLines, hunk.oStart, -1);
    const after = contextSize(originalLines, hunk.oEnd, 1);
    const window = { start: hunk.eStart - before, end: hunk.eEnd + after };
    const last = windows.at(-1);
    if (last !== undefined && window.start <= last.end) last.end = Math.max(last.end, window.end);
    else windows.push(window);
  }

  // A marker stands for unchanged code, so none goes before a region that starts the file or
  // after one that ends it.
  const lines: string[] = [];
  for (const window of windows) {
    if (window.start > 0) lines.push(EXISTING_CODE_MARKER);
    lines.push(...editedLines.slice(window.start, window.end));
  }
  if ((windows.at(-1)?.end ?? 0) < editedLines.length) lines.push(EXISTING_CODE_MARKER);
  return lines.join(eol) + eol;
}

function splitLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  // A final line break ends the last line; it does not start an empty one.
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/**
 * How many unchanged lines to show before (`direction` -1, ending at `edge`) or after (`+1`,
 * starting at `edge`) a change: the fewest that are not blank and occur once in the original.
 */
function contextSize(lines: readonly string[], edge: number, direction: -1 | 1): number {
  const available = direction < 0 ? edge : lines.length - edge;
  const limit = Math.min(MAX_CONTEXT, available);
  for (let size = 1; size <= limit; size += 1) {
    const block = direction < 0 ? lines.slice(edge - size, edge) : lines.slice(edge, edge + size);
    if (block.every((line) => line.trim() === '')) continue;
    if (occurrences(lines, block) === 1) return size;
  }
  return limit;
}

function occurrences(lines: readonly string[], block: readonly string[]): number {
  let count = 0;
  for (let i = 0; i + block.length <= lines.length; i += 1) {
    if (block.every((line, j) => lines[i + j] === line)) count += 1;
  }
  return count;
}
