import { describe, expect, it } from 'vitest';
import type { ApplyRequest } from '../functions/patch/applier.js';
import { LocalApplier, mergeLazyEdit } from '../functions/patch/appliers/local-applier.js';
import { isWeakLine } from '../functions/patch/appliers/local-lines.js';
import { isLazyMarker, looksLikeLazyMarker } from '../functions/patch/appliers/local-markers.js';

const MARK = '// ... existing code ...';
const text = (...lines: string[]) => `${lines.join('\n')}\n`;

/** A mapper the way the shop's catalog code writes them: one field per line. */
const MAPPER = text(
  "import type { CatalogItem, ProductRow } from './types.js';",
  '',
  'export function toProductRow(item: CatalogItem): ProductRow {',
  '  return {',
  '    sku: item.sku,',
  '    title: item.title,',
  '    price: item.price,',
  '    currency: item.currency,',
  '    category: item.category,',
  '    stock: item.stock,',
  '    updated_at: item.updated_at,',
  '  };',
  '}',
  '',
  'export function toCatalogItem(row: ProductRow): CatalogItem {',
  '  return {',
  '    sku: row.sku,',
  '    title: row.title,',
  '    price: row.price,',
  '  };',
  '}',
);

const merged = (original: string, snippet: string) => {
  const result = mergeLazyEdit(original, snippet);
  if (!result.ok) throw new Error(`refused (${result.reason}): ${result.message}`);
  return result.merged;
};

describe('Local applier: marker grammar', () => {
  it.each([
    '// ... existing code ...',
    '    // ... existing code ...',
    '// ...existing code...',
    '// … existing code …',
    '// ... rest of code ...',
    '// ... rest of the file ...',
    '// ... existing code here ...',
    '// ... existing code',
    '# ... existing code ...',
    '  # ... other methods ...',
    '-- ... existing code ...',
    '/* ... existing code ... */',
    '<!-- ... existing code ... -->',
    '{/* ... existing code ... */}',
    '// ... EXISTING CODE ...',
    '\t// ... unchanged code ...\t',
  ])('splits on %j', (line) => {
    expect(isLazyMarker(line)).toBe(true);
  });

  it.each([
    '// ...',
    '...',
    '// existing code',
    '// ... existing stuff ...',
    'foo(); // ... existing code ...',
    '// ... existing code ... and more',
    '/* ... existing code ...',
    '// .. existing code ..',
    'const rest = [...existing, code];',
  ])('does not split on %j', (line) => {
    expect(isLazyMarker(line)).toBe(false);
  });

  it('flags marker-like text that the grammar leaves alone', () => {
    expect(looksLikeLazyMarker('// ...')).toBe(true);
    expect(looksLikeLazyMarker('# … keep the rest')).toBe(true);
    expect(looksLikeLazyMarker('foo(); // ... existing code ...')).toBe(true);
    expect(looksLikeLazyMarker('  <!-- ... -->')).toBe(true);
    expect(looksLikeLazyMarker('const all = [...items, extra];')).toBe(false);
    expect(looksLikeLazyMarker('// call with ...args')).toBe(false);
  });
});

describe('Local applier: weak lines', () => {
  it.each([
    '',
    '   ',
    '}',
    '  });',
    '],',
    ')',
    '} else {',
    'else:',
    'return;',
    'break;',
    '  return null;',
    '</div>',
    '42,',
    '*/',
  ])('does not anchor on %j', (line) => {
    expect(isWeakLine(line)).toBe(true);
  });

  it.each([
    '    stock: item.stock,',
    'return total;',
    'def reorder(self):',
    '</ProductCard>x',
    '} catch (error) {',
  ])('may anchor on %j', (line) => {
    expect(isWeakLine(line)).toBe(false);
  });
});

