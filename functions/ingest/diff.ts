import type { FieldChange } from '../../events/catalog.js';

/**
 * Field-level diff of catalog items against their previous snapshot, and its summary across a
 * push. Pure: no I/O, no clock.
 *
 * Paths are dotted (`return_policy.window_days`): nested plain objects are walked, arrays are
 * leaves compared as a whole. The kinds:
 *
 * - `added`: the path is absent before and present now;
 * - `removed`: present before, absent now (a missing key; JSON has no `undefined`);
 * - `changed`: a different value of the same JSON type, **or** a value becoming null or null
 *   becoming a value. Nullable feed fields (Shopify's `compare_at_price`, a cleared `category`)
 *   toggle with every sale; calling that type drift would bury real drift. The sample carries
 *   `new: null`, so "nulled" stays visible;
 * - `type_changed`: both non-null and of different JSON types (number → string, object → string,
 *   array → object). When a whole object becomes a scalar (or back), the change is reported once
 *   at the object's path, with the object as the value, not once per leaf;
 * - `moved`: a removed path whose value (deep-equal, non-null) reappears under a path added in
 *   the same item, reported once with `moved_to` instead of a removed plus an added. When several
 *   added paths hold the value, one with the same last segment wins (`return_policy.type` →
 *   `returns.type`), then the first in document order.
 */

/** The JSON type of a value, as the diff compares it. */
export type JsonKind = 'null' | 'array' | 'object' | 'string' | 'number' | 'boolean' | 'other';

/** One field's difference within one item. */
export type FieldDiff =
  | { readonly field: string; readonly kind: 'added'; readonly new: unknown }
  | { readonly field: string; readonly kind: 'removed'; readonly old: unknown }
  | {
      readonly field: string;
      readonly kind: 'changed' | 'type_changed';
      readonly old: unknown;
      readonly new: unknown;
    }
  | {
      readonly field: string;
      readonly kind: 'moved';
      readonly old: unknown;
      /** The path the value reappeared under. */
      readonly moved_to: string;
    };

/** Fields every diff ignores: the version stamp changes on every push by design. */
export const ALWAYS_IGNORED_FIELDS: readonly string[] = Object.freeze(['updated_at']);

/** Options of {@link diffItem}. */
export interface DiffOptions {
  /**
   * Bookkeeping paths to ignore on top of {@link ALWAYS_IGNORED_FIELDS}, e.g. `synced_at` or
   * `meta.etag`. Ignoring a path ignores everything under it.
   */
  readonly ignore?: Iterable<string>;
}

/** The JSON type of a value. */
export function kindOf(value: unknown): JsonKind {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  switch (typeof value) {
    case 'object':
      return 'object';
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    default:
      return 'other';
  }
}

type PlainObject = Record<string, unknown>;

const isPlainObject = (value: unknown): value is PlainObject => kindOf(value) === 'object';

// A key holding `undefined` is absent: it would not survive JSON or DynamoDB.
const has = (object: PlainObject, key: string): boolean =>
  Object.hasOwn(object, key) && object[key] !== undefined;

/**
 * Structural equality of JSON values; object key order does not matter (a snapshot read back
 * from DynamoDB has its own order).
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const kind = kindOf(a);
  if (kind !== kindOf(b)) return false;
  if (kind === 'array') {
    const left = a as unknown[];
    const right = b as unknown[];
    return (
      left.length === right.length && left.every((value, index) => deepEqual(value, right[index]))
    );
  }
  if (kind === 'object') {
    const left = a as PlainObject;
    const right = b as PlainObject;
    const keys = Object.keys(left).filter((key) => has(left, key));
    if (keys.length !== Object.keys(right).filter((key) => has(right, key)).length) return false;
    return keys.every((key) => has(right, key) && deepEqual(left[key], right[key]));
  }
  // NaN cannot come from JSON, but a hand-built item may hold one; it equals itself here.
  return Number.isNaN(a) && Number.isNaN(b);
}

const join = (path: string, key: string): string => (path === '' ? key : `${path}.${key}`);

/**
 * The leaves of a value as `[path, value]` pairs: nested plain objects walked, arrays and empty
 * objects kept whole.
 *
 * @example
 * ```ts
 * flatten({ sku: 'A', return_policy: { type: 'standard', window_days: 30 } });
 * // [['sku', 'A'], ['return_policy.type', 'standard'], ['return_policy.window_days', 30]]
 * ```
 */
