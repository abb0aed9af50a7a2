import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type LazyMergeOptions,
  type LazyMergeResult,
  LOCAL_MERGE_REASONS,
  mergeLazyEdit,
} from '../functions/patch/appliers/local-merge.js';

/**
 * Random files, random edits, and the lazy snippet a model would write for them; the merger must
 * reproduce the edited file exactly or refuse, and must not refuse when the snippet's context is
 * unique and strong.
 */

const WEAK = ['', '}', '  }', '});', ']', '  },', 'return;', 'break;', '{', '    )', '} else {'];
/** Strong lines that a file may hold several times (and then cannot anchor on). */
const REPEATED = ['  total += 1;', '  log(item);', '    return value;', '  name: item.name,'];
const MARKERS = [
  '// ... existing code ...',
  '  // ... existing code ...',
  '# ... existing code ...',
  '/* ... existing code ... */',
  '<!-- ... existing code ... -->',
  '// ...existing code...',
  '    // … rest of code …',
];

type Draw =
  | { readonly kind: 'fresh'; readonly indent: number }
  | { readonly kind: 'repeated' | 'weak'; readonly pick: number };

const drawArb: fc.Arbitrary<Draw> = fc.oneof(
  { weight: 9, arbitrary: fc.record({ kind: fc.constant('fresh'), indent: fc.nat(2) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('repeated'), pick: fc.nat() }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('weak'), pick: fc.nat() }) },
) as fc.Arbitrary<Draw>;

const pick = <T>(items: readonly T[], index: number): T => items[index % items.length] as T;

const caseArb = fc.record({
  file: fc.array(drawArb, { minLength: 4, maxLength: 40 }),
  edits: fc.array(
    fc.record({
      at: fc.nat(),
      deleted: fc.nat(3),
      inserted: fc.array(drawArb, { maxLength: 3 }),
    }),
    { minLength: 1, maxLength: 3 },
  ),
  context: fc.record({
    mode: fc.constantFrom('plain', 'careful'),
    k: fc.integer({ min: 1, max: 3 }),
  }),
  style: fc.record({
    marker: fc.constantFrom(...MARKERS),
    shift: fc.constantFrom('none', 'add-spaces', 'add-tab', 'strip'),
    cosmeticBlanks: fc.boolean(),
    eol: fc.constantFrom('\n', '\r\n'),
    finalNewline: fc.boolean(),
    snippetEol: fc.constantFrom('\n', '\r\n'),
  }),
});

type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

interface Region {
  readonly start: number;
  /** Exclusive. */
  readonly end: number;
  readonly lines: readonly string[];
}

interface Derived {
  readonly original: string;
  readonly edited: string;
  readonly snippet: string;
  /** Every block starts and ends on a context line that is unique and strong in the original. */
  readonly uniqueContext: boolean;
  /**
   * Blank lines at a block's edge are layout to the merger, so an edit there cannot be written:
   * when a block starts (ends) with blank lines, they and the first (last) other line must be
   * unchanged, adjacent lines of the original.
   */
  readonly expressible: boolean;
  readonly pureInsertions: boolean;
  /** At least one region of the file is edited (possibly into what it was). */
  readonly edits: number;
}

const trimmedCounts = (lines: readonly string[]) => {
  const counts = new Map<string, number>();
  for (const line of lines) counts.set(line.trim(), (counts.get(line.trim()) ?? 0) + 1);
  return counts;
};

/** A block line: its text, and the original line it repeats (none for a new line). */
type Entry = { readonly text: string; readonly from?: number };
/** Rewrites the blocks before they are written out, as a sloppy model would. */
type Sloppy = (
  blocks: readonly (readonly Entry[])[],
  anchorable: (index: number) => boolean,
) => Entry[][];

