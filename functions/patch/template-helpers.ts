// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are helper source code whose own template literals must stay literal text here
import type { FileStyle } from './template-text.js';

/**
 * Local helper functions the type-drift and enum-drift templates add to a mapper file. They are
 * written once here, in two-space TypeScript with single quotes, and adapted to the file's style
 * (indentation, quotes, line ending; types stripped for JavaScript). A value that cannot be
 * coerced throws a clear Error: a record that cannot be mapped must fail loudly, not store NaN.
 */

export type ExpectedType = 'number' | 'integer' | 'string' | 'boolean';

export type HelperName =
  | 'toFiniteNumber'
  | 'toSafeInteger'
  | 'toStringValue'
  | 'toBooleanValue'
  | 'mapEnumValue';

/** The coercion helper for each expected type. */
export const COERCION_HELPERS: Readonly<Record<ExpectedType, HelperName>> = {
  number: 'toFiniteNumber',
  integer: 'toSafeInteger',
  string: 'toStringValue',
  boolean: 'toBooleanValue',
};

/**
 * Lines of each helper. `⟨…⟩` holds TypeScript-only text (annotations), removed for JavaScript.
 * The describe-and-throw tail is the same everywhere, so every failure reads alike.
 */
const SOURCES: Readonly<Record<HelperName, readonly string[]>> = {
  toFiniteNumber: [
    '/** Coerces a feed value to a finite number; anything else fails the mapping loudly. */',
    'function toFiniteNumber(value⟨: unknown⟩, field⟨: string⟩)⟨: number⟩ {',
    "  if (typeof value === 'number' && Number.isFinite(value)) return value;",
    "  const text = typeof value === 'string' ? value.trim() : undefined;",
    '  if (text !== undefined && /^[+-]?(\\d+\\.?\\d*|\\.\\d+)(e[+-]?\\d+)?$/i.test(text)) {',
    '    return Number(text);',
    '  }',
    "  const got = typeof value === 'string' ? JSON.stringify(value) : String(value);",
    '  throw new Error(`${field}: expected a finite number, got ${got}`);',
    '}',
  ],
  toSafeInteger: [
    '/** Coerces a feed value to a safe integer; anything else fails the mapping loudly. */',
    'function toSafeInteger(value⟨: unknown⟩, field⟨: string⟩)⟨: number⟩ {',
    "  const text = typeof value === 'string' ? value.trim() : undefined;",
    '  const number = text !== undefined && /^[+-]?\\d+$/.test(text) ? Number(text) : value;',
    "  if (typeof number === 'number' && Number.isSafeInteger(number)) return number;",
    "  const got = typeof value === 'string' ? JSON.stringify(value) : String(value);",
    '  throw new Error(`${field}: expected an integer, got ${got}`);',
    '}',
  ],
  toStringValue: [
    '/** Coerces a scalar feed value to a string; objects, null and undefined fail loudly. */',
    'function toStringValue(value⟨: unknown⟩, field⟨: string⟩)⟨: string⟩ {',
    "  if (typeof value === 'string') return value;",
    "  if (typeof value === 'number' && Number.isFinite(value)) return String(value);",
    "  if (typeof value === 'boolean' || typeof value === 'bigint') return String(value);",
    '  throw new Error(`${field}: expected a string, got ${String(value)}`);',
    '}',
  ],
  toBooleanValue: [
    '/** Coerces a feed value (true/false, "true"/"false", 1/0) to a boolean; else fails loudly. */',
    'function toBooleanValue(value⟨: unknown⟩, field⟨: string⟩)⟨: boolean⟩ {',
    "  if (typeof value === 'boolean') return value;",
    "  const text = typeof value === 'string' ? value.trim().toLowerCase() : value;",
    "  if (text === 'true' || text === '1' || text === 1) return true;",
    "  if (text === 'false' || text === '0' || text === 0) return false;",
    "  const got = typeof value === 'string' ? JSON.stringify(value) : String(value);",
    '  throw new Error(`${field}: expected a boolean, got ${got}`);',
    '}',
  ],
  mapEnumValue: [
    '/** Maps declared upstream enum values (at `path` inside `value`) to the values the record uses. */',
    'function mapEnumValue⟨<T>⟩(',
    '  value⟨: T⟩,',
    '  mapping⟨: Readonly<Record<string, string>>⟩,',
    '  path⟨: readonly string[]⟩ = [],',
    ')⟨: T⟩ {',
    '  const [key, ...rest] = path;',
    '  if (key === undefined) {',
    "    if (typeof value !== 'string' || !Object.hasOwn(mapping, value)) return value;",
    '    return mapping[value]⟨ as T⟩;',
    '  }',
    "  if (typeof value !== 'object' || value === null) return value;",
    '  const inner = (value⟨ as Record<string, unknown>⟩)[key];',
    '  return { ...value, [key]: mapEnumValue(inner, mapping, rest) }⟨ as T⟩;',
    '}',
  ],
};

/** The helper's declaration, in the file's style, as lines without line breaks. */
export function helperLines(name: HelperName, style: FileStyle): string[] {
  return (SOURCES[name] ?? []).map((line) => {
    let text = style.typed
      ? line.replace(/[⟨⟩]/g, '')
      : line.replace(/⟨[^⟩]*⟩/g, '').replace('(value)[key]', 'value[key]');
    text = text.replace(/^((?: {2})+)/, (indent) => style.indentUnit.repeat(indent.length / 2));
    if (style.quote === '"') text = swapQuotes(text);
    return text;
  });
}

/** Single-quoted string literals to double-quoted ones (the helpers hold no other quotes). */
function swapQuotes(line: string): string {
  if (line.trimStart().startsWith('/**')) return line;
  return line.replace(/'([^'"\\]*)'/g, '"$1"');
}