export function flatten(value: unknown, path = ''): [string, unknown][] {
  const out: [string, unknown][] = [];
  collectLeaves(value, path, () => false, out);
  return out;
}

function collectLeaves(
  value: unknown,
  path: string,
  ignored: (path: string) => boolean,
  out: [string, unknown][],
): void {
  if (path !== '' && ignored(path)) return;
  if (isPlainObject(value) && Object.keys(value).some((key) => has(value, key))) {
    for (const key of Object.keys(value)) {
      if (has(value, key)) collectLeaves(value[key], join(path, key), ignored, out);
    }
    return;
  }
  out.push([path, value]);
}

/**
 * Diffs an item against its previous snapshot, field by field (see the module notes for the
 * kinds). The order is deterministic: previous fields in their order, then new ones.
 *
 * @example
 * ```ts
 * diffItem(
 *   { sku: 'A', price: 10, return_policy: { type: 'standard', window_days: 30 } },
 *   { sku: 'A', price: '10', return_policy: { type: 'final_sale', window_days: 30 } },
 * );
 * // [{ field: 'price', kind: 'type_changed', old: 10, new: '10' },
 * //  { field: 'return_policy.type', kind: 'changed', old: 'standard', new: 'final_sale' }]
 * ```
 */
export function diffItem(
  previous: Readonly<PlainObject>,
  current: Readonly<PlainObject>,
  options: DiffOptions = {},
): FieldDiff[] {
  const ignoredPaths = new Set([...ALWAYS_IGNORED_FIELDS, ...(options.ignore ?? [])]);
  const ignored = (path: string): boolean => {
    if (ignoredPaths.has(path)) return true;
    // Only nested paths can sit under an ignored parent; avoid the scan for top-level ones.
    for (let dot = path.indexOf('.'); dot >= 0; dot = path.indexOf('.', dot + 1)) {
      if (ignoredPaths.has(path.slice(0, dot))) return true;
    }
    return false;
  };

  const changes: FieldDiff[] = [];
  const removed: [string, unknown][] = [];
  const added: [string, unknown][] = [];
  walkObjects(previous, current, '', ignored, changes, removed, added);
  if (removed.length === 0 && added.length === 0) return changes;

  const moves = pairMoves(removed, added);
  for (const [field, old] of removed) {
    const movedTo = moves.get(field);
    if (movedTo === undefined) changes.push({ field, kind: 'removed', old });
    else changes.push({ field, kind: 'moved', old, moved_to: movedTo });
  }
  const movedTargets = new Set(moves.values());
  for (const [field, value] of added) {
    if (!movedTargets.has(field)) changes.push({ field, kind: 'added', new: value });
  }
  return changes;
}

function walkObjects(
  before: PlainObject,
  after: PlainObject,
  path: string,
  ignored: (path: string) => boolean,
  changes: FieldDiff[],
  removed: [string, unknown][],
  added: [string, unknown][],
): void {
  for (const key of Object.keys(before)) {
    if (!has(before, key)) continue;
    const field = join(path, key);
    if (ignored(field)) continue;
    if (has(after, key)) compare(before[key], after[key], field, ignored, changes, removed, added);
    else collectLeaves(before[key], field, ignored, removed);
  }
  for (const key of Object.keys(after)) {
    if (!has(after, key) || has(before, key)) continue;
    const field = join(path, key);
    if (!ignored(field)) collectLeaves(after[key], field, ignored, added);
  }
}

function compare(
  old: unknown,
  value: unknown,
  field: string,
  ignored: (path: string) => boolean,
  changes: FieldDiff[],
  removed: [string, unknown][],
  added: [string, unknown][],
): void {
  if (isPlainObject(old) && isPlainObject(value)) {
    walkObjects(old, value, field, ignored, changes, removed, added);
    return;
  }
  if (deepEqual(old, value)) return;
  const before = kindOf(old);
  const after = kindOf(value);
  const sameType = before === after || before === 'null' || after === 'null';
  changes.push({ field, kind: sameType ? 'changed' : 'type_changed', old, new: value });
}

