import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  analyzeMapper,
  clearMapperAnalysisCache,
  type MapperAnalysis,
} from '../functions/rca/mapper-analysis.js';
import { changedLineRanges, compareMappers } from '../functions/rca/release-diff.js';

const R1_FILE = 'functions/shop/catalog-sync.ts';
const R2_FILE = 'functions/shop/catalog-sync-r2.ts';
const r1 = readFileSync(new URL(`../${R1_FILE}`, import.meta.url), 'utf8');
const r2 = readFileSync(new URL(`../${R2_FILE}`, import.meta.url), 'utf8');
const shop = { fileName: R1_FILE, exportName: 'toProductRecord' };

/** A fixture mapper's text; fixtures end in `.txt` so tsc and Biome leave them as written. */
const fixture = (name: string): string =>
  readFileSync(new URL(`./fixtures/mappers/${name}.txt`, import.meta.url), 'utf8');

/** The 1-based line of the first line of `source` containing `text`. */
const lineOf = (source: string, text: string): number =>
  source.split('\n').findIndex((line) => line.includes(text)) + 1;

function analysed(source: string, fileName: string, exportName: string): MapperAnalysis {
  const result = analyzeMapper(source, { fileName, exportName });
  if (!result.ok) throw new Error(`expected an analysis, got ${result.reason}: ${result.message}`);
  return result.analysis;
}

const property = (analysis: MapperAnalysis, field: string) =>
  analysis.properties.find((p) => p.field === field);