/** Builds the original, applies the edits, and writes the snippet the way a model would. */
function derive(input: Case, sloppy?: Sloppy): Derived {
  let fresh = 0;
  const strong: boolean[] = [];
  const lines = input.file.map((draw) => {
    strong.push(draw.kind !== 'weak');
    if (draw.kind === 'fresh') {
      fresh += 1;
      return `${'  '.repeat(draw.indent)}field${fresh}: item.field${fresh},`;
    }
    return pick(draw.kind === 'weak' ? WEAK : REPEATED, draw.pick);
  });
  // Text cannot hold a blank last line without a final newline: that is a final newline.
  if (!input.style.finalNewline && lines.at(-1) === '') lines[lines.length - 1] = '}';
  const counts = trimmedCounts(lines);
  const anchorable = (index: number) =>
    strong[index] === true && counts.get((lines[index] ?? '').trim()) === 1;
  const n = lines.length;

  // Non-overlapping regions in file order. A new line never copies a line that is unique in the
  // original (it would pose as an anchor: no reader can tell that from context), and is never a
  // blank line at the very start or end of the file (blank lines there carry no meaning).
  const regions: Region[] = [];
  let cursor = 0;
  for (const edit of [...input.edits].sort((a, b) => (a.at % (n + 1)) - (b.at % (n + 1)))) {
    const start = Math.max(edit.at % (n + 1), cursor);
    if (start > n) continue;
    const end = Math.min(start + edit.deleted, n);
    const newLine = () => {
      fresh += 1;
      return `  added${fresh}(item);`;
    };
    const added = edit.inserted.map((draw, index) => {
      let line: string;
      if (draw.kind === 'weak') line = pick(WEAK, draw.pick);
      else if (draw.kind === 'repeated') line = pick(REPEATED, draw.pick);
      else line = newLine();
      const copiesAnchor = !WEAK.includes(line) && (counts.get(line.trim()) ?? 0) === 1;
      const blankEdge =
        line === '' &&
        ((start === 0 && index === 0) || (end === n && index === edit.inserted.length - 1));
      return copiesAnchor || blankEdge ? newLine() : line;
    });
    if (end === start && added.length === 0) continue;
    // A snippet without a leading (trailing) marker keeps the file's head (tail), so deleting the
    // first (last) lines of the file without writing anything in their place cannot be expressed.
    if (added.length === 0 && (start === 0 || end === n)) continue;
    regions.push({ start, end, lines: added });
    cursor = end;
  }

  const edited: string[] = [];
  let at = 0;
  for (const region of regions) {
    edited.push(...lines.slice(at, region.start), ...region.lines);
    at = region.end;
  }
  edited.push(...lines.slice(at));

  // Context windows, merged when they touch.
  const { mode, k } = input.context;
  const windows: { start: number; end: number; regions: Region[] }[] = [];
  for (const region of regions) {
    let start = region.start;
    let end = region.end;
    if (mode === 'plain') {
      start = Math.max(0, start - k);
      end = Math.min(n, end + k);
      // A block starts and ends on a non-blank line: blank lines next to a marker are layout.
      while (start > 0 && start < region.start && lines[start] === '') start -= 1;
      while (end < n && end > region.end && lines[end - 1] === '') end += 1;
    } else {
      for (let found = 0; start > 0 && found < k; ) {
        start -= 1;
        if (anchorable(start)) found += 1;
      }
      for (let found = 0; end < n && found < k; end += 1) if (anchorable(end)) found += 1;
    }
    const last = windows.at(-1);
    if (last !== undefined && start <= last.end) {
      last.end = Math.max(last.end, end);
      last.regions.push(region);
    } else windows.push({ start, end, regions: [region] });
  }

  const { marker, shift, cosmeticBlanks } = input.style;
  // Block lines with where they come from: an original line index, or undefined for a new line.
  const entries = windows.map((window) => {
    const block: Entry[] = [];
    const context = (from: number, to: number) => {
      for (let at = from; at < to; at += 1) block.push({ text: lines[at] ?? '', from: at });
    };
    let position = window.start;
    for (const region of window.regions) {
      context(position, region.start);
      block.push(...region.lines.map((text) => ({ text })));
      position = region.end;
    }
    context(position, window.end);
    return block;
  });
  const blocks = (sloppy ? sloppy(entries, anchorable) : entries).map((block) =>
    block.map((entry) => entry.text),
  );

  const all = blocks.flat().filter((line) => line.trim() !== '');
  const strip = shift === 'strip' && all.every((line) => line.startsWith('  '));
  const shifted = blocks.map((block) =>
    block.map((line) => {
      if (line.trim() === '') return line;
      if (shift === 'add-spaces') return `  ${line}`;
      if (shift === 'add-tab') return `\t${line}`;
      return strip ? line.slice(2) : line;
    }),
  );

  // Markers where lines are left out; a blank line next to one where the file has one there.
  const snippet: string[] = [];
  shifted.forEach((block, index) => {
    const window = windows[index];
    if (window === undefined) return;
    if (index > 0 || window.start > 0) {
      snippet.push(marker);
      if (cosmeticBlanks && lines[window.start - 1] === '') snippet.push('');
    }
    snippet.push(...block);
    const last = index === shifted.length - 1;
    if (!last || window.end < n) {
      if (cosmeticBlanks && lines[window.end] === '') snippet.push('');
      if (last) snippet.push(marker);
    }
  });

  const { eol, finalNewline, snippetEol } = input.style;
  const join = (text: readonly string[]) =>
    text.length === 0 ? '' : text.join(eol) + (finalNewline ? eol : '');
  return {
    original: join(lines),
    edited: join(edited),
    snippet: `${snippet.join(snippetEol)}${snippetEol}`,
    uniqueContext: windows.every(
      (window) =>
        window.start < (window.regions[0]?.start ?? 0) &&
        anchorable(window.start) &&
        window.end > (window.regions.at(-1)?.end ?? n) &&
        anchorable(window.end - 1),
    ),
    expressible: entries.every((block) => layoutEdge(block) && layoutEdge([...block].reverse())),
    pureInsertions: regions.every((region) => region.end === region.start),
    edits: regions.length,
  };
}

