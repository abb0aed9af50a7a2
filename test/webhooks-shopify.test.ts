import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CatalogItemSchema } from '../events/catalog.js';
import {
  mapShopifyProduct,
  parseShopifyProduct,
  type ShopifyProduct,
  signShopifyWebhook,
  verifyShopifyWebhook,
} from '../functions/webhooks/shopify.js';
import { WebhookSecretError } from '../functions/webhooks/verification.js';

const SECRET = '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';
// The raw bytes as Shopify sends them: the HMAC covers exactly these.
const RAW = readFileSync(new URL('./fixtures/shopify-products-update.json', import.meta.url));
const fixture = (): ShopifyProduct => {
  const parsed = parseShopifyProduct(RAW);
  if (!parsed.ok) throw new Error(`fixture does not parse: ${parsed.message}`);
  return structuredClone(parsed.product);
};
const headersFor = (body: string | Uint8Array, secret = SECRET): Record<string, string> => ({
  'X-Shopify-Topic': 'products/update',
  'X-Shopify-Hmac-Sha256': signShopifyWebhook(secret, body),
  'X-Shopify-Shop-Domain': 'summit-supply.myshopify.com',
  'X-Shopify-API-Version': '2025-10',
  'X-Shopify-Webhook-Id': 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
  'X-Shopify-Triggered-At': '2025-11-29T02:04:18.112Z',
});