describe('Stage: rca — mapper analysis', () => {
  it('reads the R1 mapper: name, parameters, line range and every field it writes', () => {
    const analysis = analysed(r1, R1_FILE, 'toProductRecord');

    expect(analysis.name).toBe('toProductRecord');
    expect(analysis.itemParam).toBe('item');
    expect(analysis.extraParams).toEqual(['syncedAt']);
    expect(analysis.start_line).toBe(lineOf(r1, 'export function toProductRecord'));
    expect(analysis.end_line).toBe(r1.trimEnd().split('\n').length);
    expect(analysis.returned).toEqual({
      start_line: lineOf(r1, 'return {'),
      end_line: lineOf(r1, '  };'),
      assertion: null,
    });
    expect(analysis.writes).toEqual([
      'sku',
      'title',
      'price',
      'currency',
      'category',
      'stock',
      'return_policy',
      'updated_at',
      'synced_at',
    ]);
    expect(property(analysis, 'return_policy')).toEqual({
      field: 'return_policy',
      line: lineOf(r1, 'return_policy: item.return_policy'),
      end_line: lineOf(r1, 'return_policy: item.return_policy'),
      expression: 'item.return_policy',
      reads: ['return_policy'],
      kind: 'direct',
      readsWholeItem: false,
    });
    expect(property(analysis, 'synced_at')).toMatchObject({ kind: 'param', reads: [] });
    expect(analysis.reads).not.toContain('synced_at');
    expect(analysis.copiesAll).toBe(false);
  });

  it('sees that R2 writes no return_policy and keeps its `as ProductRecord`', () => {
    const analysis = analysed(r2, R2_FILE, 'toProductRecord');

    expect(analysis.writes).not.toContain('return_policy');
    expect(analysis.reads).not.toContain('return_policy');
    expect(analysis.writes).toHaveLength(8);
    expect(analysis.start_line).toBe(lineOf(r2, 'export function toProductRecord'));
    expect(analysis.end_line).toBe(r2.trimEnd().split('\n').length);
    expect(analysis.returned).toEqual({
      start_line: lineOf(r2, 'return {'),
      end_line: lineOf(r2, '} as ProductRecord;'),
      assertion: { kind: 'as', type: 'ProductRecord' },
    });
    expect(property(analysis, 'stock')?.line).toBe(lineOf(r2, 'stock: item.stock'));
  });

  it('follows nested reads, element access, optional chaining, ?? fallbacks and local aliases', () => {
    const source = fixture('nested-reads.ts');
    const analysis = analysed(source, 'nested-reads.ts', 'toListing');

    expect(analysis).toMatchObject({
      name: 'toListing',
      itemParam: 'item',
      extraParams: ['syncedAt', 'source'],
      start_line: lineOf(source, 'export const toListing'),
      end_line: lineOf(source, '};'),
      returned: { assertion: { kind: 'as', type: 'Listing' } },
    });
    const byField = Object.fromEntries(
      analysis.properties.map((p) => [p.field, { kind: p.kind, reads: p.reads }]),
    );
    expect(byField).toEqual({
      sku: { kind: 'computed', reads: ['sku'] },
      title: { kind: 'computed', reads: ['title', 'name'] },
      price: { kind: 'direct', reads: ['pricing.amount'] },
      currency: { kind: 'computed', reads: ['pricing.currency'] },
      weight: { kind: 'direct', reads: ['details.dimensions.weight'] },
      policy: { kind: 'direct', reads: ['return-policy'] },
      stock: { kind: 'computed', reads: ['inventory.stock'] },
      active: { kind: 'direct', reads: ['flags.active'] },
      // The callback's own `item` parameter is not the feed item.
      tags: { kind: 'computed', reads: ['tags'] },
      kind: { kind: 'literal', reads: [] },
      source: { kind: 'param', reads: [] },
      synced_at: { kind: 'param', reads: [] },
    });
    expect(property(analysis, 'title')?.expression).toBe('item.title ?? item.name');
    expect(analysis.reads).toContain('details.dimensions.weight');
  });

  it('records spreads: `...item` copies everything, `...item.extra` reads one path', () => {
    const analysis = analysed(fixture('spread.ts'), 'spread.ts', 'copyEverything');

    expect(analysis.spreads).toEqual([
      { line: 8, expression: 'item', source: '', copiesAll: true },
      { line: 9, expression: 'item.extra', source: 'extra', copiesAll: false },
    ]);
    expect(analysis.copiesAll).toBe(true);
    expect(analysis.writes).toEqual(['synced_at']);
    expect(analysis.reads).toEqual(['extra']);
    expect(analysis.returned.assertion).toEqual({
      kind: 'satisfies',
      type: 'Record<string, unknown>',
    });
  });

  it('finds a record built in a const and exported under another name', () => {
    const source = fixture('const-record.ts');
    const analysis = analysed(source, 'const-record.ts', 'toRecord');

    expect(analysis.name).toBe('mapRecord');
    expect(analysis.start_line).toBe(1);
    expect(analysis.end_line).toBe(lineOf(source, 'return record;') + 1);
    expect(analysis.properties.map((p) => [p.field, p.kind])).toEqual([
      ['sku', 'direct'],
      ['title', 'computed'],
      ['synced_at', 'param'],
    ]);
  });

  it('reads JavaScript mappers too', () => {
    const analysis = analysed(fixture('plain.js'), 'plain.js', 'toRow');

    expect(analysis.writes).toEqual([
      'sku',
      'price',
      'stock',
      'label',
      'active',
      'kind',
      'synced_at',
    ]);
    expect(analysis.properties.find((p) => p.field === 'kind')?.kind).toBe('literal');
    expect(analysis.start_line).toBe(2);
  });

  it('reports a file that does not parse with the compiler diagnostic', () => {
    const result = analyzeMapper(fixture('broken.ts'), {
      fileName: 'broken.ts',
      exportName: 'toRecord',
    });

    expect(result).toMatchInlineSnapshot(`
      {
        "message": "broken.ts:4:5 ',' expected.",
        "ok": false,
        "reason": "parse-error",
      }
    `);
  });

  it('reports an export that does not exist', () => {
    const result = analyzeMapper(r1, { ...shop, exportName: 'toProductRecordV2' });

    expect(result).toEqual({
      ok: false,
      reason: 'export-not-found',
      message: `${R1_FILE} has no export named toProductRecordV2`,
    });
  });

  it('refuses a record whose keys are computed, since its fields are not known statically', () => {
    const result = analyzeMapper(fixture('dynamic-key.ts'), {
      fileName: 'dynamic-key.ts',
      exportName: 'toRecord',
    });

    expect(result).toMatchObject({ ok: false, reason: 'unsupported-shape' });
    expect(result.ok ? '' : result.message).toContain('[key]');
  });

  it('refuses exports that are not functions or return no object literal', () => {
    const notAFunction = analyzeMapper('export const toProductRecord = 42;\n', shop);
    const noLiteral = analyzeMapper(
      'export function toProductRecord(item: unknown) {\n  return item;\n}\n',
      shop,
    );
    const twoLiterals = analyzeMapper(
      [
        'export function toProductRecord(item: { a?: string }) {',
        '  if (item.a) return { a: item.a };',
        "  return { a: 'none' };",
        '}',
        '',
      ].join('\n'),
      shop,
    );

    expect(notAFunction).toMatchObject({ ok: false, reason: 'unsupported-shape' });
    expect(noLiteral).toMatchObject({ ok: false, reason: 'unsupported-shape' });
    expect(twoLiterals).toMatchObject({ ok: false, reason: 'unsupported-shape' });
  });

  it('analyses a source once: the same input returns the same frozen analysis', () => {
    clearMapperAnalysisCache();
    const first = analyzeMapper(r1, shop);
    const second = analyzeMapper(r1, shop);
    const edited = analyzeMapper(`${r1}\n`, shop);

    expect(second).toBe(first);
    expect(edited).not.toBe(first);
    expect(Object.isFrozen(first.ok && first.analysis.writes)).toBe(true);
  });
});

