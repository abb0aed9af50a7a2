import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { DEMO_WEBHOOK_SECRET } from '../functions/runtime/config.js';
import {
  createStandardWebhookVerifier,
  signStandardWebhook,
  standardWebhookHeaders,
  verifyStandardWebhook,
} from '../functions/webhooks/standard-webhooks.js';
import { WebhookSecretError } from '../functions/webhooks/verification.js';

const SECRET = DEMO_WEBHOOK_SECRET;
const OTHER_SECRET = `whsec_${Buffer.from('another-tenant-secret-of-32-bytes').toString('base64')}`;
const BODY = JSON.stringify({
  catalog_version: '2025-11-29',
  pushed_at: '2025-11-29T02:00:00Z',
  items: [{ sku: 'SKU-1001', updated_at: '2025-11-29T02:00:00Z' }],
});
const minutesAgo = (minutes: number): Date => new Date(Date.now() - minutes * 60_000);

describe('Webhooks: standard', () => {
  it('accepts a request signed with the secret and returns its id and timestamp', () => {
    const timestamp = new Date(Math.floor(Date.now() / 1000) * 1000);
    const headers = standardWebhookHeaders(SECRET, { id: 'msg_2kq9', body: BODY, timestamp });

    const result = verifyStandardWebhook(SECRET, BODY, headers);

    expect(result).toEqual({ ok: true, id: 'msg_2kq9', timestamp });
  });

  it('signs v1,<base64 HMAC-SHA256 of "id.timestamp.body"> under the decoded secret', () => {
    const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
    const expected = createHmac('sha256', key).update(`msg_1.1764381600.${BODY}`).digest('base64');

    const signature = signStandardWebhook(SECRET, 'msg_1', new Date(1_764_381_600_000), BODY);

    expect(signature).toBe(`v1,${expected}`);
  });

  it('reads headers from a fetch Headers object and from records in any case', () => {
    const headers = standardWebhookHeaders(SECRET, { id: 'msg_case', body: BODY });
    const verify = createStandardWebhookVerifier(SECRET);
    const shouted = Object.fromEntries(
      Object.entries(headers).map(([name, value]) => [name.toUpperCase(), value]),
    );

    expect(verify(BODY, new Headers(headers)).ok).toBe(true);
    expect(verify(BODY, shouted).ok).toBe(true);
    expect(verify(new TextEncoder().encode(BODY), headers).ok).toBe(true);
  });

  it('refuses a request signed with another secret', () => {
    const headers = standardWebhookHeaders(OTHER_SECRET, { id: 'msg_1', body: BODY });

    const result = verifyStandardWebhook(SECRET, BODY, headers);

    expect(result).toMatchInlineSnapshot(`
      {
        "message": "no webhook-signature matches the body",
        "ok": false,
        "reason": "bad-signature",
        "status": 401,
      }
    `);
  });

  it('refuses a body changed after signing', () => {
    const headers = standardWebhookHeaders(SECRET, { id: 'msg_1', body: BODY });
    const tampered = BODY.replace('SKU-1001', 'SKU-1002');

    const result = verifyStandardWebhook(SECRET, tampered, headers);

    expect(result).toMatchObject({ ok: false, status: 401, reason: 'bad-signature' });
  });

  it('refuses a signature replayed under another message id', () => {
    const headers = standardWebhookHeaders(SECRET, { id: 'msg_1', body: BODY });

    const result = verifyStandardWebhook(SECRET, BODY, { ...headers, 'webhook-id': 'msg_2' });

    expect(result).toMatchObject({ ok: false, reason: 'bad-signature' });
  });

  it('refuses a timestamp more than five minutes old, even with a valid signature', () => {
    const headers = standardWebhookHeaders(SECRET, {
      id: 'msg_old',
      body: BODY,
      timestamp: minutesAgo(6),
    });

    const result = verifyStandardWebhook(SECRET, BODY, headers);

    expect(result).toMatchInlineSnapshot(`
      {
        "message": "webhook-timestamp is more than 300 s in the past",
        "ok": false,
        "reason": "stale-timestamp",
        "status": 401,
      }
    `);
  });

  it('accepts a delivery signed four minutes ago, inside the tolerance', () => {
    const headers = standardWebhookHeaders(SECRET, {
      id: 'msg_late',
      body: BODY,
      timestamp: minutesAgo(4),
    });

    expect(verifyStandardWebhook(SECRET, BODY, headers).ok).toBe(true);
  });

  it('refuses a timestamp more than five minutes in the future', () => {
    const headers = standardWebhookHeaders(SECRET, {
      id: 'msg_future',
      body: BODY,
      timestamp: minutesAgo(-6),
    });

    expect(verifyStandardWebhook(SECRET, BODY, headers)).toMatchObject({
      ok: false,
      reason: 'future-timestamp',
    });
  });

  it('refuses a timestamp that is not whole seconds', () => {
    const headers = standardWebhookHeaders(SECRET, { id: 'msg_1', body: BODY });

    const result = verifyStandardWebhook(SECRET, BODY, {
      ...headers,
      'webhook-timestamp': `${headers['webhook-timestamp']}abc`,
    });

    expect(result).toMatchObject({ ok: false, status: 401, reason: 'invalid-timestamp' });
  });

  it('names every missing header', () => {
    const headers = standardWebhookHeaders(SECRET, { id: 'msg_1', body: BODY });

    const noSignature = verifyStandardWebhook(SECRET, BODY, {
      'webhook-id': headers['webhook-id'],
      'webhook-timestamp': headers['webhook-timestamp'],
    });
    const none = verifyStandardWebhook(SECRET, BODY, {});
    const blank = verifyStandardWebhook(SECRET, BODY, { ...headers, 'webhook-id': '  ' });

    expect(noSignature).toMatchInlineSnapshot(`
      {
        "message": "missing header(s): webhook-signature",
        "ok": false,
        "reason": "missing-headers",
        "status": 401,
      }
    `);
    expect(none).toMatchObject({
      reason: 'missing-headers',
      message: 'missing header(s): webhook-id, webhook-timestamp, webhook-signature',
    });
    expect(blank).toMatchObject({
      reason: 'missing-headers',
      message: 'missing header(s): webhook-id',
    });
  });

  it('accepts several space-separated signatures when one of them matches', () => {
    const headers = standardWebhookHeaders(SECRET, { id: 'msg_rotate', body: BODY });
    const old = standardWebhookHeaders(OTHER_SECRET, {
      id: 'msg_rotate',
      body: BODY,
      timestamp: new Date(Number(headers['webhook-timestamp']) * 1000),
    });
    const rotating = `${old['webhook-signature']} ${headers['webhook-signature']}`;

    const result = verifyStandardWebhook(SECRET, BODY, {
      ...headers,
      'webhook-signature': rotating,
    });

    expect(result).toMatchObject({ ok: true, id: 'msg_rotate' });
  });

  it('refuses several signatures when none matches', () => {
    const headers = standardWebhookHeaders(SECRET, { id: 'msg_1', body: BODY });
    const other = standardWebhookHeaders(OTHER_SECRET, { id: 'msg_1', body: BODY });

    const result = verifyStandardWebhook(SECRET, BODY, {
      ...headers,
      'webhook-signature': `v1,bm90LWEtc2lnbmF0dXJl ${other['webhook-signature']}`,
    });

    expect(result).toMatchObject({ ok: false, reason: 'bad-signature' });
  });

  it('does not parse the body: a signed non-JSON body still verifies', () => {
    const body = 'not json at all';
    const headers = standardWebhookHeaders(SECRET, { id: 'msg_text', body });

    expect(verifyStandardWebhook(SECRET, body, headers).ok).toBe(true);
  });

  it('throws a WebhookSecretError for a secret that is not whsec_ + base64', () => {
    expect(() => createStandardWebhookVerifier('whsec_!!!not-base64!!!')).toThrow(
      WebhookSecretError,
    );
    expect(() => signStandardWebhook('whsec_', 'msg_1', new Date(), BODY)).toThrow(
      /secret is unusable/,
    );
  });

  // The mapping to reasons relies on these messages; an upgrade that rewords them fails here.
  it('pins the standardwebhooks package messages the reasons are mapped from', () => {
    const webhook = new Webhook(SECRET);
    const fresh = standardWebhookHeaders(SECRET, { id: 'msg_1', body: BODY });
    const stale = standardWebhookHeaders(SECRET, {
      id: 'msg_1',
      body: BODY,
      timestamp: minutesAgo(6),
    });
    const future = standardWebhookHeaders(SECRET, {
      id: 'msg_1',
      body: BODY,
      timestamp: minutesAgo(-6),
    });
    const verify = (headers: Record<string, string>) => () =>
      webhook.verify(BODY, headers, { jsonParse: false });

    expect(verify({ 'webhook-id': 'msg_1' })).toThrow('Missing required headers');
    expect(verify(stale)).toThrow('Message timestamp too old');
    expect(verify(future)).toThrow('Message timestamp too new');
    expect(verify({ ...fresh, 'webhook-timestamp': 'soon' })).toThrow('Invalid Signature Headers');
    expect(verify({ ...fresh, 'webhook-id': 'msg_2' })).toThrow('No matching signature found');
    // The package checks the timestamp before the signature: a stale forgery reads as stale.
    expect(verify({ ...stale, 'webhook-signature': 'v1,forged' })).toThrow(
      'Message timestamp too old',
    );
  });
});
