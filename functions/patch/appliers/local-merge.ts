import { diffArrays } from 'diff';
import {
  indentOf,
  isBlank,
  isWeakLine,
  joinLines,
  type LinePiece,
  type SourceLines,
  splitSnippet,
  splitSource,
} from './local-lines.js';
import { isLazyMarker, looksLikeLazyMarker } from './local-markers.js';

/**
 * The local lazy-edit merger: a pure, deterministic reading of Morph's update-snippet form that
 * either reproduces what the snippet says or refuses with a reason. It never guesses.
 *
 * ## How a snippet is read
 *
 * 1. **Blocks.** The snippet is cut on marker lines (`isLazyMarker`). Blank lines at the edges of a
 *    block (next to a marker, or at the start or end of the snippet) are layout and dropped; a
 *    block left empty is dropped too. A missing leading or trailing marker is implicit: the head
 *    and tail of the file survive.
 * 2. **Anchors.** An anchor is a block line that is strong (not `isWeakLine`) and whose trimmed text
 *    occurs exactly once in the original. Every block needs one (`no-anchor`, or
 *    `ambiguous-anchor` when its candidates all repeat). Its first and last anchors span the part
 *    of the original the block covers; every other anchor must fall inside that span and the spans
 *    must come in file order without overlapping (`out-of-order`).
 * 3. **Indentation.** All anchors of the snippet agree on one shift between snippet and original (a
 *    constant prefix added or removed); it is applied to every block line (`uneven-indentation`
 *    otherwise, also when a line lacks the prefix to remove). Re-indenting a unique line is
 *    therefore refused.
 * 4. **Edges.** A block's first line, right after a marker, is context. When it is not an anchor,
 *    it must occur exactly once between the previous block's last anchor and the first anchor, and
 *    the block starts there; when it occurs several times, or not at all (it may be inserted or
 *    replace the line above: no telling), the merge is refused. Without a leading marker the block
 *    starts the file instead, provided it keeps the file's first lines (they occur in it in order)
 *    or opens with the file's first line. Lines after the last anchor mirror this. Blank lines
 *    dropped next to a marker are checked too: they must stand for blank lines right next to the
 *    anchor (or have no blank line in reach to stand for), and are never followed by unanchored
 *    lines. Anything else is `ambiguous-anchor`.
 * 5. **Replacement.** The block replaces its region: lines of the region that the block repeats are
 *    kept (as the original has them), other block lines are new, other region lines are deleted.
 * 6. **Deletions.** The region is diffed against the block, pinned on the anchors. Each run of
 *    changes between kept lines may delete as many lines as it adds (a one-for-one replacement);
 *    lines deleted beyond that are _unexplained_. A line deleted in one run and added in another
 *    is a move, not a deletion. More than `maxNetDeletions` unexplained lines in the whole merge
 *    is `excess-deletion`: this is what catches a snippet that forgot a marker and so silently
 *    drops a chunk of the file. The default of 0 means a pure deletion needs the caller's consent.
 * 7. **Output checks.** A new line that looks like a marker (`looksLikeLazyMarker`) is
 *    `marker-in-output`; a merge equal to the original is `identical` (a refusal: the edit did
 *    nothing, which the caller should hear about rather than commit).
 *
 * Line endings: original lines keep their own terminator; new lines take the original's majority
 * one; the final newline is present exactly when the original had one.
 *
 * What no reading can express, and is refused or read the other way: deleting the first or last
 * lines of the file without writing anything in their place (the head and tail survive), and
 * edits right next to blank lines at a block's edge (layout).
 */

/** Every reason the local merger refuses with, as a stable code. */
export const LOCAL_MERGE_REASONS = [
  'empty-snippet',
  'no-anchor',
  'ambiguous-anchor',
  'out-of-order',
  'uneven-indentation',
  'excess-deletion',
  'marker-in-output',
  'identical',
] as const;

export type LocalMergeReason = (typeof LOCAL_MERGE_REASONS)[number];

/** Original lines the merge may delete without a new line standing in for them, by default. */
export const DEFAULT_MAX_NET_DELETIONS = 0;

export interface LazyMergeOptions {
  /**
   * How many original lines the whole merge may delete beyond those the snippet replaces
   * one-for-one (see step 6). Default {@link DEFAULT_MAX_NET_DELETIONS}.
   */
  readonly maxNetDeletions?: number;
}

export type LazyMergeResult =
  | { readonly ok: true; readonly merged: string }
  | { readonly ok: false; readonly reason: LocalMergeReason; readonly message: string };

