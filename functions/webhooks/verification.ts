/**
 * Plumbing shared by the webhook verifiers: reading headers from whatever the HTTP layer hands
 * over, the failure value every verifier returns, and the errors they throw for a bad
 * configuration (never for a bad request: a bad request is a value).
 */

/**
 * Request headers as a fetch `Headers` (Hono, Lambda adapters) or a plain record (Node's
 * `IncomingHttpHeaders`, tests). Record keys may use any case.
 */
export type HeaderSource =
  | Headers
  | Readonly<Record<string, string | readonly string[] | undefined>>;

/**
 * Reads one header case-insensitively; `undefined` when absent or blank. Repeated values are
 * joined with `, `, as `Headers.get` does.
 */
export function readHeader(headers: HeaderSource, name: string): string | undefined {
  const wanted = name.toLowerCase();
  let value: string | readonly string[] | null | undefined;
  if (headers instanceof Headers) {
    value = headers.get(wanted);
  } else {
    for (const [key, candidate] of Object.entries(headers)) {
      if (key.toLowerCase() === wanted) {
        value = candidate;
        break;
      }
    }
  }
  const joined = typeof value === 'string' ? value : value?.join(', ');
  const trimmed = joined?.trim();
  return trimmed ? trimmed : undefined;
}

/** Why a webhook request was refused. */
export type WebhookFailureReason =
  /** A header the scheme requires is absent or blank. */
  | 'missing-headers'
  /** The timestamp header is not a whole number of seconds. */
  | 'invalid-timestamp'
  /** Signed more than the tolerance ago: a replay, or a badly delayed delivery. */
  | 'stale-timestamp'
  /** Signed more than the tolerance in the future: the sender's clock or a forgery. */
  | 'future-timestamp'
  /** No signature matches the body under our secret (wrong secret, tampered body or id). */
  | 'bad-signature';

/**
 * A refused webhook request. Always 401: each reason means we cannot trust who sent the body,
 * and the message is safe to return to the caller (it never echoes the secret or the expected
 * signature).
 */
export interface WebhookVerificationFailure {
  readonly ok: false;
  readonly status: 401;
  readonly reason: WebhookFailureReason;
  readonly message: string;
}

/** Builds a {@link WebhookVerificationFailure}. */
export const refuse = (
  reason: WebhookFailureReason,
  message: string,
): WebhookVerificationFailure => ({ ok: false, status: 401, reason, message });

/** Base of the errors of the webhooks domain: configuration problems, never a bad request. */
export class WebhookError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WebhookError';
  }
}

/** The configured signing secret cannot be used (empty, or not `whsec_` + base64). */
export class WebhookSecretError extends WebhookError {
  /** Which scheme the secret was meant for. */
  readonly scheme: 'standard-webhooks' | 'shopify';

  constructor(
    message: string,
    details: { scheme: 'standard-webhooks' | 'shopify'; cause?: unknown },
  ) {
    super(message, { cause: details.cause });
    this.name = 'WebhookSecretError';
    this.scheme = details.scheme;
  }
}