describe('Stage: rca — release diff of the mapper', () => {
  const parent = { source: r1, analysis: analysed(r1, R1_FILE, 'toProductRecord') };
  const active = { source: r2, analysis: analysed(r2, R2_FILE, 'toProductRecord') };

  it('says R2 stopped writing return_policy and changed nothing else it reads', () => {
    const changes = compareMappers(parent, active);

    expect(changes.removedWrites).toEqual(['return_policy']);
    expect(changes.addedWrites).toEqual([]);
    expect(changes.changedReads).toEqual([]);
    expect(changes.changedExpressions).toEqual([]);
    expect(changes.copiesAll).toEqual({ before: false, after: false });
  });

  it('locates the changed lines on both sides', () => {
    const { changedLines } = compareMappers(parent, active);
    const covers = (ranges: readonly (readonly [number, number])[], line: number) =>
      ranges.some(([start, end]) => start <= line && line <= end);

    expect(covers(changedLines.parent, lineOf(r1, 'return_policy: item.return_policy'))).toBe(true);
    expect(covers(changedLines.active, lineOf(r2, '// Identity and timestamps'))).toBe(true);
    expect(covers(changedLines.active, lineOf(r2, '} as ProductRecord;'))).toBe(true);
    // The doc comment and the signature did not change.
    expect(covers(changedLines.parent, lineOf(r1, 'export function'))).toBe(false);
    expect(covers(changedLines.active, lineOf(r2, 'export function'))).toBe(false);
  });

  it('reports a field read from another path, and a new write, in the other direction too', () => {
    const renamed = r1
      .replace('title: item.title,', 'title: item.name,')
      .replace('    synced_at: syncedAt,\n', '    synced_at: syncedAt,\n    source: item.feed,\n');
    const changes = compareMappers(parent, {
      source: renamed,
      analysis: analysed(renamed, R1_FILE, 'toProductRecord'),
    });

    expect(changes.changedReads).toEqual([{ field: 'title', before: ['title'], after: ['name'] }]);
    expect(changes.addedWrites).toEqual(['source']);
    expect(changes.removedWrites).toEqual([]);
    expect(changes.changedLines.parent).toEqual([
      [lineOf(r1, 'title: item.title'), lineOf(r1, 'title: item.title')],
    ]);
  });

  it('reports a coercion that was removed as a changed expression with the same reads', () => {
    const coerced = r1.replace('price: item.price,', 'price: Number(item.price),');
    const changes = compareMappers(
      { source: coerced, analysis: analysed(coerced, R1_FILE, 'toProductRecord') },
      parent,
    );

    expect(changes.changedReads).toEqual([]);
    expect(changes.changedExpressions).toEqual([
      { field: 'price', before: 'Number(item.price)', after: 'item.price' },
    ]);
  });

  it('does not count line endings as changes', () => {
    expect(changedLineRanges(r1, r1.replaceAll('\n', '\r\n'))).toEqual({ parent: [], active: [] });
  });
});
