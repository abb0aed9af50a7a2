import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { diffLines } from 'diff';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type PlanPatchInput,
  type PlanPatchResult,
  planPatch,
} from '../functions/patch/templates.js';
import { analyzeMapper } from '../functions/rca/mapper-analysis.js';
import { ProductRecordSchema, validateRecord } from '../functions/shop/contract.js';

const MARKER = '// ... existing code ...';
const R1_FILE = 'functions/shop/catalog-sync.ts';
const R2_FILE = 'functions/shop/catalog-sync-r2.ts';
const r1 = readFileSync(new URL(`../${R1_FILE}`, import.meta.url), 'utf8');
const r2 = readFileSync(new URL(`../${R2_FILE}`, import.meta.url), 'utf8');
const contractOrder = Object.keys(ProductRecordSchema.shape);

const fixture = (name: string): string =>
  readFileSync(new URL(`./fixtures/mappers/${name}.txt`, import.meta.url), 'utf8');

const feedItem = {
  sku: 'SKU-1001',
  title: 'Canvas tote',
  price: 12.5,
  currency: 'USD',
  category: 'clearance',
  stock: 40,
  return_policy: { type: 'standard', window_days: 30 },
  updated_at: '2025-01-31T02:00:00.000Z',
};
const SYNCED_AT = '2025-02-01T00:00:00.000Z';

type Planned = Extract<PlanPatchResult, { ok: true }>;

function onR2(
  fault_class: PlanPatchInput['fault_class'],
  fields: PlanPatchInput['fields'],
): PlanPatchInput {
  return { fault_class, source: r2, fileName: R2_FILE, exportName: 'toProductRecord', fields };
}

function planned(input: PlanPatchInput): Planned {
  const plan = planPatch(input);
  if (!plan.ok) throw new Error(`expected a plan, got ${plan.reason}: ${plan.message}`);
  return plan;
}

/** Lines added and removed by a line diff (without their line breaks). */
function lineChanges(before: string, after: string): { added: string[]; removed: string[] } {
  const added: string[] = [];
  const removed: string[] = [];
  for (const change of diffLines(before, after)) {
    const lines = change.value.split(/\r?\n/);
    if (lines.at(-1) === '') lines.pop();
    if (change.added) added.push(...lines);
    if (change.removed) removed.push(...lines);
  }
  return { added, removed };
}

/**
 * The snippet is in lazy-edit form: markers around every region (none before a region that starts
 * the file), and each region is a contiguous, unique run of the expected file that begins and
 * ends with unchanged lines of the source, unless it starts the file. It is never the whole file.
 */
function expectLazySnippet(plan: Planned, source: string): void {
  const eol = source.includes('\r\n') ? '\r\n' : '\n';
  const lines = plan.snippet.split(eol);
  expect(lines.pop()).toBe('');
  expect(lines.at(-1)).toBe(MARKER);

  const expectedLines = plan.expected.split(eol);
  const sourceLines = new Set(source.split(eol));
  const regions: string[][] = [[]];
  for (const line of lines) {
    if (line === MARKER) regions.push([]);
    else regions.at(-1)?.push(line);
  }
  const filled = regions.filter((region) => region.length > 0);
  expect(filled.length).toBeGreaterThan(0);
  let shown = 0;
  for (const region of filled) {
    shown += region.length;
    const starts = expectedLines.flatMap((_, i) =>
      region.every((line, j) => expectedLines[i + j] === line) ? [i] : [],
    );
    expect(starts).toHaveLength(1);
    const startsTheFile = region === regions[0];
    expect(startsTheFile ? starts[0] === 0 : sourceLines.has(region[0] ?? '')).toBe(true);
    expect(sourceLines.has(region.at(-1) ?? '')).toBe(true);
  }
  expect(shown).toBeLessThan(expectedLines.length - 1);
  expect(plan.edit).toMatchObject({
    added: lineChanges(source, plan.expected).added.length,
    removed: lineChanges(source, plan.expected).removed.length,
  });
}

