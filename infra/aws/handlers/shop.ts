import { Hono } from 'hono';
import { handle, type LambdaContext, type LambdaEvent } from 'hono/aws-lambda';
import { buildPorts } from '../../../functions/runtime/build-ports.js';
import { parseConfig } from '../../../functions/runtime/config.js';
import { createObservability, observe } from '../../../functions/runtime/lambda-observability.js';
import { loadSecretsIntoEnv } from '../../../functions/runtime/lambda-secrets.js';
import { createLogger } from '../../../functions/runtime/logger.js';
import { attachShop } from '../../../functions/shop/attach.js';
import type { ShopService } from '../../../functions/shop/shop-service.js';
import { createApp } from '../../local/app.js';

type Handle = ReturnType<typeof handle>;

const observability = createObservability();

let app: Promise<Handle> | undefined;

const appFor = (event: LambdaEvent): Promise<Handle> => {
  app ??= (async () => {
    await loadSecretsIntoEnv();
    const config = parseConfig();
    let shop: ShopService | undefined;
    const ports = await buildPorts(config, createLogger(config.LOG_LEVEL), {
      // Attached, not started: the shop's state lives in its tables and the release pointer, so
      // a cold start resets nothing.
      target: async (base) => {
        shop = await attachShop(config, base);
        return shop;
      },
    });
    if (!shop) throw new Error('the demo shop did not start');
    const domain = (event as { requestContext?: { domainName?: string } }).requestContext
      ?.domainName;
    // The local runtime's app, so the shop's API reports schema mismatches as signals on the
    // bus exactly as it does locally; only `/shop/*` is served from this function.
    const full = createApp(ports, {
      selfUrl: domain ? `https://${domain}` : 'http://localhost',
      shop,
    });
    const front = new Hono();
    front.all('/shop/*', (c) => full.fetch(c.req.raw));
    front.all('/shop', (c) => full.fetch(c.req.raw));
    return handle(front);
  })().catch((error: unknown) => {
    app = undefined;
    throw error;
  });
  return app;
};

/**
 * Lambda entry of the demo shop in AWS (`-c demoShop=true`): the shop's API under `/shop/*` on
 * its own Function URL, its product records in their own DynamoDB table.
 */
export const handler = observe(
  observability,
  async (event: LambdaEvent, context) =>
    (await appFor(event))(event, context as unknown as LambdaContext),
  { metrics: false },
);