type Refusal = Extract<LazyMergeResult, { ok: false }>;

const refuse = (reason: LocalMergeReason, message: string): Refusal => ({
  ok: false,
  reason,
  message,
});

/** A run of snippet lines between markers. */
interface Block {
  /** Raw snippet lines, blank lines at both ends removed. */
  readonly lines: readonly string[];
  /** 1-based snippet line of `lines[0]`, for messages. */
  readonly snippetLine: number;
  readonly markerBefore: boolean;
  readonly markerAfter: boolean;
  /** Blank lines dropped at the start and at the end. */
  readonly blankBefore: number;
  readonly blankAfter: number;
}

/** A block with its anchors, lines shifted into the original's indentation. */
interface PlacedBlock {
  readonly block: Block;
  readonly label: string;
  /** Block lines with the indentation shift applied. */
  readonly texts: readonly string[];
  /** `texts` with trailing whitespace removed: what a block line is compared by. */
  readonly keys: readonly string[];
  /** Every anchor: its index in the block and its original line, in block order. */
  readonly anchors: readonly Anchor[];
  /** Index in the block of the first and last anchor. */
  readonly firstAnchor: number;
  readonly lastAnchor: number;
  /** Original line index of the first and last anchor. */
  readonly start: number;
  readonly end: number;
}

interface Anchor {
  /** Index in the block. */
  readonly at: number;
  /** Index in the original. */
  readonly line: number;
}

/** A shift between snippet and original indentation: add a prefix, or remove one (or neither). */
interface Shift {
  readonly add: string;
  readonly strip: string;
}

/**
 * Merges an update snippet in lazy-edit form into the original file, or refuses.
 *
 * @example
 * mergeLazyEdit(
 *   'a: 1,\nb: 2,\nc: 3,\n',
 *   '// ... existing code ...\nb: 2,\nb2: 2.5,\nc: 3,\n',
 * ); // { ok: true, merged: 'a: 1,\nb: 2,\nb2: 2.5,\nc: 3,\n' }
 */
export function mergeLazyEdit(
  original: string,
  snippet: string,
  options: LazyMergeOptions = {},
): LazyMergeResult {
  // A budget that is not a number would allow every deletion (`n > NaN` is false).
  const budget = options.maxNetDeletions ?? DEFAULT_MAX_NET_DELETIONS;
  const maxNetDeletions = Number.isNaN(budget) ? DEFAULT_MAX_NET_DELETIONS : Math.max(0, budget);
  const blocks = splitBlocks(snippet);
  if (blocks.length === 0) {
    return refuse('empty-snippet', 'the snippet holds nothing but markers and blank lines');
  }

  const source = splitSource(original);
  const keys = source.lines.map((line) => line.trimEnd());
  const placed = placeBlocks(blocks, source);
  if ('ok' in placed) return placed;

  const regions: Region[] = [];
  for (const [index, block] of placed.entries()) {
    const lo = index === 0 ? 0 : (placed[index - 1]?.end ?? -1) + 1;
    const hi = placed[index + 1]?.start ?? source.lines.length;
    const start = resolveStart(block, keys, lo);
    if (typeof start !== 'number') return start;
    const end = resolveEnd(block, keys, hi);
    if (typeof end !== 'number') return end;
    const previous = regions.at(-1);
    if (previous !== undefined && start <= previous.end) {
      return refuse(
        'out-of-order',
        `${block.label} starts on line ${start + 1} of the original, inside the region ` +
          `${previous.label} replaces (lines ${previous.start + 1}-${previous.end + 1})`,
      );
    }
    regions.push({ label: block.label, start, end, ...replaceRegion(block, source, start, end) });
  }

  const unexplained = regions.flatMap((region) => region.unexplained);
  if (unexplained.length > maxNetDeletions) {
    const shown = unexplained
      .slice(0, 3)
      .map((line) => `"${line.trim()}"`)
      .join(', ');
    return refuse(
      'excess-deletion',
      `the merge would delete ${unexplained.length} original line(s) that no snippet line ` +
        `replaces (allowed: ${maxNetDeletions}), starting with ${shown}; show every kept line ` +
        'or put a marker where code is left out',
    );
  }

  for (const region of regions) {
    const marker = region.pieces.find(
      (piece) => piece.ending === undefined && looksLikeLazyMarker(piece.text),
    );
    if (marker !== undefined) {
      return refuse(
        'marker-in-output',
        `${region.label} would write "${marker.text.trim()}" into the file: it looks like a ` +
          'lazy-edit marker but is not one the merger understands',
      );
    }
  }

  const pieces: LinePiece[] = [];
  let cursor = 0;
  for (const region of regions) {
    for (; cursor < region.start; cursor += 1) pieces.push(originalPiece(source, cursor));
    pieces.push(...region.pieces);
    cursor = region.end + 1;
  }
  for (; cursor < source.lines.length; cursor += 1) pieces.push(originalPiece(source, cursor));

  const merged = joinLines(pieces, source.eol, source.finalNewline);
  if (merged === original) {
    return refuse('identical', 'the snippet changes nothing: the merge equals the original');
  }
  return { ok: true, merged };
}

