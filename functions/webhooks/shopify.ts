import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { CatalogItem } from '../../events/catalog.js';
import { IsoDateTime } from '../../events/envelope.js';
import {
  type BodyRejection,
  decodeJsonBody,
  describeIssues,
  issuesOf,
  rejectBody,
} from './json-body.js';
import {
  type HeaderSource,
  readHeader,
  refuse,
  WebhookSecretError,
  type WebhookVerificationFailure,
} from './verification.js';

/** The Shopify delivery headers we read, lower-cased. */
export const SHOPIFY_HEADERS = Object.freeze({
  hmac: 'x-shopify-hmac-sha256',
  webhookId: 'x-shopify-webhook-id',
  topic: 'x-shopify-topic',
  shopDomain: 'x-shopify-shop-domain',
  triggeredAt: 'x-shopify-triggered-at',
  apiVersion: 'x-shopify-api-version',
} as const);

/** A verified Shopify delivery. `webhookId` is the dedupe key: redeliveries keep it. */
export interface ShopifyWebhookVerified {
  readonly ok: true;
  readonly webhookId: string;
  /** e.g. `products/update`; the caller decides which topics it accepts. */
  readonly topic: string | undefined;
  readonly shopDomain: string | undefined;
  readonly triggeredAt: string | undefined;
  readonly apiVersion: string | undefined;
}

export type ShopifyWebhookResult = ShopifyWebhookVerified | WebhookVerificationFailure;

// 32 bytes of HMAC-SHA256 are exactly 44 base64 characters, the last one padding.
const BASE64_SHA256 = /^[A-Za-z0-9+/]{43}=$/;

/**
 * Verifies a Shopify webhook: `X-Shopify-Hmac-Sha256` must be the base64 HMAC-SHA256 of the RAW
 * body under the app's client secret, compared in constant time. `X-Shopify-Webhook-Id` is
 * required too, since it is the only dedupe key Shopify gives; Shopify always sends it.
 *
 * @throws WebhookSecretError when the secret is empty.
 *
 * @example
 * ```ts
 * const result = verifyShopifyWebhook(secret, rawBody, c.req.raw.headers);
 * if (!result.ok) return c.json({ error: result.reason }, result.status);
 * ```
 */
export function verifyShopifyWebhook(
  secret: string,
  body: string | Uint8Array,
  headers: HeaderSource,
): ShopifyWebhookResult {
  const expected = hmacOf(secret, body);
  const hmac = readHeader(headers, SHOPIFY_HEADERS.hmac);
  const webhookId = readHeader(headers, SHOPIFY_HEADERS.webhookId);
  if (hmac === undefined || webhookId === undefined) {
    const missing = [SHOPIFY_HEADERS.hmac, SHOPIFY_HEADERS.webhookId].filter(
      (name) => readHeader(headers, name) === undefined,
    );
    return refuse('missing-headers', `missing header(s): ${missing.join(', ')}`);
  }
  // A malformed header cannot match; checking its shape first keeps the lenient base64 decoder
  // from turning junk into bytes, and gives timingSafeEqual the equal lengths it needs.
  if (!BASE64_SHA256.test(hmac) || !timingSafeEqual(Buffer.from(hmac, 'base64'), expected)) {
    return refuse('bad-signature', `${SHOPIFY_HEADERS.hmac} does not match the body`);
  }
  return {
    ok: true,
    webhookId,
    topic: readHeader(headers, SHOPIFY_HEADERS.topic),
    shopDomain: readHeader(headers, SHOPIFY_HEADERS.shopDomain),
    triggeredAt: readHeader(headers, SHOPIFY_HEADERS.triggeredAt),
    apiVersion: readHeader(headers, SHOPIFY_HEADERS.apiVersion),
  };
}

/**
 * The `X-Shopify-Hmac-Sha256` value Shopify would send for a body: base64 HMAC-SHA256 under the
 * secret. For tests and the demo's scenario injector.
 *
 * @throws WebhookSecretError when the secret is empty.
 */
export function signShopifyWebhook(secret: string, body: string | Uint8Array): string {
  return hmacOf(secret, body).toString('base64');
}

function hmacOf(secret: string, body: string | Uint8Array): Buffer {
  if (secret === '') {
    throw new WebhookSecretError('the Shopify webhook secret is empty', { scheme: 'shopify' });
  }
  return createHmac('sha256', secret).update(body).digest();
}

/** A product metafield, as included when the subscription lists its namespace. */
export const ShopifyMetafieldSchema = z.looseObject({
  namespace: z.string(),
  key: z.string(),
  /** A string for every metafield type; JSON text for the `json` type. */
  value: z.unknown(),
  type: z.string().optional(),
});

/**
 * One variant of a `products/update` payload. Loose: only what the mapping reads is described,
 * and the values that feed catalog fields stay `unknown` so drift (a price sent as a number, a
 * quantity as text) reaches the delta sensor instead of failing here.
 */