function layoutEdge(block: readonly Entry[]): boolean {
  const blanks = block.findIndex((entry) => entry.text !== '');
  if (blanks === 0) return true;
  if (blanks === -1) return false;
  return block
    .slice(0, blanks + 1)
    .every(
      (entry, at, run) =>
        entry.from !== undefined && (at === 0 || entry.from === (run[at - 1]?.from ?? -2) + 1),
    );
}

/** Never a wrong merge: the edited file exactly, or a refusal with a known reason. */
function assertSound(derived: Derived, result: LazyMergeResult): void {
  if (result.ok) {
    expect(derived.edited).not.toBe(derived.original);
    expect(result.merged).toBe(derived.edited);
  } else {
    expect(LOCAL_MERGE_REASONS).toContain(result.reason);
  }
}

const RUNS = Number(process.env.LAZY_RUNS ?? 1000);
const unlimited: LazyMergeOptions = { maxNetDeletions: Number.POSITIVE_INFINITY };

describe('Local applier: properties of the lazy-edit merge', () => {
  it('reproduces the edited file exactly or refuses, whatever context the snippet shows', () => {
    const outcomes = { merged: 0, refused: 0, uniqueContext: 0 };
    fc.assert(
      fc.property(caseArb, (input) => {
        const derived = derive(input);
        fc.pre(derived.edits > 0 && derived.expressible);
        const result = mergeLazyEdit(derived.original, derived.snippet, unlimited);
        assertSound(derived, result);
        if (result.ok) outcomes.merged += 1;
        else outcomes.refused += 1;
        if (derived.uniqueContext) outcomes.uniqueContext += 1;
      }),
      { numRuns: RUNS },
    );

    if (process.env.LAZY_STATS) console.log(outcomes);
    // Not vacuous: a good share of the generated snippets merge, many of them on weak context.
    expect(outcomes.merged).toBeGreaterThan(RUNS * 0.4);
    expect(outcomes.merged).toBeGreaterThan(outcomes.uniqueContext);
  });

  it('merges every snippet whose blocks start and end on unique, strong context', () => {
    let eligible = 0;
    fc.assert(
      fc.property(caseArb, (input) => {
        const derived = derive({ ...input, context: { ...input.context, mode: 'careful' } });
        fc.pre(derived.uniqueContext && derived.edits > 0);
        eligible += 1;
        const result = mergeLazyEdit(derived.original, derived.snippet, unlimited);

        if (derived.edited === derived.original) {
          expect(result).toMatchObject({ ok: false, reason: 'identical' });
        } else {
          expect(result).toEqual({ ok: true, merged: derived.edited });
        }
      }),
      { numRuns: RUNS / 2 },
    );
    expect(eligible).toBe(RUNS / 2);
  });

  it('with the default deletion budget, refuses only deletions and never a pure insertion', () => {
    fc.assert(
      fc.property(caseArb, (input) => {
        const derived = derive({ ...input, context: { ...input.context, mode: 'careful' } });
        fc.pre(derived.uniqueContext && derived.edited !== derived.original);
        const result = mergeLazyEdit(derived.original, derived.snippet);

        assertSound(derived, result);
        if (derived.pureInsertions) expect(result.ok).toBe(true);
        else if (!result.ok) expect(result.reason).toBe('excess-deletion');
      }),
      { numRuns: RUNS / 2 },
    );
  });

  it('refuses a snippet that silently leaves out lines inside a block', () => {
    fc.assert(
      fc.property(caseArb, fc.nat(), fc.integer({ min: 1, max: 4 }), (input, where, count) => {
        let left = 0;
        const derived = derive(
          { ...input, context: { ...input.context, mode: 'careful' } },
          (blocks, anchorable) =>
            blocks.map((block, index) => {
              if (index > 0) return [...block];
              // A run of unchanged lines between two anchors, holding one. (A line left out next
              // to a context line that a new line repeats reads as replaced by it, and a weak line
              // left out that a new line repeats reads as moved: no merger can tell.)
              const anchor = (entry: Entry | undefined) => anchorable(entry?.from ?? -1);
              const fits = (at: number) =>
                at >= 1 &&
                anchor(block[at - 1]) &&
                anchor(block[at + count]) &&
                block.slice(at, at + count).every((entry) => entry.from !== undefined) &&
                block.slice(at, at + count).some(anchor);
              const candidates = block.map((_, at) => at).filter(fits);
              const at = candidates[where % Math.max(1, candidates.length)];
              if (at === undefined) return [...block];
              left = count;
              return [...block.slice(0, at), ...block.slice(at + count)];
            }),
        );
        fc.pre(derived.uniqueContext && derived.edits > 0 && left > 0);

        const result = mergeLazyEdit(derived.original, derived.snippet);

        expect(result).toMatchObject({ ok: false, reason: 'excess-deletion' });
      }),
      { numRuns: RUNS / 4 },
    );
  });

  it('adds a property line anywhere in an object-literal mapper', () => {
    const fieldArb = fc.stringMatching(/^[a-z][a-z_]{1,11}$/);
    fc.assert(
      fc.property(
        fc.uniqueArray(fieldArb, { minLength: 2, maxLength: 25 }),
        fc.nat(),
        fc.constantFrom('', '  ', '    '),
        fc.boolean(),
        (fields, where, dedent, crlf) => {
          const added = 'return_policy_v2';
          fc.pre(!fields.includes(added));
          const eol = crlf ? '\r\n' : '\n';
          const field = (name: string) => `    ${name}: item.${name},`;
          const body = fields.map(field);
          const at = where % (body.length + 1);
          const head = ['export function toRecord(item: Item): Row {', '  return {'];
          const tail = ['  };', '}'];
          const original = [...head, ...body, ...tail];
          const edited = [...head, ...body.slice(0, at), field(added), ...body.slice(at), ...tail];

          // One line of context on each side, as Morph's prompt asks for.
          const before = at === 0 ? head.slice(-2) : body.slice(at - 1, at);
          const after = at === body.length ? tail : body.slice(at, at + 1);
          const shown = [...before, field(added), ...after];
          const shift = shown.every((line) => line.startsWith(dedent)) ? dedent.length : 0;
          const snippet = [
            '// ... existing code ...',
            ...shown.map((line) => line.slice(shift)),
            ...(at === body.length ? [] : ['// ... existing code ...']),
          ].join('\n');

          const result = mergeLazyEdit(original.join(eol) + eol, snippet);

          expect(result).toEqual({ ok: true, merged: edited.join(eol) + eol });
        },
      ),
      { numRuns: 300 },
    );
  });
});