/** Pairs removed paths with added paths holding an equal value: removed path → added path. */
function pairMoves(
  removed: readonly [string, unknown][],
  added: readonly [string, unknown][],
): Map<string, string> {
  const moves = new Map<string, string>();
  if (removed.length === 0 || added.length === 0) return moves;
  const taken = new Set<number>();
  for (const [field, old] of removed) {
    if (old === null) continue;
    const leaf = lastSegment(field);
    let match = -1;
    for (const [index, [target, value]] of added.entries()) {
      if (taken.has(index) || !deepEqual(old, value)) continue;
      if (lastSegment(target) === leaf) {
        match = index;
        break;
      }
      if (match < 0) match = index;
    }
    const target = added[match];
    if (target) {
      taken.add(match);
      moves.set(field, target[0]);
    }
  }
  return moves;
}

const lastSegment = (path: string): string => path.slice(path.lastIndexOf('.') + 1);

/** The diff of one item of a push, as {@link summarizeDeltas} aggregates it. */
export interface ItemDelta {
  readonly sku: string;
  readonly changes: readonly FieldDiff[];
}

/**
 * The pseudo-field of SKUs seen for the first time (no snapshot): one `added` entry for the
 * item as a whole, never an `added` per field, so a new product does not read as schema drift.
 * Parentheses keep it apart from any dotted feed path.
 */
export const NEW_ITEM_FIELD = '(item)';

/** Options of {@link summarizeDeltas}. */
export interface SummarizeOptions {
  /** SKUs that had no snapshot; summarised as one `{ field: '(item)', kind: 'added' }`. */
  readonly newSkus?: readonly string[];
  /** Most SKUs and samples kept per entry (default 5). */
  readonly sampleLimit?: number;
}

interface Group {
  readonly change: FieldChange;
  readonly skus: Set<string>;
}

/**
 * Aggregates per-item diffs into one {@link FieldChange} per (field, kind, moved_to): how many
 * SKUs, the first few SKUs in push order, and the first few samples with their old and new
 * values (`old` only for removed; `new` only for added; for moved, the value under both).
 *
 * Entries are ordered by SKU count (most first), then field, kind and `moved_to`, so the same
 * push always summarises the same way.
 *
 * @example
 * ```ts
 * summarizeDeltas([{ sku: 'A', changes: [{ field: 'price', kind: 'changed', old: 1, new: 2 }] }]);
 * // [{ field: 'price', kind: 'changed', sku_count: 1, sample_skus: ['A'],
 * //    samples: [{ sku: 'A', old: 1, new: 2 }] }]
 * ```
 */
export function summarizeDeltas(
  perItem: Iterable<ItemDelta>,
  options: SummarizeOptions = {},
): FieldChange[] {
  const limit = options.sampleLimit ?? 5;
  const groups = new Map<string, Group>();

  const note = (diff: FieldDiff | { field: string; kind: 'added' }, sku: string): void => {
    const movedTo = diff.kind === 'moved' ? diff.moved_to : undefined;
    const id = `${diff.kind}\u0000${diff.field}\u0000${movedTo ?? ''}`;
    let group = groups.get(id);
    if (!group) {
      group = {
        change: {
          field: diff.field,
          kind: diff.kind,
          sku_count: 0,
          sample_skus: [],
          samples: [],
          ...(movedTo === undefined ? {} : { moved_to: movedTo }),
        },
        skus: new Set(),
      };
      groups.set(id, group);
    }
    if (group.skus.has(sku)) return;
    group.skus.add(sku);
    group.change.sku_count += 1;
    if (group.change.sample_skus.length < limit) group.change.sample_skus.push(sku);
    if (group.change.samples.length < limit) group.change.samples.push(sampleOf(diff, sku));
  };

  for (const sku of options.newSkus ?? []) note({ field: NEW_ITEM_FIELD, kind: 'added' }, sku);
  for (const { sku, changes } of perItem) for (const diff of changes) note(diff, sku);

  return [...groups.values()]
    .map((group) => group.change)
    .sort(
      (a, b) =>
        b.sku_count - a.sku_count ||
        compareText(a.field, b.field) ||
        compareText(a.kind, b.kind) ||
        compareText(a.moved_to ?? '', b.moved_to ?? ''),
    );
}

function sampleOf(
  diff: FieldDiff | { field: string; kind: 'added' },
  sku: string,
): FieldChange['samples'][number] {
  switch (diff.kind) {
    case 'added':
      // A new SKU's sample names it only: the whole item is in the push already.
      return 'new' in diff ? { sku, new: diff.new } : { sku };
    case 'removed':
      return { sku, old: diff.old };
    case 'moved':
      return { sku, old: diff.old, new: diff.old };
    default:
      return { sku, old: diff.old, new: diff.new };
  }
}

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