export const ShopifyVariantSchema = z.looseObject({
  id: z.number().int().optional(),
  title: z.string().nullish(),
  /** Shopify allows variants without a SKU (`""` or null); those cannot become catalog items. */
  sku: z.string().nullish(),
  /** A decimal string in Shopify's documented shape, e.g. `"19.99"`. */
  price: z.unknown(),
  inventory_quantity: z.unknown(),
});

/**
 * The `products/update` (and `products/create`) payload: Shopify's REST product resource.
 * Loose, like the catalog item it becomes.
 */
export const ShopifyProductSchema = z.looseObject({
  id: z.number().int(),
  title: z.string(),
  product_type: z.string().nullish(),
  /** ISO 8601 with the shop's offset, e.g. `2025-04-22T14:30:00-05:00`. */
  updated_at: IsoDateTime,
  variants: z.array(ShopifyVariantSchema),
  metafields: z.array(ShopifyMetafieldSchema).optional(),
});
export type ShopifyProduct = z.infer<typeof ShopifyProductSchema>;

/** Parses a raw `products/update` body; malformed JSON or shape is a 400 value with paths. */
export function parseShopifyProduct(
  body: string | Uint8Array,
): { readonly ok: true; readonly product: ShopifyProduct } | BodyRejection {
  const decoded = decodeJsonBody(body);
  if (!decoded.ok) return decoded;
  const parsed = ShopifyProductSchema.safeParse(decoded.value);
  if (parsed.success) return { ok: true, product: parsed.data };
  const issues = issuesOf(parsed.error);
  return rejectBody(`invalid Shopify product: ${describeIssues(issues)}`, issues);
}

/** Options of {@link mapShopifyProduct}. */
export interface ShopifyMappingOptions {
  /** The shop's currency (ISO 4217): product payloads carry prices without one. */
  readonly currency: string;
  /** Where the return policy lives; `custom.return_policy` by default. */
  readonly returnPolicyMetafield?: { readonly namespace: string; readonly key: string };
}

/** Shopify's title of the only variant of a product without options. */
const DEFAULT_VARIANT_TITLE = 'Default Title';
const DECIMAL = /^-?\d+(?:\.\d+)?$/;

/**
 * Maps a product to catalog items, one per variant that has a SKU (variants without one have
 * no identity in the catalog and are skipped):
 *
 * - `sku`: the variant's SKU; `title`: the product title, plus ` - <variant title>` unless the
 *   variant is Shopify's `Default Title`;
 * - `price`: the decimal string as a number. Anything that is not a plain decimal (a number
 *   already, null, `"N/A"`, …) is kept exactly as sent, so the delta sensor reports the type
 *   drift and the validator sees the real value, rather than a silent `NaN` or `0`;
 * - `currency`: from the options; `category`: `product_type` lower-cased (omitted when absent);
 * - `stock`: `inventory_quantity` as sent (omitted when absent);
 * - `return_policy`: the configured metafield's value, parsed when it is a `json` metafield (kept
 *   as text when that text is not JSON); omitted when the payload has no such metafield;
 * - `updated_at`: the product's, normalised to UTC (`…Z`) so snapshots order by one clock.
 */
export function mapShopifyProduct(
  product: ShopifyProduct,
  options: ShopifyMappingOptions,
): CatalogItem[] {
  const updatedAt = new Date(product.updated_at).toISOString();
  const returnPolicy = returnPolicyOf(
    product,
    options.returnPolicyMetafield ?? { namespace: 'custom', key: 'return_policy' },
  );
  const items: CatalogItem[] = [];
  for (const variant of product.variants) {
    const sku = variant.sku?.trim();
    if (!sku) continue;
    const variantTitle = variant.title?.trim();
    const item: CatalogItem = {
      sku,
      title:
        variantTitle && variantTitle !== DEFAULT_VARIANT_TITLE
          ? `${product.title} - ${variantTitle}`
          : product.title,
      price: priceOf(variant.price),
      currency: options.currency,
      ...(typeof product.product_type === 'string'
        ? { category: product.product_type.toLowerCase() }
        : {}),
      ...(variant.inventory_quantity === undefined ? {} : { stock: variant.inventory_quantity }),
      ...(returnPolicy.found ? { return_policy: returnPolicy.value } : {}),
      updated_at: updatedAt,
    };
    items.push(item);
  }
  return items;
}

function priceOf(raw: unknown): unknown {
  if (typeof raw === 'string' && DECIMAL.test(raw.trim())) return Number(raw);
  return raw;
}

function returnPolicyOf(
  product: ShopifyProduct,
  where: { readonly namespace: string; readonly key: string },
): { found: true; value: unknown } | { found: false } {
  const metafield = product.metafields?.find(
    (candidate) => candidate.namespace === where.namespace && candidate.key === where.key,
  );
  if (!metafield) return { found: false };
  const { value } = metafield;
  // Only JSON metafields hold JSON text; a text field `"30"` must stay the string it is.
  const isJson =
    metafield.type === 'json' || (metafield.type === undefined && /^\s*[[{]/.test(String(value)));
  if (typeof value !== 'string' || !isJson) return { found: true, value };
  try {
    return { found: true, value: JSON.parse(value) };
  } catch {
    return { found: true, value };
  }
}
