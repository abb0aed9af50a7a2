import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { LOCAL_MERGE_REASONS, LocalApplier } from '../functions/patch/appliers/local-applier.js';

/**
 * The lazy-edit corpus: one JSON file per case under `test/fixtures/lazy-edits/`, with the original
 * and the snippet as arrays of lines, and either the expected merge or the expected refusal.
 */
const Lines = z.array(z.string());
const LazyEditCaseSchema = z
  .object({
    description: z.string().min(1),
    path: z.string().min(1),
    /** Line ending of the original and of the expected file. */
    eol: z.enum(['\n', '\r\n']).default('\n'),
    /** Whether the original and the expected file end with a line break. */
    finalNewline: z.boolean().default(true),
    options: z.object({ maxNetDeletions: z.number().int().nonnegative() }).strict().optional(),
    original: Lines,
    snippet: Lines,
    expected: Lines.optional(),
    refusal: z.enum(LOCAL_MERGE_REASONS).optional(),
  })
  .strict()
  .refine((value) => (value.expected === undefined) !== (value.refusal === undefined), {
    message: 'a case has either `expected` or `refusal`',
  });

const CORPUS = new URL('./fixtures/lazy-edits/', import.meta.url);
const corpus = readdirSync(CORPUS)
  .filter((name) => name.endsWith('.json'))
  .sort()
  .map((name) => {
    const parsed = LazyEditCaseSchema.safeParse(
      JSON.parse(readFileSync(new URL(name, CORPUS), 'utf8')),
    );
    if (!parsed.success) throw new Error(`${name}: ${z.prettifyError(parsed.error)}`);
    return { name: name.replace(/\.json$/, ''), ...parsed.data };
  });

const file = (lines: readonly string[], eol: string, finalNewline: boolean) =>
  lines.join(eol) + (finalNewline && lines.length > 0 ? eol : '');

describe('Local applier: lazy-edit corpus', () => {
  it('holds merges and refusals of every reason the corpus is about', () => {
    expect(corpus.filter((entry) => entry.expected !== undefined).length).toBeGreaterThanOrEqual(8);
    expect(new Set(corpus.map((entry) => entry.refusal).filter(Boolean))).toEqual(
      new Set([
        'ambiguous-anchor',
        'excess-deletion',
        'identical',
        'marker-in-output',
        'no-anchor',
        'out-of-order',
        'uneven-indentation',
      ]),
    );
  });

  it.each(corpus)('$name: $description', async (entry) => {
    const result = await new LocalApplier(entry.options).apply({
      instruction: entry.description,
      original: file(entry.original, entry.eol, entry.finalNewline),
      snippet: `${entry.snippet.join('\n')}\n`,
      path: entry.path,
    });

    if (entry.expected !== undefined) {
      expect(result).toMatchObject({
        ok: true,
        applier: 'local',
        merged: file(entry.expected, entry.eol, entry.finalNewline),
      });
    } else {
      expect(result).toMatchObject({ ok: false, applier: 'local', reason: entry.refusal });
    }
  });
});