describe('Local applier: merges', () => {
  it('adds return_policy between stock and updated_at in a mapper', () => {
    const snippet = text(
      MARK,
      '    stock: item.stock,',
      '    return_policy: item.return_policy,',
      '    updated_at: item.updated_at,',
      MARK,
    );

    expect(merged(MAPPER, snippet)).toBe(
      MAPPER.replace(
        '    updated_at: item.updated_at,\n',
        '    return_policy: item.return_policy,\n    updated_at: item.updated_at,\n',
      ),
    );
  });

  it('edits the head of the file when the snippet has no leading marker', () => {
    const snippet = text(
      "import { z } from 'zod';",
      "import type { CatalogItem, ProductRow } from './types.js';",
      MARK,
    );

    expect(merged(MAPPER, snippet)).toBe(`import { z } from 'zod';\n${MAPPER}`);
  });

  it('edits the tail of the file when the snippet has no trailing marker', () => {
    const snippet = text(
      MARK,
      '    price: row.price,',
      '    stock: 0,',
      '  };',
      '}',
      '',
      'export const VERSION = 2;',
    );

    expect(merged(MAPPER, snippet)).toBe(
      `${MAPPER.replace('    price: row.price,\n', '    price: row.price,\n    stock: 0,\n')}\nexport const VERSION = 2;\n`,
    );
  });

  it('keeps the head and tail when a snippet without markers edits the middle', () => {
    const snippet = text(
      '    category: item.category,',
      '    brand: item.brand,',
      '    stock: item.stock,',
    );

    expect(merged(MAPPER, snippet)).toBe(
      MAPPER.replace('    stock: item.stock,', '    brand: item.brand,\n    stock: item.stock,'),
    );
  });

  it('applies two blocks separated by a marker', () => {
    const snippet = text(
      MARK,
      '    sku: item.sku,',
      '    title: item.title.trim(),',
      '    price: item.price,',
      MARK,
      '    sku: row.sku,',
      '    title: row.title,',
      '    price: row.price,',
      '    stock: 0,',
      '  };',
      MARK,
    );

    expect(merged(MAPPER, snippet)).toBe(
      MAPPER.replace('    title: item.title,', '    title: item.title.trim(),').replace(
        '    price: row.price,\n',
        '    price: row.price,\n    stock: 0,\n',
      ),
    );
  });

  it('replaces a line one-for-one', () => {
    const snippet = text(
      MARK,
      '    price: item.price,',
      '    currency: "EUR",',
      '    category: item.category,',
      MARK,
    );

    expect(merged(MAPPER, snippet)).toBe(
      MAPPER.replace('currency: item.currency', 'currency: "EUR"'),
    );
  });

  it('deletes a line shown between its neighbours when the caller allows a deletion', () => {
    const snippet = text(MARK, '    price: item.price,', '    category: item.category,', MARK);

    expect(mergeLazyEdit(MAPPER, snippet, { maxNetDeletions: 1 })).toEqual({
      ok: true,
      merged: MAPPER.replace('    currency: item.currency,\n', ''),
    });
    expect(mergeLazyEdit(MAPPER, snippet)).toMatchObject({ ok: false, reason: 'excess-deletion' });
  });

  it('keeps a line the block moves within its span', () => {
    const snippet = text(
      MARK,
      '    sku: item.sku,',
      '    price: item.price,',
      '    title: item.title,',
      '    currency: item.currency,',
      MARK,
    );

    expect(merged(MAPPER, snippet)).toBe(
      MAPPER.replace(
        '    title: item.title,\n    price: item.price,',
        '    price: item.price,\n    title: item.title,',
      ),
    );
  });

  it('places weak context lines before the first anchor where they occur once', () => {
    const original = text(
      'function a() {',
      '  run();',
      '}',
      '',
      'function b() {',
      '  stop();',
      '}',
    );
    const snippet = text(
      MARK,
      '  run();',
      '}',
      '',
      'function between() {}',
      '',
      'function b() {',
      MARK,
    );

    expect(merged(original, snippet)).toBe(
      text(
        'function a() {',
        '  run();',
        '}',
        '',
        'function between() {}',
        '',
        'function b() {',
        '  stop();',
        '}',
      ),
    );
  });
});

