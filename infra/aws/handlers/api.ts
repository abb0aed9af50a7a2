import { handle, type LambdaContext, type LambdaEvent } from 'hono/aws-lambda';
import { buildPortsFromEnv } from '../../../functions/runtime/build-ports.js';
import { createObservability, observe } from '../../../functions/runtime/lambda-observability.js';
import { loadSecretsIntoEnv } from '../../../functions/runtime/lambda-secrets.js';
import { getPorts } from '../../../functions/runtime/ports.js';
import { createApp } from '../../local/app.js';

type Handle = ReturnType<typeof handle>;

const observability = createObservability();

let app: Promise<Handle> | undefined;

/** The HTTP surface built once per cold start, after the secrets are in the environment. */
const appFor = (event: LambdaEvent): Promise<Handle> => {
  app ??= (async () => {
    await loadSecretsIntoEnv();
    const ports = await getPorts(buildPortsFromEnv);
    const domain = (event as { requestContext?: { domainName?: string } }).requestContext
      ?.domainName;
    // The same Hono app as the local runtime (health, API, webhooks); the dashboard itself is
    // served by CloudFront from S3, and the demo shop by its own function.
    return handle(createApp(ports, { selfUrl: domain ? `https://${domain}` : 'http://localhost' }));
  })().catch((error: unknown) => {
    app = undefined;
    throw error;
  });
  return app;
};

/**
 * Lambda entry of the API and the catalog webhooks in AWS (a Function URL behind CloudFront's
 * `/api/*`, `/webhooks/*` and `/healthz`). The admin token and the webhook secrets come from
 * Secrets Manager through `SELFHEAL_SECRETS`.
 */
export const handler = observe(
  observability,
  async (event: LambdaEvent, context) =>
    (await appFor(event))(event, context as unknown as LambdaContext),
  { metrics: false },
);
