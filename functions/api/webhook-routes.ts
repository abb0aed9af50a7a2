import { type Context, Hono } from 'hono';
import type { CatalogItem } from '../../events/index.js';
import type { Ports } from '../runtime/ports.js';
import { exceedsLimit, parseCatalogPushBody } from '../webhooks/push-body.js';
import {
  mapShopifyProduct,
  parseShopifyProduct,
  verifyShopifyWebhook,
} from '../webhooks/shopify.js';
import { createStandardWebhookVerifier } from '../webhooks/standard-webhooks.js';
import { acceptPush } from './accept-push.js';

const tooLarge = (c: Context, limit: number) =>
  c.json({ error: 'payload_too_large', message: `body exceeds ${limit} bytes` }, 413);

/** Reads the raw body (the bytes the signature covers), refusing anything over the limit. */
async function rawBody(c: Context, limit: number): Promise<Uint8Array | undefined> {
  if (exceedsLimit(c.req.header('content-length'), limit)) return undefined;
  const body = new Uint8Array(await c.req.arrayBuffer());
  return body.byteLength > limit ? undefined : body;
}

/**
 * Catalog webhooks: Standard Webhooks at `/webhooks/catalog` and Shopify's `products/update`
 * at `/webhooks/shopify`, both verified over the raw body before anything is parsed or stored.
 */
export function createWebhookRoutes(ports: Ports): Hono {
  const app = new Hono();
  const limit = ports.config.SELFHEAL_MAX_PUSH_BYTES;
  const verifyStandard = createStandardWebhookVerifier(ports.config.SELFHEAL_WEBHOOK_SECRET);

  app.post('/catalog', async (c) => {
    const body = await rawBody(c, limit);
    if (!body) return tooLarge(c, limit);
    const verified = verifyStandard(body, c.req.raw.headers);
    if (!verified.ok) {
      return c.json({ error: verified.reason, message: verified.message }, verified.status);
    }
    const push = parseCatalogPushBody(body);
    if (!push.ok) {
      return c.json({ error: 'bad_request', message: push.message, issues: push.issues }, 400);
    }
    if (push.items.length === 0 && push.rejected.length > 0) {
      return c.json(
        {
          error: 'no_valid_items',
          message: `all ${push.rejected.length} items failed the catalog schema`,
          rejected: push.rejected.slice(0, 20),
        },
        422,
      );
    }
    const accepted = await acceptPush(ports, {
      channel: 'catalog',
      webhookId: verified.id,
      catalog_version: push.catalog_version,
      pushed_at: push.pushed_at,
      items: push.items,
    });
    return c.json(
      {
        push_id: accepted.push_id,
        items: accepted.items,
        rejected: push.rejected.length,
        rejected_items: push.rejected.slice(0, 20),
        duplicate: accepted.duplicate,
      },
      202,
    );
  });

  app.post('/shopify', async (c) => {
    const body = await rawBody(c, limit);
    if (!body) return tooLarge(c, limit);
    const verified = verifyShopifyWebhook(
      ports.config.SHOPIFY_WEBHOOK_SECRET,
      body,
      c.req.raw.headers,
    );
    if (!verified.ok) {
      return c.json({ error: verified.reason, message: verified.message }, verified.status);
    }
    if (
      verified.topic !== undefined &&
      verified.topic !== 'products/update' &&
      verified.topic !== 'products/create'
    ) {
      return c.json(
        { error: 'unsupported_topic', message: `topic ${verified.topic} is not handled` },
        400,
      );
    }
    const product = parseShopifyProduct(body);
    if (!product.ok) {
      return c.json(
        { error: 'bad_request', message: product.message, issues: product.issues },
        400,
      );
    }
    const items: CatalogItem[] = mapShopifyProduct(product.product, {
      currency: ports.config.SHOPIFY_CURRENCY,
    });
    const accepted = await acceptPush(ports, {
      channel: 'shopify',
      webhookId: verified.webhookId,
      catalog_version: `shopify:${product.product.updated_at}`,
      pushed_at: isoOr(verified.triggeredAt),
      items,
    });
    return c.json(
      { push_id: accepted.push_id, items: accepted.items, duplicate: accepted.duplicate },
      202,
    );
  });

  return app;
}

/** Shopify's trigger time, normalised to ISO with millisecond precision; now when absent. */
const isoOr = (value: string | undefined): string => {
  const at = value === undefined ? Number.NaN : Date.parse(value);
  return new Date(Number.isNaN(at) ? Date.now() : at).toISOString();
};