describe('Local applier: refusals', () => {
  it('refuses a block whose only candidate anchors repeat in the file', () => {
    const snippet = text(MARK, '  return {', '    sku: item.sku,', '    gtin: item.gtin,', MARK);
    const original = MAPPER.replace('sku: row.sku', 'sku: item.sku');

    expect(mergeLazyEdit(original, snippet)).toMatchObject({
      ok: false,
      reason: 'ambiguous-anchor',
    });
  });

  it('refuses weak context that occurs more than once above the anchor', () => {
    const snippet = text(MARK, '  return {', '    id: row.id,', '    sku: row.sku,', MARK);

    expect(mergeLazyEdit(MAPPER, snippet)).toMatchInlineSnapshot(`
      {
        "message": "block 1 (snippet line 2): the 2 line(s) before its first anchor (line 17 of the original) start with "return {", which occurs 2 times above it (lines 4, 16)",
        "ok": false,
        "reason": "ambiguous-anchor",
      }
    `);
  });

  it('places the same weak context when it occurs once above the anchor', () => {
    const snippet = text(MARK, '  return {', '    id: item.id,', '    sku: item.sku,', MARK);

    expect(merged(MAPPER, snippet)).toBe(
      MAPPER.replace('    sku: item.sku,', '    id: item.id,\n    sku: item.sku,'),
    );
  });

  it('refuses blocks that anchor out of order', () => {
    const snippet = text(
      MARK,
      '    sku: row.sku,',
      '    ean: row.ean,',
      MARK,
      '    sku: item.sku,',
      '    ean: item.ean,',
      MARK,
    );

    expect(mergeLazyEdit(MAPPER, snippet)).toMatchInlineSnapshot(`
      {
        "message": "block 2 (snippet line 5) anchors on line 5 of the original, at or before line 17 where block 1 (snippet line 2) ends: blocks must follow the file's order",
        "ok": false,
        "reason": "out-of-order",
      }
    `);
  });

  it('refuses a block whose anchors are not in file order', () => {
    const snippet = text(
      MARK,
      '    stock: item.stock,',
      '    gtin: item.gtin,',
      '    title: item.title,',
      MARK,
    );

    expect(mergeLazyEdit(MAPPER, snippet)).toMatchObject({ ok: false, reason: 'out-of-order' });
  });

  it('refuses uneven indentation between the anchors', () => {
    const snippet = text(
      MARK,
      '  stock: item.stock,',
      '  return_policy: item.return_policy,',
      '    updated_at: item.updated_at,',
      MARK,
    );

    expect(mergeLazyEdit(MAPPER, snippet)).toMatchInlineSnapshot(`
      {
        "message": "block 1 (snippet line 2): "updated_at: item.updated_at," is indented as in the original but "stock: item.stock," is indented "  " less than the original; the snippet must keep one indentation throughout",
        "ok": false,
        "reason": "uneven-indentation",
      }
    `);
  });

  it('refuses a new line that cannot take the dedent the anchors imply', () => {
    const snippet = text(
      MARK,
      '      stock: item.stock,',
      'return_policy: item.return_policy,',
      '      updated_at: item.updated_at,',
      MARK,
    );

    expect(mergeLazyEdit(MAPPER, snippet)).toMatchObject({
      ok: false,
      reason: 'uneven-indentation',
    });
  });

  it('refuses a snippet that forgot a marker and so drops a chunk of the file', () => {
    const snippet = text(
      MARK,
      '    sku: item.sku,',
      '    brand: item.brand,',
      '    updated_at: item.updated_at,',
      MARK,
    );

    expect(mergeLazyEdit(MAPPER, snippet)).toMatchInlineSnapshot(`
      {
        "message": "the merge would delete 4 original line(s) that no snippet line replaces (allowed: 0), starting with "price: item.price,", "currency: item.currency,", "category: item.category,"; show every kept line or put a marker where code is left out",
        "ok": false,
        "reason": "excess-deletion",
      }
    `);
  });

  it('refuses a marker the grammar does not know, rather than writing it into the file', () => {
    const snippet = text(
      MARK,
      '    stock: item.stock,',
      '    return_policy: item.return_policy,',
      '    // ... same as before',
      '    updated_at: item.updated_at,',
      MARK,
    );

    expect(mergeLazyEdit(MAPPER, snippet)).toMatchObject({ ok: false, reason: 'marker-in-output' });
  });

  it('refuses a snippet of weak lines only', () => {
    const snippet = text(MARK, '  };', '}', '', MARK);

    expect(mergeLazyEdit(MAPPER, snippet)).toMatchObject({ ok: false, reason: 'no-anchor' });
  });

  it('refuses a snippet with nothing but markers', () => {
    expect(mergeLazyEdit(MAPPER, text(MARK, '', MARK))).toMatchObject({
      ok: false,
      reason: 'empty-snippet',
    });
    expect(mergeLazyEdit(MAPPER, '')).toMatchObject({ ok: false, reason: 'empty-snippet' });
  });

  it('reports a snippet that changes nothing as identical', () => {
    const snippet = text(MARK, '    stock: item.stock,', '    updated_at: item.updated_at,', MARK);

    expect(mergeLazyEdit(MAPPER, snippet)).toMatchObject({ ok: false, reason: 'identical' });
  });

  it('refuses a block that opens on a changed line: inserted or replacing the line above?', () => {
    const snippet = text(
      MARK,
      '    price: item.price * 100,',
      '    currency: item.currency,',
      MARK,
    );

    expect(mergeLazyEdit(MAPPER, snippet)).toMatchInlineSnapshot(`
      {
        "message": "block 1 (snippet line 2): the 1 line(s) before its first anchor (line 8 of the original) start with "price: item.price * 100,", which is not in the original above it: whether it is inserted or replaces the line(s) above cannot be told; start the block on a context line",
        "ok": false,
        "reason": "ambiguous-anchor",
      }
    `);
  });

  it('refuses lines before the first anchor that a snippet without leading marker leaves unplaced', () => {
    const snippet = text(
      "import { z } from 'zod';",
      '',
      'export function toProductRow(item: CatalogItem): ProductRow {',
      MARK,
    );

    expect(mergeLazyEdit(MAPPER, snippet)).toMatchObject({ ok: false, reason: 'ambiguous-anchor' });
  });

  it('refuses a blank line after a marker that could stand for a deletion above the anchor', () => {
    const original = text('a = 1', '', 'b = 2', 'c = 3', 'd = 4');
    const snippet = text('# ... existing code ...', '', 'c = 3', 'c2 = 3.5', 'd = 4');

    expect(mergeLazyEdit(original, snippet)).toMatchObject({
      ok: false,
      reason: 'ambiguous-anchor',
    });
  });
});

