import { z } from 'zod';
import { type CatalogItem, CatalogItemSchema } from '../../events/catalog.js';
import { IsoDateTime } from '../../events/envelope.js';
import {
  type BodyIssue,
  type BodyRejection,
  decodeJsonBody,
  describeIssues,
  issuesOf,
  rejectBody,
} from './json-body.js';

/**
 * The envelope of a catalog push body. Items are checked one by one afterwards, so one bad item
 * never costs the whole push; unknown envelope keys are ignored.
 */
export const CatalogPushBodySchema = z.object({
  catalog_version: z.string().min(1),
  pushed_at: IsoDateTime,
  items: z.array(z.unknown()),
});

/** An item of the push that failed {@link CatalogItemSchema}, located in the body. */
export interface RejectedItem {
  /** Position in `items`. */
  readonly index: number;
  /** The item's SKU when it has a usable one, so the sender can find it. */
  readonly sku?: string;
  /** Each problem, with paths from the body's root (`items[3].sku`). */
  readonly issues: readonly BodyIssue[];
}

/** A push whose envelope is valid: the valid items proceed, the others are reported. */
export interface ParsedPushBody {
  readonly ok: true;
  readonly catalog_version: string;
  readonly pushed_at: string;
  readonly items: CatalogItem[];
  readonly rejected: RejectedItem[];
}

export type PushBodyResult = ParsedPushBody | BodyRejection;

/**
 * Parses a catalog push body `{ catalog_version, pushed_at, items: [...] }` from the raw request
 * body (the same bytes the signature covered).
 *
 * - malformed JSON (or invalid UTF-8): 400 with the parser's message;
 * - an envelope that fails its schema: 400 listing every issue with its path;
 * - otherwise `ok`, even when items fail: each invalid item is reported with its index, its SKU
 *   when it has one and path-precise issues, and the valid ones proceed. A push whose items all
 *   fail is still `ok` with no items: the caller decides whether that is a 422.
 *
 * The size limit belongs to the caller (413 before reading): see {@link exceedsLimit}.
 *
 * @example
 * ```ts
 * const push = parseCatalogPushBody(rawBody);
 * if (!push.ok) return c.json({ message: push.message, issues: push.issues }, push.status);
 * ```
 */
export function parseCatalogPushBody(body: string | Uint8Array): PushBodyResult {
  const decoded = decodeJsonBody(body);
  if (!decoded.ok) return decoded;
  const envelope = CatalogPushBodySchema.safeParse(decoded.value);
  if (!envelope.success) {
    const issues = issuesOf(envelope.error);
    return rejectBody(`invalid catalog push: ${describeIssues(issues)}`, issues);
  }
  const items: CatalogItem[] = [];
  const rejected: RejectedItem[] = [];
  for (const [index, candidate] of envelope.data.items.entries()) {
    const parsed = CatalogItemSchema.safeParse(candidate);
    if (parsed.success) {
      items.push(parsed.data);
      continue;
    }
    const sku = skuOf(candidate);
    rejected.push({
      index,
      ...(sku === undefined ? {} : { sku }),
      issues: issuesOf(parsed.error, `items[${index}]`),
    });
  }
  return {
    ok: true,
    catalog_version: envelope.data.catalog_version,
    pushed_at: envelope.data.pushed_at,
    items,
    rejected,
  };
}

function skuOf(candidate: unknown): string | undefined {
  if (typeof candidate !== 'object' || candidate === null || !('sku' in candidate)) return;
  const { sku } = candidate;
  return typeof sku === 'string' && sku !== '' ? sku : undefined;
}

/**
 * True when a request is known to be larger than the limit: give it a 413 before reading it.
 * `contentLength` is the header's value (or a byte count already known). An absent or
 * unparseable header says nothing, so it returns false: a chunked request has no length, and
 * the caller must still cap the bytes it reads.
 *
 * @example
 * ```ts
 * if (exceedsLimit(c.req.header('content-length'), 10 * 1024 * 1024)) return c.body(null, 413);
 * ```
 */
export function exceedsLimit(
  contentLength: string | number | null | undefined,
  limitBytes: number,
): boolean {
  if (typeof contentLength === 'number') return contentLength > limitBytes;
  const text = contentLength?.trim();
  if (!text || !/^\d+$/.test(text)) return false;
  // Compared as a number even past 2^53: a length that large is over any limit anyway.
  return Number(text) > limitBytes;
}