describe('Webhooks: shopify', () => {
  it('accepts the fixture signed over its raw bytes and returns the dedupe id and topic', () => {
    const result = verifyShopifyWebhook(SECRET, RAW, headersFor(RAW));

    expect(result).toEqual({
      ok: true,
      webhookId: 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
      topic: 'products/update',
      shopDomain: 'summit-supply.myshopify.com',
      triggeredAt: '2025-11-29T02:04:18.112Z',
      apiVersion: '2025-10',
    });
  });

  it('signs the base64 HMAC-SHA256 of the body under the secret', () => {
    const expected = createHmac('sha256', SECRET).update(RAW).digest('base64');

    expect(signShopifyWebhook(SECRET, RAW)).toBe(expected);
    expect(signShopifyWebhook(SECRET, RAW.toString('utf8'))).toBe(expected);
  });

  it('refuses a body changed after signing, even by one byte', () => {
    const tampered = Buffer.from(RAW);
    const at = tampered.indexOf('"89.50"') + 1;
    tampered[at] = '1'.charCodeAt(0);

    const result = verifyShopifyWebhook(SECRET, tampered, headersFor(RAW));

    expect(result).toMatchInlineSnapshot(`
      {
        "message": "x-shopify-hmac-sha256 does not match the body",
        "ok": false,
        "reason": "bad-signature",
        "status": 401,
      }
    `);
  });

  it('refuses a re-serialised body: only the raw bytes verify', () => {
    const reserialised = JSON.stringify(JSON.parse(RAW.toString('utf8')));

    expect(verifyShopifyWebhook(SECRET, reserialised, headersFor(RAW)).ok).toBe(false);
  });

  it('refuses a signature made with another secret or a malformed header', () => {
    const wrongSecret = verifyShopifyWebhook(SECRET, RAW, headersFor(RAW, 'shpss_other'));
    const malformed = verifyShopifyWebhook(SECRET, RAW, {
      ...headersFor(RAW),
      'X-Shopify-Hmac-Sha256': 'not base64 at all',
    });

    expect(wrongSecret).toMatchObject({ ok: false, status: 401, reason: 'bad-signature' });
    expect(malformed).toMatchObject({ ok: false, status: 401, reason: 'bad-signature' });
  });

  it('names the missing HMAC and webhook id headers', () => {
    const result = verifyShopifyWebhook(SECRET, RAW, { 'X-Shopify-Topic': 'products/update' });

    expect(result).toMatchInlineSnapshot(`
      {
        "message": "missing header(s): x-shopify-hmac-sha256, x-shopify-webhook-id",
        "ok": false,
        "reason": "missing-headers",
        "status": 401,
      }
    `);
  });

  it('throws a WebhookSecretError for an empty secret', () => {
    expect(() => verifyShopifyWebhook('', RAW, headersFor(RAW))).toThrow(WebhookSecretError);
  });

  it('maps the fixture to one catalog item per variant with a SKU', () => {
    const items = mapShopifyProduct(fixture(), { currency: 'USD' });

    expect(items).toEqual([
      {
        sku: 'SKU-1001',
        title: 'Alpine Shell Jacket - S / Glacier Blue',
        price: 89.5,
        currency: 'USD',
        category: 'outerwear',
        stock: 12,
        return_policy: { type: 'final_sale', window_days: 0 },
        updated_at: '2025-11-29T02:04:17.000Z',
      },
      {
        sku: 'SKU-1002',
        title: 'Alpine Shell Jacket - M / Glacier Blue',
        price: 89.5,
        currency: 'USD',
        category: 'outerwear',
        stock: 0,
        return_policy: { type: 'final_sale', window_days: 0 },
        updated_at: '2025-11-29T02:04:17.000Z',
      },
    ]);
    for (const item of items) expect(CatalogItemSchema.safeParse(item).success).toBe(true);
  });

  it("uses the product title alone for Shopify's Default Title variant", () => {
    const product = fixture();
    product.variants = product.variants.slice(0, 1).map((variant) => ({
      ...variant,
      title: 'Default Title',
    }));

    const [item] = mapShopifyProduct(product, { currency: 'EUR' });

    expect(item).toMatchObject({ title: 'Alpine Shell Jacket', currency: 'EUR' });
  });

  it('keeps a price that is not a plain decimal exactly as sent, so the drift stays visible', () => {
    const product = fixture();
    const [first] = product.variants;
    if (!first) throw new Error('fixture has no variant');
    product.variants = [
      { ...first, sku: 'A', price: 'N/A' },
      { ...first, sku: 'B', price: '' },
      { ...first, sku: 'C', price: null },
      { ...first, sku: 'D', price: 12.5 },
      { ...first, sku: 'E', price: '0x10' },
    ];

    const prices = mapShopifyProduct(product, { currency: 'USD' }).map((item) => item.price);

    expect(prices).toEqual(['N/A', '', null, 12.5, '0x10']);
  });

  it('omits return_policy without the metafield and keeps non-JSON metafield text as is', () => {
    const without = fixture();
    without.metafields = undefined;
    const garbled = fixture();
    garbled.metafields = [
      { namespace: 'custom', key: 'return_policy', value: 'final sale', type: 'json' },
    ];

    const [plain] = mapShopifyProduct(without, { currency: 'USD' });
    const [text] = mapShopifyProduct(garbled, { currency: 'USD' });

    expect(plain).not.toHaveProperty('return_policy');
    expect(text?.return_policy).toBe('final sale');
  });

  it('reads the return policy from a configured metafield', () => {
    const product = fixture();
    product.metafields = [
      {
        namespace: 'returns',
        key: 'policy',
        value: '{"type":"extended","window_days":60}',
        type: 'json',
      },
    ];

    const [item] = mapShopifyProduct(product, {
      currency: 'USD',
      returnPolicyMetafield: { namespace: 'returns', key: 'policy' },
    });

    expect(item?.return_policy).toEqual({ type: 'extended', window_days: 60 });
  });

  it('rejects malformed JSON and a payload without variants with located issues', () => {
    const malformed = parseShopifyProduct('{"id": 1,');
    const noVariants = parseShopifyProduct(
      JSON.stringify({ id: 1, title: 'X', updated_at: '2025-11-28T21:04:17-05:00' }),
    );

    expect(malformed).toMatchObject({
      ok: false,
      status: 400,
      message: expect.stringMatching(/^malformed JSON/),
    });
    expect(noVariants).toMatchObject({
      ok: false,
      status: 400,
      issues: [{ path: 'variants', message: expect.any(String) }],
    });
  });
});