/** Cuts the snippet into blocks on marker lines. */
function splitBlocks(snippet: string): Block[] {
  const segments: { first: number; lines: string[] }[] = [{ first: 0, lines: [] }];
  splitSnippet(snippet).forEach((line, index) => {
    if (isLazyMarker(line)) segments.push({ first: index + 1, lines: [] });
    else segments.at(-1)?.lines.push(line);
  });

  const blocks: Block[] = [];
  segments.forEach((segment, index) => {
    const lines = segment.lines;
    let from = 0;
    let to = lines.length;
    while (from < to && isBlank(lines[from] ?? '')) from += 1;
    while (to > from && isBlank(lines[to - 1] ?? '')) to -= 1;
    if (from === to) return;
    blocks.push({
      lines: lines.slice(from, to),
      snippetLine: segment.first + from + 1,
      markerBefore: index > 0,
      markerAfter: index < segments.length - 1,
      blankBefore: from,
      blankAfter: lines.length - to,
    });
  });
  return blocks;
}

/** Anchors every block, settles the indentation shift and checks the anchors' order. */
function placeBlocks(blocks: readonly Block[], source: SourceLines): PlacedBlock[] | Refusal {
  const occurrences = new Map<string, number[]>();
  source.lines.forEach((line, index) => {
    const key = line.trim();
    const seen = occurrences.get(key);
    if (seen === undefined) occurrences.set(key, [index]);
    else seen.push(index);
  });
  const uniqueLine = (line: string): number | undefined => {
    if (isWeakLine(line)) return undefined;
    const seen = occurrences.get(line.trim());
    return seen?.length === 1 ? seen[0] : undefined;
  };

  const anchored = [];
  let shift: { value: Shift; line: string; original: string } | undefined;
  for (const [index, block] of blocks.entries()) {
    const label = `block ${index + 1} (snippet line ${block.snippetLine})`;
    const anchors: Anchor[] = [];
    block.lines.forEach((line, at) => {
      const position = uniqueLine(line);
      if (position !== undefined) anchors.push({ at, line: position });
    });
    const first = anchors[0];
    const last = anchors.at(-1);
    if (first === undefined || last === undefined) {
      const repeated = block.lines.find(
        (line) => !isWeakLine(line) && (occurrences.get(line.trim())?.length ?? 0) > 1,
      );
      return repeated === undefined
        ? refuse(
            'no-anchor',
            `${label} has no line that occurs exactly once in the original and is specific ` +
              'enough to anchor on (blank lines, brackets and bare keywords are not)',
          )
        : refuse(
            'ambiguous-anchor',
            `${label} has no line that occurs exactly once in the original; ` +
              `"${repeated.trim()}" occurs ${occurrences.get(repeated.trim())?.length} times`,
          );
    }

    for (const anchor of anchors) {
      const line = block.lines[anchor.at] ?? '';
      const original = source.lines[anchor.line] ?? '';
      const value = shiftBetween(indentOf(original), indentOf(line));
      if (value === undefined) {
        return refuse(
          'uneven-indentation',
          `${label}: "${line.trim()}" is indented with ${JSON.stringify(indentOf(line))} in the ` +
            `snippet and ${JSON.stringify(indentOf(original))} in the original, which no ` +
            'constant shift relates',
        );
      }
      if (shift === undefined) shift = { value, line, original };
      else if (value.add !== shift.value.add || value.strip !== shift.value.strip) {
        return refuse(
          'uneven-indentation',
          `${label}: "${line.trim()}" is ${describeShift(value)} but "${shift.line.trim()}" is ` +
            `${describeShift(shift.value)}; the snippet must keep one indentation throughout`,
        );
      }
    }
    anchored.push({ block, label, anchors, first, last });
  }

  const placed: PlacedBlock[] = [];
  for (const { block, label, anchors, first, last } of anchored) {
    const texts: string[] = [];
    for (const line of block.lines) {
      const text = applyShift(line, shift?.value ?? { add: '', strip: '' });
      if (text === undefined) {
        return refuse(
          'uneven-indentation',
          `${label}: "${line.trim()}" is indented less than the ` +
            `${JSON.stringify(shift?.value.strip)} the snippet's anchors add to the original`,
        );
      }
      texts.push(text);
    }
    if (first.line > last.line) {
      return refuse(
        'out-of-order',
        `${label} anchors on line ${first.line + 1} of the original and then on line ` +
          `${last.line + 1}, which comes before it`,
      );
    }
    const stray = anchors.find((anchor) => anchor.line < first.line || anchor.line > last.line);
    if (stray !== undefined) {
      return refuse(
        'out-of-order',
        `${label} repeats "${block.lines[stray.at]?.trim()}" (line ${stray.line + 1} of the ` +
          `original) outside the span it covers (lines ${first.line + 1}-${last.line + 1})`,
      );
    }
    const previous = placed.at(-1);
    if (previous !== undefined && first.line <= previous.end) {
      return refuse(
        'out-of-order',
        `${label} anchors on line ${first.line + 1} of the original, at or before line ` +
          `${previous.end + 1} where ${previous.label} ends: blocks must follow the file's order`,
      );
    }
    placed.push({
      block,
      label,
      texts,
      keys: texts.map((text) => text.trimEnd()),
      anchors,
      firstAnchor: first.at,
      lastAnchor: last.at,
      start: first.line,
      end: last.line,
    });
  }
  return placed;
}

