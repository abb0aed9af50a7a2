import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { diffLines } from 'diff';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalApplier } from '../functions/patch/appliers/local-applier.js';
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

/** A mapper with a literal-union field, checked as if it sat next to the shop's contract. */
const POLICY_ROW_FILE = 'functions/shop/policy-row.ts';
const POLICY_ROW = [
  "import type { CatalogItem, ReturnPolicyType } from './catalog.js';",
  '',
  'export function toPolicyRow(',
  '  item: CatalogItem,',
  '  syncedAt: string,',
  '): { sku: string; policy: ReturnPolicyType; synced_at: string } {',
  '  return {',
  '    sku: item.sku,',
  '    policy: item.return_policy.type,',
  '    synced_at: syncedAt,',
  '  };',
  '}',
  '',
].join('\n');

type Planned = Extract<PlanPatchResult, { ok: true }>;

function onR1(
  fault_class: PlanPatchInput['fault_class'],
  fields: PlanPatchInput['fields'],
): PlanPatchInput {
  return { fault_class, source: r1, fileName: R1_FILE, exportName: 'toProductRecord', fields };
}

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

  it('reads a nested source path as its types allow, and refuses a value of unknown type', () => {
    const nested = { field: 'return_policy', sourcePath: 'policies.returns' };
    const declared = r2.replace(
      'item: CatalogItem,',
      "item: CatalogItem & { policies: { returns: ProductRecord['return_policy'] } },",
    );
    const untyped = r2.replace('item: CatalogItem,', 'item: any,');

    expect(
      lineChanges(
        declared,
        planned({ ...onR2('dropped-field', nested), source: declared }).expected,
      ).added,
    ).toEqual(['    return_policy: item.policies.returns,']);
    // No type known: optional chaining, as the template always wrote it.
    expect(
      lineChanges(untyped, planned({ ...onR2('dropped-field', nested), source: untyped }).expected)
        .added,
    ).toEqual(['    return_policy: item.policies?.returns,']);
    // `policies` is an undeclared extra key of the loose item (`unknown`): with no old source to
    // fall back to, nothing turns it into a ReturnPolicy that type-checks.
    expect(planPatch(onR2('dropped-field', nested))).toMatchObject({
      ok: false,
      reason: 'unsupported-shape',
      message: expect.stringContaining('unknown'),
    });
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
  it('makes a renamed field read the new name when it is a string, with a fallback to the old one', async () => {
    const plan = planned(onR2('renamed-field', { field: 'title', sourcePath: 'name' }));

    // `name` is an extra key of the loose CatalogItem, so `unknown`: narrowed to the record's
    // `string` by a helper declared after the imports.
    expect(lineChanges(r2, plan.expected)).toEqual({
      added: [
        '/** The feed value when it is a string, else the fallback (where the field was read before). */',
        'function pickString<T>(value: unknown, fallback: T): string | T {',
        "  return typeof value === 'string' ? value : fallback;",
        '}',
        '',
        '    title: pickString(item.name, item.title),',
      ],
      removed: ['    title: item.title,'],
    });
    expect(plan.expected.indexOf('function pickString')).toBeGreaterThan(
      plan.expected.indexOf("from './contract.js';"),
    );
    expect(plan.edit).toEqual({ file: R2_FILE, added: 6, removed: 1 });
    expect(plan.instruction).toContain('pickString()');
    expectLazySnippet(plan, r2);

    const mapper = await loadMapper(plan.expected, R2_FILE, 'toProductRecord');
    const { title, ...rest } = structuredClone(feedItem);
    expect(mapper({ ...rest, name: title }, SYNCED_AT).title).toBe('Canvas tote');
    expect(mapper(structuredClone(feedItem), SYNCED_AT).title).toBe('Canvas tote');
    expect(mapper({ ...feedItem, name: 42 }, SYNCED_AT).title).toBe('Canvas tote');
  });

  it('keeps `new ?? old` where the new path is declared with the right type', () => {
    const source = r2.replace('item: CatalogItem,', 'item: CatalogItem & { name?: string },');
    const plan = planned({
      ...onR2('renamed-field', { field: 'title', sourcePath: 'name' }),
      source,
    });

    expect(lineChanges(source, plan.expected)).toEqual({
      added: ['    title: item.name ?? item.title,'],
      removed: ['    title: item.title,'],
    });
  });

  it('declares a narrowing helper once per file', () => {
    const title = planned(onR2('renamed-field', { field: 'title', sourcePath: 'name' }));
    const sku = planned({
      ...onR2('renamed-field', { field: 'sku', sourcePath: 'id' }),
      source: title.expected,
    });

    expect(sku.expected.match(/function pickString/g)).toHaveLength(1);
    expect(lineChanges(title.expected, sku.expected)).toEqual({
      added: ['    sku: pickString(item.id, item.sku),'],
      removed: ['    sku: item.sku,'],
    });
  });

  it('rewrites only the read inside a computed value, with parentheses where needed', () => {
    const closed = fixture('const-record.ts');
    // An item type that allows extra keys: `name` is `unknown`, narrowed to what `title` was.
    const open = closed.replace(
      'item: { sku: string; title: string }',
      'item: { sku: string; title: string; [key: string]: unknown }',
    );
    const renameTitle = {
      fault_class: 'renamed-field',
      fileName: 'const-record.ts',
      exportName: 'toRecord',
      fields: { field: 'title', sourcePath: 'name' },
    } as const;
    const record = planned({ ...renameTitle, source: open });
    const listing = planned({
      fault_class: 'renamed-field',
      source: fixture('nested-reads.ts'),
      fileName: 'nested-reads.ts',
      exportName: 'toListing',
      fields: { field: 'sku', sourcePath: 'id' },
    });

    expect(lineChanges(open, record.expected).added).toContain(
      '    title: String(pickString(item.name, item.title)),',
    );
    // `Feed` comes from an import that does not resolve: no type is known, the plain form stays.
    expect(lineChanges(fixture('nested-reads.ts'), listing.expected).added).toEqual([
      '    sku: (item.id ?? item.sku).trim(),',
    ]);
    // A closed item type has no `name` to read.
    expect(planPatch({ ...renameTitle, source: closed })).toMatchObject({
      ok: false,
      reason: 'unsupported-shape',
      message: expect.stringContaining('has no name'),
    });
  });

  it('makes a moved field read the new nested path, falling back to the old one', async () => {
    const plan = planned(onR2('moved-field', { field: 'price', sourcePath: 'pricing.amount' }));
    const { added, removed } = lineChanges(r2, plan.expected);

    expect(removed).toEqual(['    price: item.price,']);
    expect(added.filter((line) => line.startsWith('    '))).toEqual([
      '    price: pickNumber(isRecord(item.pricing) ? item.pricing.amount : undefined, item.price),',
    ]);
    expect(added).toContain('function pickNumber<T>(value: unknown, fallback: T): number | T {');
    expect(added).toContain(
      'function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {',
    );
    expect(plan.instruction).toContain('pickNumber() and isRecord()');
    expectLazySnippet(plan, r2);

    const mapper = await loadMapper(plan.expected, R2_FILE, 'toProductRecord');
    const { price: _moved, ...rest } = structuredClone(feedItem);
    expect(mapper({ ...rest, pricing: { amount: 9 } }, SYNCED_AT).price).toBe(9);
    expect(mapper(structuredClone(feedItem), SYNCED_AT).price).toBe(12.5);
    expect(mapper({ ...feedItem, pricing: 'free' }, SYNCED_AT).price).toBe(12.5);
    expect(mapper({ ...feedItem, pricing: { amount: '9' } }, SYNCED_AT).price).toBe(12.5);
  });

  it('narrows to a union of literals with pickOneOf', () => {
    const plan = planned({
      fault_class: 'renamed-field',
      source: POLICY_ROW,
      fileName: POLICY_ROW_FILE,
      exportName: 'toPolicyRow',
      fields: { field: 'policy', sourcePath: 'policy_type', oldSourcePath: 'return_policy.type' },
    });

    expect(lineChanges(POLICY_ROW, plan.expected).added).toContain(
      "    policy: pickOneOf(item.policy_type, ['extended', 'final_sale', 'standard'], item.return_policy.type),",
    );
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

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

/** The options the guard type-checks a patched file with. */
const CHECK_OPTIONS: ts.CompilerOptions = {
  strict: true,
  noUncheckedIndexedAccess: true,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  types: [],
  skipLibCheck: true,
  noEmit: true,
};

/** Parsed files from disk (lib, zod, the shop's modules), shared by every program below. */
const diskFiles = new Map<string, ts.SourceFile>();

/**
 * The diagnostics of `text` as the repository file `fileName`, under {@link CHECK_OPTIONS}: a
 * program whose host serves `text` for that file and reads every other file from disk.
 */
function typeErrors(fileName: string, text: string): string[] {
  const file = resolve(REPO_ROOT, fileName);
  const isChecked = (name: string) => resolve(REPO_ROOT, name) === file;
  const host = ts.createCompilerHost(CHECK_OPTIONS, true);
  const fromDisk = host.getSourceFile.bind(host);
  host.getSourceFile = (name, languageVersion, onError) => {
    if (isChecked(name)) return ts.createSourceFile(name, text, languageVersion, true);
    let parsed = diskFiles.get(name);
    if (parsed === undefined) {
      parsed = fromDisk(name, languageVersion, onError);
      if (parsed !== undefined) diskFiles.set(name, parsed);
    }
    return parsed;
  };
  host.readFile = (name) => (isChecked(name) ? text : ts.sys.readFile(name));
  host.fileExists = (name) => isChecked(name) || ts.sys.fileExists(name);

  const program = ts.createProgram([file], CHECK_OPTIONS, host);
  const sourceFile = program.getSourceFile(file);
  if (sourceFile === undefined) throw new Error(`${fileName} is not in the program`);
  return [
    ...program.getSyntacticDiagnostics(sourceFile),
    ...program.getSemanticDiagnostics(sourceFile),
  ].map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ');
    if (diagnostic.start === undefined) return message;
    const { line, character } = sourceFile.getLineAndCharacterOfPosition(diagnostic.start);
    return `${fileName}:${line + 1}:${character + 1}: ${message}`;
  });
}

/** What the guard refuses in added lines: markers that switch a checker off. */
const FLAGGED_MARKERS: readonly RegExp[] = [
  /\bas\s+any\b/,
  /\bas\s+unknown\s+as\b/,
  /@ts-ignore\b/,
  /@ts-expect-error\b/,
  /@ts-nocheck\b/,
  /biome-ignore/,
  /eslint-disable/,
];

/** One plan per fault class with a template, on the shop's real mappers and types. */
const TYPED_CASES: readonly (readonly [string, PlanPatchInput])[] = [
  ['dropped-field', { ...onR2('dropped-field', { field: 'return_policy' }), contractOrder }],
  ['renamed-field', onR1('renamed-field', { field: 'title', sourcePath: 'name' })],
  [
    'renamed-field (R2, `as ProductRecord`)',
    onR2('renamed-field', { field: 'title', sourcePath: 'name' }),
  ],
  [
    'renamed-field (to a literal union)',
    {
      fault_class: 'renamed-field',
      source: POLICY_ROW,
      fileName: POLICY_ROW_FILE,
      exportName: 'toPolicyRow',
      fields: { field: 'policy', sourcePath: 'policy_type', oldSourcePath: 'return_policy.type' },
    },
  ],
  ['moved-field', onR1('moved-field', { field: 'price', sourcePath: 'pricing.amount' })],
  ['moved-field (R2)', onR2('moved-field', { field: 'price', sourcePath: 'pricing.amount' })],
  ['type-drift (integer)', onR1('type-drift', { field: 'stock', expectedType: 'integer' })],
  ['type-drift (number)', onR2('type-drift', { field: 'price', expectedType: 'number' })],
  ['type-drift (string)', onR1('type-drift', { field: 'title', expectedType: 'string' })],
  [
    'type-drift (from a moved path)',
    onR1('type-drift', { field: 'price', expectedType: 'number', sourcePath: 'pricing.amount' }),
  ],
  [
    'enum-drift (nested)',
    onR1('enum-drift', {
      field: 'return_policy.type',
      enumMapping: { 'final-sale': 'final_sale' },
    }),
  ],
  [
    'enum-drift (top level)',
    onR2('enum-drift', { field: 'category', enumMapping: { sale: 'clearance' } }),
  ],
];

describe('Stage: patch — every template edit type-checks against the real types', () => {
  it('covers every fault class with a template, on mappers that type-check before the edit', () => {
    expect(new Set(TYPED_CASES.map(([, input]) => input.fault_class))).toEqual(
      new Set(['dropped-field', 'renamed-field', 'moved-field', 'type-drift', 'enum-drift']),
    );
    for (const input of new Map(TYPED_CASES.map(([, i]) => [i.fileName, i])).values()) {
      expect(typeErrors(input.fileName, input.source), input.fileName).toEqual([]);
    }
    // The check has teeth: the plain forms the templates used to write here do not type-check.
    const unknownTitle = r1.replace('title: item.title,', 'title: item.name ?? item.title,');
    const unknownPrice = r1.replace(
      'price: item.price,',
      'price: item.pricing?.amount ?? item.price,',
    );
    expect(typeErrors(R1_FILE, unknownTitle).join('\n')).toContain(
      "is not assignable to type 'string'",
    );
    expect(typeErrors(R1_FILE, unknownPrice).join('\n')).toContain(
      "Property 'amount' does not exist",
    );
  }, 30_000);

  it.each(TYPED_CASES)(
    '%s: no diagnostics, no flagged marker in an added line, merged as planned',
    async (_, input) => {
      const plan = planned(input);

      expect(typeErrors(input.fileName, plan.expected)).toEqual([]);
      const { added } = lineChanges(input.source, plan.expected);
      expect(added.length).toBeGreaterThan(0);
      for (const line of added) {
        for (const marker of FLAGGED_MARKERS) expect(line, `${marker}`).not.toMatch(marker);
      }
      // The patch stage only proposes a merge equal to the planned file.
      const merged = await new LocalApplier().apply({
        instruction: plan.instruction,
        original: input.source,
        snippet: plan.snippet,
        path: input.fileName,
      });
      expect(merged).toMatchObject({ ok: true, merged: plan.expected });
    },
    30_000,
  );

  it('refuses what it cannot write so that it type-checks, rather than guessing', () => {
    // ProductRecord has no boolean field: a value coerced to a boolean fits none.
    expect(
      planPatch(onR1('type-drift', { field: 'stock', expectedType: 'boolean' })),
    ).toMatchObject({ ok: false, reason: 'unsupported-shape' });
    // A re-read object field: no helper narrows `unknown` to a ReturnPolicy.
    expect(
      planPatch(onR1('renamed-field', { field: 'return_policy', sourcePath: 'policy' })),
    ).toMatchObject({ ok: false, reason: 'unsupported-shape' });
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