const workDir = mkdtempSync(join(tmpdir(), 'patch-templates-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));
let modules = 0;

/** Compiles a planned file the way a release bundle would run it, and imports it. */
async function load(code: string, fileName: string): Promise<Record<string, unknown>> {
  const { outputText } = ts.transpileModule(code, {
    fileName,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  modules += 1;
  const file = join(workDir, `mapper-${modules}.mjs`);
  writeFileSync(file, outputText);
  return import(pathToFileURL(file).href);
}

async function loadMapper(
  code: string,
  fileName: string,
  exportName: string,
): Promise<(item: unknown, syncedAt: string) => Record<string, unknown>> {
  const mapper = (await load(code, fileName))[exportName];
  if (typeof mapper !== 'function') throw new Error(`${exportName} is not a function`);
  return mapper as (item: unknown, syncedAt: string) => Record<string, unknown>;
}

describe('Stage: patch — dropped-field template', () => {
  it('adds exactly the missing return_policy line to R2, after stock, keeping `as ProductRecord`', async () => {
    const plan = planned({ ...onR2('dropped-field', { field: 'return_policy' }), contractOrder });

    expect(lineChanges(r2, plan.expected)).toEqual({
      added: ['    return_policy: item.return_policy,'],
      removed: [],
    });
    expect(plan.expected).toContain(
      '    stock: item.stock,\n    return_policy: item.return_policy,\n  } as ProductRecord;',
    );
    expect(plan.edit).toEqual({ file: R2_FILE, added: 1, removed: 0 });
    expect(plan.instruction).toContain('return_policy');
    expectLazySnippet(plan, r2);
    expect(plan.snippet).toBe(
      [
        MARKER,
        '    stock: item.stock,',
        '    return_policy: item.return_policy,',
        '  } as ProductRecord;',
        MARKER,
        '',
      ].join('\n'),
    );

    const mapper = await loadMapper(plan.expected, R2_FILE, 'toProductRecord');
    expect(validateRecord(mapper(structuredClone(feedItem), SYNCED_AT)).ok).toBe(true);
  });

  it('places the property after the field that precedes it in the contract', () => {
    const withoutTitle = r1.replace('    title: item.title,\n', '');
    const input: PlanPatchInput = {
      fault_class: 'dropped-field',
      source: withoutTitle,
      fileName: R1_FILE,
      exportName: 'toProductRecord',
      fields: { field: 'title' },
    };

    expect(planned({ ...input, contractOrder }).expected).toBe(r1);
    // Without a contract order it goes before the trailing parameter-fed property.
    expect(planned(input).expected).toContain(
      '    updated_at: item.updated_at,\n    title: item.title,\n    synced_at: syncedAt,\n',
    );
  });

  it('puts a field that comes first in the contract above the first property and its comment', () => {
    const source = r2.replace('    sku: item.sku,\n', '    // Timestamps.\n');
    const plan = planned({ ...onR2('dropped-field', { field: 'sku' }), source, contractOrder });

    expect(lineChanges(source, plan.expected)).toEqual({
      added: ['    sku: item.sku,'],
      removed: [],
    });
    expect(plan.expected).toContain('  return {\n    sku: item.sku,\n    // Timestamps.\n');
    expectLazySnippet(plan, source);
  });

  it('reads a nested source path with optional chaining', () => {
    const plan = planned(
      onR2('dropped-field', { field: 'return_policy', sourcePath: 'policies.returns' }),
    );

    expect(lineChanges(r2, plan.expected).added).toEqual([
      '    return_policy: item.policies?.returns,',
    ]);
  });

  it('follows a literal without a trailing comma: the previous last line gains one', () => {
    const source = r2.replace('    stock: item.stock,\n', '    stock: item.stock\n');
    const plan = planned(onR2('dropped-field', { field: 'return_policy' }));
    const noComma = planned({ ...onR2('dropped-field', { field: 'return_policy' }), source });

    expect(plan.expected).toContain('return_policy: item.return_policy,\n');
    expect(lineChanges(source, noComma.expected)).toEqual({
      added: ['    stock: item.stock,', '    return_policy: item.return_policy'],
      removed: ['    stock: item.stock'],
    });
    expectLazySnippet(noComma, source);
  });

  it('keeps CRLF line endings and every other byte', () => {
    const source = r2.replaceAll('\n', '\r\n');
    const plan = planned({ ...onR2('dropped-field', { field: 'return_policy' }), source });

    expect(plan.expected.replace('    return_policy: item.return_policy,\r\n', '')).toBe(source);
    expect(plan.snippet.split('\r\n').at(-1)).toBe('');
    expect(plan.snippet.replaceAll('\r\n', '')).not.toContain('\n');
    expectLazySnippet(plan, source);
  });

  it('adds after the spreads, which would otherwise override the property', () => {
    const source = fixture('spread.ts');
    const plan = planned({
      fault_class: 'dropped-field',
      source,
      fileName: 'spread.ts',
      exportName: 'copyEverything',
      fields: { field: 'sku' },
    });

    expect(plan.expected).toContain(
      '    ...item.extra,\n    sku: item.sku,\n    synced_at: syncedAt,',
    );
    expect(lineChanges(source, plan.expected).removed).toEqual([]);
  });

  it('refuses when the field is written, or the literal is not one property per line', () => {
    const present = planPatch({ ...onR2('dropped-field', { field: 'sku' }) });
    const singleLine = planPatch({
      fault_class: 'dropped-field',
      source: fixture('single-line.ts'),
      fileName: 'single-line.ts',
      exportName: 'toRecord',
      fields: { field: 'price' },
    });
    const destructured = planPatch({
      ...onR2('dropped-field', { field: 'return_policy' }),
      source:
        'export function toProductRecord({ sku }: { sku: string }) {\n  return {\n    sku,\n  };\n}\n',
    });

    expect(present).toMatchObject({ ok: false, reason: 'field-present' });
    expect(singleLine).toMatchObject({ ok: false, reason: 'unsupported-shape' });
    expect(destructured).toMatchObject({ ok: false, reason: 'unsupported-shape' });
  });
});

describe('Stage: patch — renamed-field and moved-field templates', () => {
  it('makes a renamed field read the new name with a fallback to the old one', () => {
    const plan = planned(onR2('renamed-field', { field: 'title', sourcePath: 'name' }));

    expect(lineChanges(r2, plan.expected)).toEqual({
      added: ['    title: item.name ?? item.title,'],
      removed: ['    title: item.title,'],
    });
    expect(plan.edit).toEqual({ file: R2_FILE, added: 1, removed: 1 });
    expectLazySnippet(plan, r2);
  });

  it('rewrites only the read inside a computed value, with parentheses where needed', () => {
    const record = planned({
      fault_class: 'renamed-field',
      source: fixture('const-record.ts'),
      fileName: 'const-record.ts',
      exportName: 'toRecord',
      fields: { field: 'title', sourcePath: 'name' },
    });
    const listing = planned({
      fault_class: 'renamed-field',
      source: fixture('nested-reads.ts'),
      fileName: 'nested-reads.ts',
      exportName: 'toListing',
      fields: { field: 'sku', sourcePath: 'id' },
    });

    expect(lineChanges(fixture('const-record.ts'), record.expected).added).toEqual([
      '    title: String(item.name ?? item.title),',
    ]);
    expect(lineChanges(fixture('nested-reads.ts'), listing.expected).added).toEqual([
      '    sku: (item.id ?? item.sku).trim(),',
    ]);
  });

  it('makes a moved field read the new nested path, falling back to the old one', async () => {
    const plan = planned(onR2('moved-field', { field: 'price', sourcePath: 'pricing.amount' }));

    expect(lineChanges(r2, plan.expected)).toEqual({
      added: ['    price: item.pricing?.amount ?? item.price,'],
      removed: ['    price: item.price,'],
    });
    expectLazySnippet(plan, r2);

    const mapper = await loadMapper(plan.expected, R2_FILE, 'toProductRecord');
    const { price: _moved, ...rest } = structuredClone(feedItem);
    expect(mapper({ ...rest, pricing: { amount: 9 } }, SYNCED_AT).price).toBe(9);
    expect(mapper(structuredClone(feedItem), SYNCED_AT).price).toBe(12.5);
  });

  it('refuses without a new path, for a field not written, and when it already reads the path', () => {
    const twice = planned(onR2('renamed-field', { field: 'title', sourcePath: 'name' }));

    expect(planPatch(onR2('renamed-field', { field: 'title' }))).toMatchObject({
      ok: false,
      reason: 'invalid-input',
    });
    expect(
      planPatch(onR2('renamed-field', { field: 'return_policy', sourcePath: 'policy' })),
    ).toMatchObject({ ok: false, reason: 'field-not-found' });
    expect(
      planPatch({
        ...onR2('renamed-field', { field: 'title', sourcePath: 'name' }),
        source: twice.expected,
      }),
    ).toMatchObject({ ok: false, reason: 'no-change' });
  });
});

describe('Stage: patch — type-drift template', () => {
  it('coerces at the mapping with a local helper that rejects garbage instead of storing NaN', async () => {
    const plan = planned(onR2('type-drift', { field: 'price', expectedType: 'number' }));
    const { added, removed } = lineChanges(r2, plan.expected);

    expect(removed).toEqual(['    price: item.price,']);
    expect(added).toContain("    price: toFiniteNumber(item.price, 'price'),");
    // The helper sits right after the imports; nothing else changes.
    const helper = added.filter((line) => !line.includes('price: toFiniteNumber(item.price'));
    expect(helper[0]).toMatch(/^\/\*\*/);
    expect(helper).toContain('function toFiniteNumber(value: unknown, field: string): number {');
    expect(plan.expected.indexOf('function toFiniteNumber')).toBeGreaterThan(
      plan.expected.indexOf("from './contract.js';"),
    );
    expect(plan.expected).toContain('} as ProductRecord;');
    expectLazySnippet(plan, r2);

    const mapper = await loadMapper(plan.expected, R2_FILE, 'toProductRecord');
    expect(mapper({ ...structuredClone(feedItem), price: '12.50' }, SYNCED_AT).price).toBe(12.5);
    expect(mapper(structuredClone(feedItem), SYNCED_AT).price).toBe(12.5);
    expect(() => mapper({ ...feedItem, price: 'abc' }, SYNCED_AT)).toThrow(
      'price: expected a finite number, got "abc"',
    );
    expect(() => mapper({ ...feedItem, price: Number.NaN }, SYNCED_AT)).toThrow(/price/);
    expect(() => mapper({ ...feedItem, price: '' }, SYNCED_AT)).toThrow(/price/);
  });

  it('has integer and string variants', async () => {
    const integer = planned(onR2('type-drift', { field: 'stock', expectedType: 'integer' }));
    const text = planned(onR2('type-drift', { field: 'title', expectedType: 'string' }));

    expect(lineChanges(r2, integer.expected).added).toContain(
      "    stock: toSafeInteger(item.stock, 'stock'),",
    );
    const toStock = await loadMapper(integer.expected, R2_FILE, 'toProductRecord');
    expect(toStock({ ...feedItem, stock: '40' }, SYNCED_AT).stock).toBe(40);
    expect(() => toStock({ ...feedItem, stock: '4.5' }, SYNCED_AT)).toThrow(
      'stock: expected an integer, got "4.5"',
    );

    const toTitle = await loadMapper(text.expected, R2_FILE, 'toProductRecord');
    expect(toTitle({ ...feedItem, title: 1001 }, SYNCED_AT).title).toBe('1001');
    expect(() => toTitle({ ...feedItem, title: { en: 'Tote' } }, SYNCED_AT)).toThrow(/title/);
  });

  it('writes JavaScript in the file’s own style when the mapper is JavaScript without imports', async () => {
    const source = fixture('plain.js');
    const plan = planned({
      fault_class: 'type-drift',
      source,
      fileName: 'plain.js',
      exportName: 'toRow',
      fields: { field: 'active', expectedType: 'boolean' },
    });
    const { added, removed } = lineChanges(source, plan.expected);

    expect(removed).toEqual(['        active: item.active,']);
    expect(added).toContain('        active: toBooleanValue(item.active, "active"),');
    expect(added).toContain('function toBooleanValue(value, field) {');
    expect(added).toContain('    if (typeof value === "boolean") return value;');
    // Above the mapper and its comment, which stays attached to it; nothing precedes the helper,
    // so the snippet starts with it rather than with a marker.
    expect(plan.expected).toMatch(/^\/\*\*.*\nfunction toBooleanValue\(value, field\) \{\n/);
    expect(plan.expected).toContain('}\n\n// A JavaScript mapper');
    expect(plan.snippet.split('\n')[0]).toBe(plan.expected.split('\n')[0]);
    expectLazySnippet(plan, source);

    const mapper = await loadMapper(plan.expected, 'plain.js', 'toRow');
    expect(mapper({ active: 'true' }, SYNCED_AT).active).toBe(true);
    expect(mapper({ active: 0 }, SYNCED_AT).active).toBe(false);
    expect(() => mapper({ active: 'yes' }, SYNCED_AT)).toThrow('active: expected a boolean');
  });

  it('declares a helper once per file and refuses what is already coerced', () => {
    const price = planned(onR2('type-drift', { field: 'price', expectedType: 'number' }));
    const stock = planned({
      ...onR2('type-drift', { field: 'stock', expectedType: 'number' }),
      source: price.expected,
    });

    expect(stock.expected.match(/function toFiniteNumber/g)).toHaveLength(1);
    expect(lineChanges(price.expected, stock.expected)).toEqual({
      added: ["    stock: toFiniteNumber(item.stock, 'stock'),"],
      removed: ['    stock: item.stock,'],
    });
    expect(
      planPatch({
        ...onR2('type-drift', { field: 'price', expectedType: 'number' }),
        source: price.expected,
      }),
    ).toMatchObject({ ok: false, reason: 'no-change' });
    expect(planPatch(onR2('type-drift', { field: 'price' }))).toMatchObject({
      ok: false,
      reason: 'invalid-input',
    });
  });

  it('leaves a file that still compiles under the project settings', () => {
    const plan = planned(onR2('type-drift', { field: 'price', expectedType: 'number' }));
    const { diagnostics } = ts.transpileModule(plan.expected, {
      fileName: R2_FILE,
      reportDiagnostics: true,
      compilerOptions: { module: ts.ModuleKind.NodeNext, strict: true },
    });

    expect(diagnostics ?? []).toEqual([]);
    expect(
      analyzeMapper(plan.expected, { fileName: R2_FILE, exportName: 'toProductRecord' }),
    ).toMatchObject({ ok: true });
  });
});

describe('Stage: patch — enum-drift template', () => {
  it('needs a declared policy: without a mapping it refuses', () => {
    expect(planPatch(onR2('enum-drift', { field: 'category' }))).toMatchObject({
      ok: false,
      reason: 'needs-policy',
    });
    expect(planPatch(onR2('enum-drift', { field: 'category', enumMapping: {} }))).toMatchObject({
      ok: false,
      reason: 'needs-policy',
    });
  });

  it('maps declared values of a nested enum and passes every other value through', async () => {
    const plan = planned({
      fault_class: 'enum-drift',
      source: r1,
      fileName: R1_FILE,
      exportName: 'toProductRecord',
      fields: { field: 'return_policy.type', enumMapping: { 'final-sale': 'final_sale' } },
    });

    expect(lineChanges(r1, plan.expected).removed).toEqual([
      '    return_policy: item.return_policy,',
    ]);
    expect(lineChanges(r1, plan.expected).added).toContain(
      "    return_policy: mapEnumValue(item.return_policy, { 'final-sale': 'final_sale' }, ['type']),",
    );
    expectLazySnippet(plan, r1);

    const mapper = await loadMapper(plan.expected, R1_FILE, 'toProductRecord');
    const drifted = {
      ...structuredClone(feedItem),
      return_policy: { type: 'final-sale', window_days: 0 },
    };
    const record = mapper(drifted, SYNCED_AT);
    expect(record.return_policy).toEqual({ type: 'final_sale', window_days: 0 });
    expect(drifted.return_policy.type).toBe('final-sale');
    expect(validateRecord(record).ok).toBe(true);
    expect(mapper(structuredClone(feedItem), SYNCED_AT).return_policy).toEqual(
      feedItem.return_policy,
    );
  });

  it('maps a top-level enum field in place', () => {
    const plan = planned(
      onR2('enum-drift', { field: 'category', enumMapping: { sale: 'clearance' } }),
    );

    expect(lineChanges(r2, plan.expected).removed).toEqual(['    category: item.category,']);
    expect(lineChanges(r2, plan.expected).added).toContain(
      "    category: mapEnumValue(item.category, { sale: 'clearance' }),",
    );
  });
});

describe('Stage: patch — template selection', () => {
  it('has no template for other fault classes', () => {
    expect(planPatch(onR2('dependency-down', { field: 'price' }))).toEqual({
      ok: false,
      reason: 'no-template',
      message: 'no AST template for fault class dependency-down',
    });
    expect(planPatch(onR2('unknown', { field: 'price' }))).toMatchObject({ reason: 'no-template' });
  });

  it('passes on why the mapper could not be read', () => {
    expect(
      planPatch({ ...onR2('dropped-field', { field: 'title' }), source: fixture('broken.ts') }),
    ).toMatchObject({ ok: false, reason: 'parse-error' });
    expect(
      planPatch({ ...onR2('dropped-field', { field: 'title' }), exportName: 'toRecord' }),
    ).toMatchObject({ ok: false, reason: 'export-not-found' });
  });
});