/** The shift taking a snippet indentation to the original's, if one prefix relates them. */
function shiftBetween(original: string, snippet: string): Shift | undefined {
  if (original === snippet) return { add: '', strip: '' };
  if (original.endsWith(snippet)) {
    return { add: original.slice(0, original.length - snippet.length), strip: '' };
  }
  if (snippet.endsWith(original)) {
    return { add: '', strip: snippet.slice(0, snippet.length - original.length) };
  }
  return undefined;
}

function applyShift(line: string, shift: Shift): string | undefined {
  if (isBlank(line)) return '';
  if (shift.strip !== '') {
    return line.startsWith(shift.strip) ? line.slice(shift.strip.length) : undefined;
  }
  return shift.add + line;
}

function describeShift(shift: Shift): string {
  if (shift.add !== '') return `indented ${JSON.stringify(shift.add)} less than the original`;
  if (shift.strip !== '') return `indented ${JSON.stringify(shift.strip)} more than the original`;
  return 'indented as in the original';
}

/**
 * First original line of the block's region (step 4 of the module doc): the anchor itself, or
 * where the lines before it start. `lo` is the first line after the previous block's last anchor.
 */
function resolveStart(block: PlacedBlock, keys: readonly string[], lo: number): number | Refusal {
  const before = block.keys.slice(0, block.firstAnchor);
  const anchor = block.start;
  const head = before[0];
  if (head === undefined) {
    if (block.block.blankBefore === 0 || isLayout(keys, anchor - 1, lo, anchor)) return anchor;
    return refuse(
      'ambiguous-anchor',
      `${block.label} opens with a blank line, but the original has none right above its first ` +
        `anchor (line ${anchor + 1}): a blank line higher up with the lines in between deleted ` +
        'would read the same; start the block on the line it keeps',
    );
  }

  const lead =
    `${block.label}: the ${before.length} line(s) before its first anchor ` +
    `(line ${anchor + 1} of the original)`;
  if (block.block.blankBefore > 0) {
    return refuse(
      'ambiguous-anchor',
      `${lead} follow a blank line next to a marker, so whether "${head.trim()}" is context ` +
        'or new cannot be told; start the block on a line that occurs once in the original',
    );
  }
  const candidates = positionsOf(keys, head, lo, anchor);
  if (!block.block.markerBefore) {
    // Without a leading marker the block starts the file, provided the file's head survives.
    const headKept = isSubsequence(keys.slice(0, anchor), before);
    if (headKept || (candidates.length === 1 && candidates[0] === 0)) return 0;
    return refuse(
      'ambiguous-anchor',
      `${lead} cannot be placed: without a leading marker they would start the file, but they ` +
        'do not keep its first lines; add a leading marker and start on a line of the original',
    );
  }
  const [only, other] = candidates;
  if (only !== undefined && other === undefined) return only;
  if (only !== undefined) {
    return refuse(
      'ambiguous-anchor',
      `${lead} start with "${head.trim()}", which occurs ${candidates.length} times above it ` +
        `(lines ${candidates.map((at) => at + 1).join(', ')})`,
    );
  }
  return refuse(
    'ambiguous-anchor',
    `${lead} start with "${head.trim()}", which is not in the original above it: whether it is ` +
      'inserted or replaces the line(s) above cannot be told; start the block on a context line',
  );
}

