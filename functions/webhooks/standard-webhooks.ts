import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import {
  type HeaderSource,
  readHeader,
  refuse,
  WebhookSecretError,
  type WebhookVerificationFailure,
} from './verification.js';

/**
 * How far a `webhook-timestamp` may be from our clock, either way. Fixed by the `standardwebhooks`
 * package (and the spec's recommendation); exported so docs and the demo can quote it.
 */
export const STANDARD_WEBHOOK_TOLERANCE_SECONDS = 5 * 60;

/** The three headers of the scheme, lower-cased. */
export const STANDARD_WEBHOOK_HEADERS = Object.freeze({
  id: 'webhook-id',
  timestamp: 'webhook-timestamp',
  signature: 'webhook-signature',
} as const);

/** A verified delivery: its id (the dedupe key) and when the sender signed it. */
export interface StandardWebhookVerified {
  readonly ok: true;
  readonly id: string;
  readonly timestamp: Date;
}

export type StandardWebhookResult = StandardWebhookVerified | WebhookVerificationFailure;

/** Verifies request bodies against one secret; build it once, call it per request. */
export type StandardWebhookVerifier = (
  body: string | Uint8Array,
  headers: HeaderSource,
) => StandardWebhookResult;

/**
 * Builds a verifier for Standard Webhooks requests signed with `secret` (`whsec_` + base64, as
 * `SELFHEAL_WEBHOOK_SECRET`). The body must be the raw bytes or text as received: a re-serialised
 * JSON body no longer matches its signature.
 *
 * The clock is `Date.now()` (the package reads it itself), so tests move it with fake timers or
 * sign with an old timestamp.
 *
 * @throws WebhookSecretError when the secret is empty or not base64.
 *
 * @example
 * ```ts
 * const verify = createStandardWebhookVerifier(config.SELFHEAL_WEBHOOK_SECRET);
 * const result = verify(rawBody, c.req.raw.headers);
 * if (!result.ok) return c.json({ error: result.reason, message: result.message }, result.status);
 * ```
 */
export function createStandardWebhookVerifier(secret: string): StandardWebhookVerifier {
  const webhook = webhookFor(secret);
  return (body, headers) => {
    const id = readHeader(headers, STANDARD_WEBHOOK_HEADERS.id);
    const timestamp = readHeader(headers, STANDARD_WEBHOOK_HEADERS.timestamp);
    const signature = readHeader(headers, STANDARD_WEBHOOK_HEADERS.signature);
    if (id === undefined || timestamp === undefined || signature === undefined) {
      const missing = Object.values(STANDARD_WEBHOOK_HEADERS).filter(
        (name) => readHeader(headers, name) === undefined,
      );
      return refuse('missing-headers', `missing header(s): ${missing.join(', ')}`);
    }
    // The package reads the timestamp with parseInt, which would accept `1700000000abc`.
    if (!/^\d{1,15}$/.test(timestamp)) {
      return refuse('invalid-timestamp', 'webhook-timestamp must be whole seconds since the epoch');
    }
    try {
      // jsonParse: false — parsing the body is the caller's job, with path-precise errors.
      webhook.verify(
        body,
        {
          [STANDARD_WEBHOOK_HEADERS.id]: id,
          [STANDARD_WEBHOOK_HEADERS.timestamp]: timestamp,
          [STANDARD_WEBHOOK_HEADERS.signature]: signature,
        },
        { jsonParse: false },
      );
    } catch (error) {
      if (error instanceof WebhookVerificationError) return fromPackageError(error);
      throw error;
    }
    return { ok: true, id, timestamp: new Date(Number(timestamp) * 1000) };
  };
}

/**
 * Verifies one Standard Webhooks request. Prefer {@link createStandardWebhookVerifier} on a hot
 * path: it decodes the secret once.
 */
export function verifyStandardWebhook(
  secret: string,
  body: string | Uint8Array,
  headers: HeaderSource,
): StandardWebhookResult {
  return createStandardWebhookVerifier(secret)(body, headers);
}

/**
 * Signs a body the way a Standard Webhooks sender does: `v1,<base64 HMAC-SHA256 of
 * "id.timestamp.body">`, with the timestamp in whole seconds. For tests, the demo's scenario
 * injector and the benchmark.
 *
 * @throws WebhookSecretError when the secret is empty or not base64.
 *
 * @example
 * ```ts
 * const signature = signStandardWebhook(DEMO_WEBHOOK_SECRET, 'msg_1', new Date(), body);
 * // 'v1,<44 base64 characters>'
 * ```
 */
export function signStandardWebhook(
  secret: string,
  id: string,
  timestamp: Date,
  body: string | Uint8Array,
): string {
  return webhookFor(secret).sign(id, timestamp, body);
}

/**
 * The three request headers of a signed delivery, ready to send.
 *
 * @param delivery.timestamp - when it was signed; now by default.
 */
export function standardWebhookHeaders(
  secret: string,
  delivery: { readonly id: string; readonly body: string | Uint8Array; readonly timestamp?: Date },
): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  const timestamp = delivery.timestamp ?? new Date();
  return {
    'webhook-id': delivery.id,
    'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
    'webhook-signature': signStandardWebhook(secret, delivery.id, timestamp, delivery.body),
  };
}

function webhookFor(secret: string): Webhook {
  try {
    return new Webhook(secret);
  } catch (error) {
    throw new WebhookSecretError(
      `the Standard Webhooks secret is unusable (expected whsec_ followed by base64): ${
        (error as Error).message
      }`,
      { scheme: 'standard-webhooks', cause: error },
    );
  }
}

/**
 * The package signals every refusal with one error class and a message; these messages are
 * pinned by the tests, so an upgrade that rewords them fails there rather than here.
 */
function fromPackageError(error: WebhookVerificationError): WebhookVerificationFailure {
  switch (error.message) {
    case 'Missing required headers':
      return refuse('missing-headers', 'missing Standard Webhooks header(s)');
    case 'Invalid Signature Headers':
      return refuse('invalid-timestamp', 'webhook-timestamp must be whole seconds since the epoch');
    case 'Message timestamp too old':
      return refuse(
        'stale-timestamp',
        `webhook-timestamp is more than ${STANDARD_WEBHOOK_TOLERANCE_SECONDS} s in the past`,
      );
    case 'Message timestamp too new':
      return refuse(
        'future-timestamp',
        `webhook-timestamp is more than ${STANDARD_WEBHOOK_TOLERANCE_SECONDS} s in the future`,
      );
    default:
      // 'No matching signature found', and anything a future version adds: still unverified.
      return refuse('bad-signature', 'no webhook-signature matches the body');
  }
}
