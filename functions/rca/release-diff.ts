import { diffLines } from 'diff';
import type { MapperAnalysis, MapperProperty } from './mapper-analysis.js';

/** One release's mapper: its source text and the analysis of that text. */
export interface MapperVersion {
  readonly source: string;
  readonly analysis: MapperAnalysis;
}

/** A 1-based, inclusive line range. */
export type LineRange = readonly [start: number, end: number];

/** A record field both releases write, read from different source paths. */
export interface ChangedReads {
  readonly field: string;
  readonly before: readonly string[];
  readonly after: readonly string[];
}

/** A record field both releases write from the same paths, but with a different expression. */
export interface ChangedExpression {
  readonly field: string;
  readonly before: string;
  readonly after: string;
}

/** What changed in the mapper between a parent release and the active one. */
export interface MapperChanges {
  /** Fields the parent wrote and the active release no longer writes, in the parent's order. */
  readonly removedWrites: readonly string[];
  /** Fields the active release writes and the parent did not, in the active release's order. */
  readonly addedWrites: readonly string[];
  readonly changedReads: readonly ChangedReads[];
  /** E.g. `Number(item.price)` became `item.price`: same reads, different value. */
  readonly changedExpressions: readonly ChangedExpression[];
  /** `...item` appeared or disappeared (`before`/`after` say whether the whole item is copied). */
  readonly copiesAll: { readonly before: boolean; readonly after: boolean };
  /** Line ranges that differ: removed or replaced lines of the parent, added or new ones of the active. */
  readonly changedLines: {
    readonly parent: readonly LineRange[];
    readonly active: readonly LineRange[];
  };
}

/**
 * Compares the mapper of two releases, by analysis (fields written and read) and by a line diff
 * of the whole file. Line endings are not a change: a CRLF checkout diffs like its LF twin.
 *
 * @example
 * ```ts
 * compareMappers({ source: r1, analysis: a1 }, { source: r2, analysis: a2 }).removedWrites;
 * // ['return_policy']
 * ```
 */
export function compareMappers(parent: MapperVersion, active: MapperVersion): MapperChanges {
  const before = parent.analysis;
  const after = active.analysis;
  const beforeWrites = new Set(before.writes);
  const afterWrites = new Set(after.writes);

  const beforeByField = effectiveProperties(before.properties);
  const afterByField = effectiveProperties(after.properties);
  const changedReads: ChangedReads[] = [];
  const changedExpressions: ChangedExpression[] = [];
  for (const field of after.writes) {
    const old = beforeByField.get(field);
    const now = afterByField.get(field);
    if (old === undefined || now === undefined) continue;
    if (!sameSet(old.reads, now.reads)) {
      changedReads.push({ field, before: old.reads, after: now.reads });
    } else if (normalizeSpace(old.expression) !== normalizeSpace(now.expression)) {
      changedExpressions.push({ field, before: old.expression, after: now.expression });
    }
  }

  return {
    removedWrites: before.writes.filter((field) => !afterWrites.has(field)),
    addedWrites: after.writes.filter((field) => !beforeWrites.has(field)),
    changedReads,
    changedExpressions,
    copiesAll: { before: before.copiesAll, after: after.copiesAll },
    changedLines: changedLineRanges(parent.source, active.source),
  };
}

/**
 * The line ranges a line diff finds between two texts: for each removed run its range in
 * `parentText`, for each added run its range in `activeText`.
 */
export function changedLineRanges(
  parentText: string,
  activeText: string,
): { parent: LineRange[]; active: LineRange[] } {
  const parent: LineRange[] = [];
  const active: LineRange[] = [];
  let parentLine = 1;
  let activeLine = 1;
  for (const change of diffLines(parentText, activeText, { stripTrailingCr: true })) {
    const count = change.count;
    if (change.removed) {
      parent.push([parentLine, parentLine + count - 1]);
      parentLine += count;
    } else if (change.added) {
      active.push([activeLine, activeLine + count - 1]);
      activeLine += count;
    } else {
      parentLine += count;
      activeLine += count;
    }
  }
  return { parent, active };
}

/** The property that wins for each field: a later duplicate overrides an earlier one. */
function effectiveProperties(properties: readonly MapperProperty[]): Map<string, MapperProperty> {
  const byField = new Map<string, MapperProperty>();
  for (const property of properties) byField.set(property.field, property);
  return byField;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((value) => right.has(value));
}

function normalizeSpace(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