/** Last original line of the block's region: the mirror image of {@link resolveStart}. */
function resolveEnd(block: PlacedBlock, keys: readonly string[], hi: number): number | Refusal {
  const after = block.keys.slice(block.lastAnchor + 1);
  const anchor = block.end;
  const tail = after.at(-1);
  if (tail === undefined) {
    if (block.block.blankAfter === 0 || isLayout(keys, anchor + 1, anchor + 1, hi)) return anchor;
    return refuse(
      'ambiguous-anchor',
      `${block.label} closes with a blank line, but the original has none right below its last ` +
        `anchor (line ${anchor + 1}): a blank line lower down with the lines in between deleted ` +
        'would read the same; end the block on the line it keeps',
    );
  }

  const lead =
    `${block.label}: the ${after.length} line(s) after its last anchor ` +
    `(line ${anchor + 1} of the original)`;
  if (block.block.blankAfter > 0) {
    return refuse(
      'ambiguous-anchor',
      `${lead} precede a blank line next to a marker, so whether "${tail.trim()}" is context ` +
        'or new cannot be told; end the block on a line that occurs once in the original',
    );
  }
  const candidates = positionsOf(keys, tail, anchor + 1, hi);
  if (!block.block.markerAfter) {
    // Without a trailing marker the block ends the file, provided the file's tail survives.
    const last = keys.length - 1;
    const tailKept = isSubsequence(keys.slice(anchor + 1), after);
    if (tailKept || (candidates.length === 1 && candidates[0] === last)) return last;
    return refuse(
      'ambiguous-anchor',
      `${lead} cannot be placed: without a trailing marker they would end the file, but they ` +
        'do not keep its last lines; add a trailing marker and end on a line of the original',
    );
  }
  const [only, other] = candidates;
  if (only !== undefined && other === undefined) return only;
  if (only !== undefined) {
    return refuse(
      'ambiguous-anchor',
      `${lead} end with "${tail.trim()}", which occurs ${candidates.length} times below it ` +
        `(lines ${candidates.map((at) => at + 1).join(', ')})`,
    );
  }
  return refuse(
    'ambiguous-anchor',
    `${lead} end with "${tail.trim()}", which is not in the original below it: whether it is ` +
      'inserted or replaces the line(s) below cannot be told; end the block on a context line',
  );
}

/** Whether `part` occurs in `whole` in order (not necessarily adjacent). */
function isSubsequence(part: readonly string[], whole: readonly string[]): boolean {
  let at = 0;
  for (const key of whole) if (key === part[at]) at += 1;
  return at >= part.length;
}

/**
 * Whether blank lines trimmed next to a marker can only be layout: the original line `next` to
 * the anchor is blank itself (they stand for it), or `[from, to)` has no blank line they could be.
 */
function isLayout(keys: readonly string[], next: number, from: number, to: number): boolean {
  if (next >= from && next < to && keys[next] === '') return true;
  return !keys.slice(from, to).includes('');
}

/** Indexes in `[from, to)` whose key is `key`. */
function positionsOf(keys: readonly string[], key: string, from: number, to: number): number[] {
  const found: number[] = [];
  for (let at = from; at < to; at += 1) if (keys[at] === key) found.push(at);
  return found;
}

interface Region {
  readonly label: string;
  /** Inclusive original line range the block replaces. */
  readonly start: number;
  readonly end: number;
  /** What the region becomes; original lines carry their terminator. */
  readonly pieces: readonly LinePiece[];
  /** Original lines deleted beyond one-for-one replacement (step 6). */
  readonly unexplained: readonly string[];
}

/**
 * Most line insertions plus deletions one region diff may take before it gives up (Myers is
 * O(N·D)); deterministic, unlike a time limit.
 */
const MAX_EDIT_LENGTH = 1000;

/** A stretch of the region diff between kept lines: what it deletes and what it adds. */
interface Run {
  readonly deleted: string[];
  readonly added: string[];
}

/**
 * Diffs the region against the block: the output lines and the deletions nothing explains. The
 * alignment is pinned on the longest in-order chain of anchors and only the stretches between pins
 * are diffed, so a unique line can never pair up with a copy of itself elsewhere and make a
 * dropped line look replaced.
 */