describe('Local applier: real-world snippet shapes', () => {
  it('merges a Python method with # markers and a dedented snippet', () => {
    const original = text(
      'class Inventory:',
      '    def __init__(self, items):',
      '        self.items = items',
      '',
      '    def total(self):',
      '        return sum(i.stock for i in self.items)',
      '',
      '    def names(self):',
      '        return [i.name for i in self.items]',
    );
    const snippet = text(
      '# ... existing code ...',
      'def total(self):',
      '    return sum(i.stock for i in self.items if i.active)',
      '',
      'def names(self):',
      '# ... existing code ...',
    );

    expect(merged(original, snippet)).toBe(
      original.replace('for i in self.items)', 'for i in self.items if i.active)'),
    );
  });

  it('merges a YAML file with # markers', () => {
    const original = text(
      'service: shop',
      'env:',
      '  LOG_LEVEL: info',
      '  REGION: eu-west-1',
      'timeout: 30',
    );
    const snippet = text(
      '# ... existing code ...',
      'env:',
      '  LOG_LEVEL: debug',
      '  REGION: eu-west-1',
      '  FEATURE_RETURNS: "on"',
      'timeout: 30',
      '# ... existing code ...',
    );

    expect(merged(original, snippet)).toBe(
      text(
        'service: shop',
        'env:',
        '  LOG_LEVEL: debug',
        '  REGION: eu-west-1',
        '  FEATURE_RETURNS: "on"',
        'timeout: 30',
      ),
    );
  });

  it('merges CSS with /* */ markers', () => {
    const original = text(
      '.card {',
      '  padding: 8px;',
      '  color: #333;',
      '}',
      '',
      '.price {',
      '  font-weight: 600;',
      '}',
    );
    const snippet = text(
      '/* ... existing code ... */',
      '.price {',
      '  font-weight: 700;',
      '  color: #b00;',
      '}',
    );

    expect(merged(original, snippet)).toBe(
      original.replace('  font-weight: 600;', '  font-weight: 700;\n  color: #b00;'),
    );
  });

  it('keeps CRLF line endings, new lines included, whatever the snippet uses', () => {
    const crlf = MAPPER.replace(/\n/g, '\r\n');
    const snippet = text(
      MARK,
      '    stock: item.stock,',
      '    return_policy: item.return_policy,',
      '    updated_at: item.updated_at,',
      MARK,
    );

    const result = merged(crlf, snippet.replace(/\n/g, '\r\n'));

    expect(result).toBe(
      crlf.replace('    updated_at:', '    return_policy: item.return_policy,\r\n    updated_at:'),
    );
    expect(result.match(/(?<!\r)\n/g)).toBeNull();
    expect(merged(crlf, snippet)).toBe(result);
  });

  it('keeps a missing final newline and each line its own ending in a mixed file', () => {
    const original = 'a = 1\r\nb = 2\nc = 3\r\nd = 4';
    const snippet = text(
      '# ... existing code ...',
      'b = 2',
      'b2 = 2.5',
      'c = 3',
      '# ... existing code ...',
    );

    expect(merged(original, snippet)).toBe('a = 1\r\nb = 2\nb2 = 2.5\r\nc = 3\r\nd = 4');
    expect(merged(original, text('# ... existing code ...', 'd = 4', 'e = 5'))).toBe(
      'a = 1\r\nb = 2\nc = 3\r\nd = 4\r\ne = 5',
    );
  });

  it('accepts a snippet indented uniformly deeper than the file', () => {
    const snippet = text(
      '    // ... existing code ...',
      '        stock: item.stock,',
      '        return_policy: item.return_policy,',
      '        updated_at: item.updated_at,',
      '    // ... existing code ...',
    );

    expect(merged(MAPPER, snippet)).toBe(
      MAPPER.replace(
        '    updated_at: item.updated_at,',
        '    return_policy: item.return_policy,\n    updated_at: item.updated_at,',
      ),
    );
  });

  it('accepts a tab-indented file edited with a dedented snippet', () => {
    const original = text(
      'func main() {',
      '\tfmt.Println("a")',
      '\tif ok {',
      '\t\trun()',
      '\t}',
      '}',
    );
    const snippet = text(
      '// ... existing code ...',
      'if ok {',
      '\trun()',
      '\tlog.Print("ran")',
      '}',
      '// ... existing code ...',
    );

    expect(merged(original, snippet)).toBe(
      original.replace('\t\trun()\n', '\t\trun()\n\t\tlog.Print("ran")\n'),
    );
  });

  it('ignores blank lines next to markers that stand for the blank lines of the file', () => {
    const snippet = text(
      MARK,
      '',
      'export function toCatalogItem(row: ProductRow): CatalogItem {',
      '  return {',
      '    id: row.id,',
      '    sku: row.sku,',
      '',
      MARK,
    );

    expect(merged(MAPPER, snippet)).toBe(
      MAPPER.replace('    sku: row.sku,', '    id: row.id,\n    sku: row.sku,'),
    );
  });
});