function replaceRegion(
  block: PlacedBlock,
  source: SourceLines,
  start: number,
  end: number,
): Pick<Region, 'pieces' | 'unexplained'> {
  const pieces: LinePiece[] = [];
  const runs: Run[] = [];

  const stretch = (fromLine: number, toLine: number, fromAt: number, toAt: number) => {
    const regionKeys = source.lines.slice(fromLine, toLine).map((line) => line.trimEnd());
    const blockKeys = block.keys.slice(fromAt, toAt);
    if (regionKeys.length === 0 && blockKeys.length === 0) return;
    // Past MAX_EDIT_LENGTH the stretch is rewritten wholesale: one run deleting it all and adding
    // all of the block's, which keeps the accounting (moves still cancel out) at the price of the
    // stretch's own line endings.
    const changes = diffArrays(regionKeys, blockKeys, { maxEditLength: MAX_EDIT_LENGTH }) ?? [
      { value: regionKeys, count: regionKeys.length, added: false, removed: true },
      { value: blockKeys, count: blockKeys.length, added: true, removed: false },
    ];
    let line = fromLine;
    let at = fromAt;
    let run: Run | undefined;
    for (const change of changes) {
      if (!change.added && !change.removed) {
        for (let i = 0; i < change.count; i += 1) pieces.push(originalPiece(source, line + i));
        line += change.count;
        at += change.count;
        run = undefined;
        continue;
      }
      if (run === undefined) {
        run = { deleted: [], added: [] };
        runs.push(run);
      }
      if (change.removed) {
        for (let i = 0; i < change.count; i += 1) run.deleted.push(source.lines[line + i] ?? '');
        line += change.count;
      } else {
        for (let i = 0; i < change.count; i += 1) {
          const text = block.texts[at + i] ?? '';
          pieces.push({ text });
          run.added.push(text);
        }
        at += change.count;
      }
    }
  };

  let line = start;
  let at = 0;
  for (const pin of longestInOrder(block.anchors)) {
    stretch(line, pin.line, at, pin.at);
    pieces.push(originalPiece(source, pin.line));
    line = pin.line + 1;
    at = pin.at + 1;
  }
  stretch(line, end + 1, at, block.keys.length);

  // A line deleted in one run and added in another was moved, not lost.
  const deletedCounts = countKeys(runs.flatMap((run) => run.deleted));
  const addedCounts = countKeys(runs.flatMap((run) => run.added));
  const movedOut = new Map<string, number>();
  for (const [key, count] of deletedCounts) {
    const moved = Math.min(count, addedCounts.get(key) ?? 0);
    if (moved > 0) movedOut.set(key, moved);
  }
  const movedIn = new Map(movedOut);
  const unexplained: string[] = [];
  for (const run of runs) {
    const lost = run.deleted.filter((text) => !take(movedOut, text.trimEnd()));
    const fresh = run.added.filter((text) => !take(movedIn, text.trimEnd()));
    unexplained.push(...lost.slice(fresh.length));
  }
  return { pieces, unexplained };
}

/** The longest chain of anchors whose original lines strictly increase (patience sorting). */
function longestInOrder(anchors: readonly Anchor[]): Anchor[] {
  const tails: number[] = [];
  const previous: number[] = [];
  anchors.forEach((anchor, index) => {
    let low = 0;
    let high = tails.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((anchors[tails[middle] ?? 0]?.line ?? 0) < anchor.line) low = middle + 1;
      else high = middle;
    }
    previous[index] = low > 0 ? (tails[low - 1] ?? -1) : -1;
    tails[low] = index;
  });
  const chain: Anchor[] = [];
  for (let index = tails.at(-1) ?? -1; index >= 0; index = previous[index] ?? -1) {
    const anchor = anchors[index];
    if (anchor !== undefined) chain.push(anchor);
  }
  return chain.reverse();
}

function countKeys(lines: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of lines) counts.set(line.trimEnd(), (counts.get(line.trimEnd()) ?? 0) + 1);
  return counts;
}

/** Takes one from the key's count; false when none is left. */
function take(counts: Map<string, number>, key: string): boolean {
  const left = counts.get(key) ?? 0;
  if (left === 0) return false;
  counts.set(key, left - 1);
  return true;
}

const originalPiece = (source: SourceLines, index: number): LinePiece => ({
  text: source.lines[index] ?? '',
  ending: source.endings[index] ?? '',
});