describe('Local applier: the Applier port', () => {
  const request = (snippet: string): ApplyRequest => ({
    instruction: 'Map return_policy into the product row.',
    original: MAPPER,
    snippet,
    path: 'shop/src/catalog/mapper.ts',
  });

  it('returns the merged file as the local applier, with a measured duration', async () => {
    const snippet = text(
      MARK,
      '    stock: item.stock,',
      '    return_policy: item.return_policy,',
      '    updated_at: item.updated_at,',
      MARK,
    );

    const result = await new LocalApplier().apply(request(snippet));

    expect(result).toEqual({
      ok: true,
      applier: 'local',
      merged: merged(MAPPER, snippet),
      duration_ms: expect.any(Number),
    });
    expect(result.duration_ms).toBeGreaterThanOrEqual(0);
  });

  it('returns a refusal with the reason code and the path in the message', async () => {
    const applier = new LocalApplier();

    const result = await applier.apply(request(text(MARK, '}', MARK)));

    expect(applier.name).toBe('local');
    expect(result).toMatchObject({ ok: false, applier: 'local', reason: 'no-anchor' });
    expect(!result.ok && result.message).toMatch(/^shop\/src\/catalog\/mapper\.ts: block 1/);
  });

  it('passes its deletion budget to the merge', async () => {
    const snippet = text(MARK, '    price: item.price,', '    category: item.category,', MARK);

    const strict = await new LocalApplier().apply(request(snippet));
    const lenient = await new LocalApplier({ maxNetDeletions: 1 }).apply(request(snippet));

    expect(strict).toMatchObject({ ok: false, reason: 'excess-deletion' });
    expect(lenient).toMatchObject({
      ok: true,
      merged: MAPPER.replace('    currency: item.currency,\n', ''),
    });
  });
});
