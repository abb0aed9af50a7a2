import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Applier, ApplyRequest } from '../functions/patch/applier.js';
import {
  MorphApplier,
  type MorphApplierOptions,
  matchFinalNewline,
  retryAfterMs,
} from '../functions/patch/appliers/morph-applier.js';
import {
  applyWithFallback,
  createApplierChain,
} from '../functions/patch/appliers/with-fallback.js';
import { morphPartsOf, startMorphServer } from './support/morph-server.js';
import type { ChatServer } from './support/openai-server.js';
import { freePort } from './support/runtime.js';

const API_KEY = 'sk-morph-test-0123456789';

const ORIGINAL = [
  'export function toProductRecord(item: Item): ProductRecord {',
  '  return {',
  '    sku: item.sku,',
  '    title: item.title,',
  '    price: item.price,',
  '  };',
  '}',
  '',
].join('\n');

const SNIPPET = [
  '// ... existing code ...',
  '    price: item.price,',
  '    return_policy: item.return_policy,',
  '// ... existing code ...',
].join('\n');

/** The merge a correct applier produces: what the test expects, not something the server makes up. */
const MERGED = ORIGINAL.replace(
  '    price: item.price,\n',
  '    price: item.price,\n    return_policy: item.return_policy,\n',
);

const request = (): ApplyRequest =>
  structuredClone({
    instruction: 'Map return_policy onto the product record.',
    original: ORIGINAL,
    snippet: SNIPPET,
    path: 'functions/shop/catalog-sync.ts',
  });

/** A stand-in for the local merger: a second Applier that records its calls. */
const localApplier = (merged: string) => {
  const calls: ApplyRequest[] = [];
  const applier: Applier = {
    name: 'local',
    apply: async (req) => {
      calls.push(req);
      return { ok: true, applier: 'local', merged, duration_ms: 1 };
    },
  };
  return { applier, calls };
};

describe('Patch: Morph applier', () => {
  let morph: ChatServer;
  const applier = (options: Partial<MorphApplierOptions> = {}) =>
    new MorphApplier({
      apiKey: API_KEY,
      baseUrl: morph.baseUrl,
      timeoutMs: 2_000,
      maxRetryAfterMs: 20,
      ...options,
    });

  beforeAll(async () => {
    morph = await startMorphServer({ apiKey: API_KEY });
  });
  beforeEach(() => morph.reset());
  afterAll(() => morph.close());

  describe('the request', () => {
    it('sends one user message in exactly Morph format, with the default model and bearer key', async () => {
      morph.script({ kind: 'answer', content: MERGED });

      const result = await applier().apply(request());

      expect(result.ok).toBe(true);
      expect(morph.requests).toHaveLength(1);
      const [sent] = morph.requests;
      expect(sent).toMatchObject({
        method: 'POST',
        path: '/v1/chat/completions',
        authorization: `Bearer ${API_KEY}`,
        status: 200,
      });
      expect(sent?.body).toEqual({
        model: 'morph-v3-fast',
        messages: [
          {
            role: 'user',
            content: `<instruction>Map return_policy onto the product record.</instruction>\n<code>${ORIGINAL}</code>\n<update>${SNIPPET}</update>`,
          },
        ],
      });
      expect(morphPartsOf(sent?.body)).toMatchObject({
        instruction: 'Map return_policy onto the product record.',
        code: ORIGINAL,
        update: SNIPPET,
      });
    });

    it('uses the configured model', async () => {
      morph.script({ kind: 'answer', content: MERGED });

      await applier({ model: 'morph-v3-large' }).apply(request());

      expect(morphPartsOf(morph.requests[0]?.body).model).toBe('morph-v3-large');
    });

    it('is refused with 400 by the server when the content is not in Morph format', async () => {
      const response = await fetch(`${morph.baseUrl}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'morph-v3-fast',
          messages: [{ role: 'user', content: '<code>x</code>\n<update>y</update>' }],
        }),
      });

      expect(response.status).toBe(400);
      expect(morph.requests[0]?.status).toBe(400);
    });
  });

  describe('a successful merge', () => {
    it('returns the merged file from choices[0].message.content with a measured duration', async () => {
      morph.script({ kind: 'answer', content: MERGED });

      const result = await applier().apply(request());

      expect(result).toMatchObject({ ok: true, applier: 'morph', merged: MERGED });
      expect(result.duration_ms).toBeGreaterThan(0);
    });

    it("restores the original's final newline when Morph drops it", async () => {
      morph.script({ kind: 'answer', content: MERGED.trimEnd() });

      const result = await applier().apply(request());

      expect(result).toMatchObject({ ok: true, merged: MERGED });
    });

    it('removes a final newline Morph adds to an original without one', async () => {
      morph.script({ kind: 'answer', content: MERGED });

      const result = await applier().apply({ ...request(), original: ORIGINAL.trimEnd() });

      expect(result).toMatchObject({ ok: true, merged: MERGED.trimEnd() });
    });

    it('accepts a lazy marker the original itself already contained', async () => {
      const original = `/** Snippets use \`// ... existing code ...\` markers. */\n${ORIGINAL}`;
      morph.script({
        kind: 'answer',
        content: `/** Snippets use \`// ... existing code ...\` markers. */\n${MERGED}`,
      });

      const result = await applier().apply({ ...request(), original });

      expect(result.ok).toBe(true);
    });
  });

  describe('retries', () => {
    it('waits as Retry-After says on 429 and succeeds on the next attempt', async () => {
      morph.script(
        { kind: 'status', status: 429, retryAfter: '0' },
        { kind: 'answer', content: MERGED },
      );

      const result = await applier().apply(request());

      expect(result).toMatchObject({ ok: true, merged: MERGED });
      expect(morph.requests.map((r) => r.status)).toEqual([429, 200]);
    });

    it.each([
      ['delay-seconds', '2', 2_000],
      ['delay-seconds above the cap', '3600', 10_000],
      ['an unreadable value (backoff)', 'soon', 500],
    ])('waits per Retry-After given as %s', async (_case, retryAfter, waitedMs) => {
      morph.script(
        { kind: 'status', status: 503, retryAfter },
        { kind: 'answer', content: MERGED },
      );
      const waits: number[] = [];
      const sleep = async (ms: number) => {
        waits.push(ms);
      };

      const result = await applier({ maxRetryAfterMs: 10_000, sleep }).apply(request());

      expect(result.ok).toBe(true);
      expect(waits).toEqual([waitedMs]);
      expect(morph.requests.map((r) => r.status)).toEqual([503, 200]);
    });

    it('backs off exponentially without Retry-After, each wait capped', async () => {
      morph.script(
        { kind: 'status', status: 429 },
        { kind: 'status', status: 429 },
        { kind: 'status', status: 429 },
        { kind: 'answer', content: MERGED },
      );
      const waits: number[] = [];
      const sleep = async (ms: number) => {
        waits.push(ms);
      };

      const result = await applier({ maxAttempts: 4, maxRetryAfterMs: 1_500, sleep }).apply(
        request(),
      );

      expect(result.ok).toBe(true);
      expect(waits).toEqual([500, 1_000, 1_500]);
    });

    it('retries 503 given as an HTTP date', async () => {
      morph.script(
        { kind: 'status', status: 503, retryAfter: new Date(Date.now() + 1_000).toUTCString() },
        { kind: 'answer', content: MERGED },
      );

      const result = await applier().apply(request());

      expect(result.ok).toBe(true);
      expect(morph.requests.map((r) => r.status)).toEqual([503, 200]);
    });

    it('gives up after maxAttempts with http-429', async () => {
      morph.script(
        { kind: 'status', status: 429, retryAfter: '0' },
        { kind: 'status', status: 429, retryAfter: '0' },
        { kind: 'status', status: 429, retryAfter: '0' },
        { kind: 'answer', content: MERGED },
      );

      const result = await applier({ maxAttempts: 3 }).apply(request());

      expect(result).toMatchObject({ ok: false, applier: 'morph', reason: 'http-429' });
      expect(morph.requests).toHaveLength(3);
    });

    it('reads Retry-After as delay-seconds or an HTTP date', () => {
      const now = Date.parse('2026-12-03T02:00:00Z');

      expect(retryAfterMs('2', now)).toBe(2_000);
      expect(retryAfterMs(' 0 ', now)).toBe(0);
      expect(retryAfterMs('Thu, 03 Dec 2026 02:00:05 GMT', now)).toBe(5_000);
      expect(retryAfterMs('Thu, 03 Dec 2026 01:59:00 GMT', now)).toBe(0);
      expect(retryAfterMs('soon', now)).toBeUndefined();
      expect(retryAfterMs(null, now)).toBeUndefined();
    });
  });

  describe('failures are values with a reason code', () => {
    it('reports a wrong key as http-401 without retrying and without echoing the key', async () => {
      const wrongKey = 'sk-morph-wrong-key-9876';

      const result = await applier({ apiKey: wrongKey }).apply(request());

      expect(result).toMatchObject({ ok: false, applier: 'morph', reason: 'http-401' });
      expect(morph.requests).toHaveLength(1);
      expect(JSON.stringify(result)).not.toContain(wrongKey);
      expect(JSON.stringify(applier({ apiKey: wrongKey }))).not.toContain(wrongKey);
    });

    it('does not leak the key when the server echoes it in an error body', async () => {
      morph.script({ kind: 'status', status: 400, body: `bad request from ${API_KEY}` });

      const result = await applier().apply(request());

      expect(result).toMatchObject({ ok: false, reason: 'http-400' });
      expect(JSON.stringify(result)).not.toContain(API_KEY);
    });

    it('reports 500 as http-500 after one attempt', async () => {
      morph.script({ kind: 'status', status: 500 }, { kind: 'answer', content: MERGED });

      const result = await applier().apply(request());

      expect(result).toMatchObject({ ok: false, reason: 'http-500' });
      expect(morph.requests).toHaveLength(1);
    });

    it('reports a server that does not answer within timeoutMs as timeout', async () => {
      morph.script({ kind: 'hang' });

      const result = await applier({ timeoutMs: 100 }).apply(request());

      expect(result).toMatchObject({ ok: false, reason: 'timeout' });
      expect(morph.requests).toHaveLength(1);
    });

    it('reports a refused connection as network', async () => {
      const closed = await freePort();

      const result = await applier({ baseUrl: `http://127.0.0.1:${closed}/v1` }).apply(request());

      expect(result).toMatchObject({ ok: false, reason: 'network' });
    });

    it('rejects an answer cut at the output limit as truncated', async () => {
      morph.script({ kind: 'answer', content: MERGED, finishReason: 'length' });

      const result = await applier().apply(request());

      expect(result).toMatchObject({ ok: false, reason: 'truncated' });
    });

    it.each([
      ['//', '// ... existing code ...'],
      ['#', '# ... existing code ...'],
      ['/* */', '/* ... existing code ... */'],
      ['<!-- -->', '<!-- ...existing code... -->'],
    ])(
      'rejects output still holding a %s lazy marker as marker-in-output',
      async (_style, marker) => {
        morph.script({ kind: 'answer', content: `${marker}\n${MERGED}` });

        const result = await applier().apply(request());

        expect(result).toMatchObject({ ok: false, reason: 'marker-in-output' });
      },
    );

    it('rejects output that lost more than half the lines as lost-content', async () => {
      morph.script({ kind: 'answer', content: '    return_policy: item.return_policy,\n' });

      const result = await applier().apply(request());

      expect(result).toMatchObject({ ok: false, reason: 'lost-content' });
    });

    it('rejects an answer that is not JSON as bad-response', async () => {
      morph.script({ kind: 'raw', body: '{"choices": [' });

      const result = await applier().apply(request());

      expect(result).toMatchObject({ ok: false, reason: 'bad-response' });
    });

    it.each([
      ['no choices', { choices: [] }],
      [
        'content not a string',
        { choices: [{ message: { content: null }, finish_reason: 'stop' }] },
      ],
      ['no message', { choices: [{ text: 'x', finish_reason: 'stop' }] }],
    ])('rejects a chat completion with %s as bad-response', async (_case, body) => {
      morph.script({ kind: 'raw', body: JSON.stringify(body) });

      const result = await applier().apply(request());

      expect(result).toMatchObject({ ok: false, reason: 'bad-response' });
    });
  });

  describe('fallback to the local merger', () => {
    it('records both attempts when Morph fails and the local merger succeeds', async () => {
      morph.script({ kind: 'status', status: 500 });
      const local = localApplier(MERGED);

      const { result, attempts } = await applyWithFallback(applier(), local.applier, request());

      expect(result).toMatchObject({ ok: true, applier: 'local', merged: MERGED });
      expect(attempts).toEqual([
        { applier: 'morph', ok: false, reason: 'http-500', duration_ms: expect.any(Number) },
        { applier: 'local', ok: true, duration_ms: 1 },
      ]);
      expect(local.calls).toHaveLength(1);
    });

    it('does not call the local merger when Morph succeeds', async () => {
      morph.script({ kind: 'answer', content: MERGED });
      const local = localApplier('unused');

      const { result, attempts } = await applyWithFallback(applier(), local.applier, request());

      expect(result).toMatchObject({ ok: true, applier: 'morph', merged: MERGED });
      expect(attempts.map((a) => [a.applier, a.ok])).toEqual([['morph', true]]);
      expect(local.calls).toHaveLength(0);
    });

    it('returns the failure of the fallback when both fail', async () => {
      morph.script({ kind: 'answer', content: MERGED, finishReason: 'length' });
      const failing: Applier = {
        name: 'local',
        apply: async () => ({
          ok: false,
          applier: 'local',
          reason: 'ambiguous-anchor',
          message: 'two anchors match',
          duration_ms: 2,
        }),
      };

      const { result, attempts } = await applyWithFallback(applier(), failing, request());

      expect(result).toMatchObject({ ok: false, applier: 'local', reason: 'ambiguous-anchor' });
      expect(attempts.map((a) => a.reason)).toEqual(['truncated', 'ambiguous-anchor']);
    });

    it('turns an applier that throws into a failed attempt', async () => {
      const throwing: Applier = {
        name: 'morph',
        apply: () => Promise.reject(new Error('boom')),
      };
      const local = localApplier(MERGED);

      const { result, attempts } = await applyWithFallback(throwing, local.applier, request());

      expect(result.ok).toBe(true);
      expect(attempts.map((a) => [a.applier, a.ok, a.reason])).toEqual([
        ['morph', false, 'threw'],
        ['local', true, undefined],
      ]);
    });

    it('uses the local merger alone when Morph is not configured', async () => {
      const local = localApplier(MERGED);
      const chain = createApplierChain({ MORPH_API_KEY: '  ' }, local.applier);

      const { result, attempts } = await chain.apply(request());

      expect(chain.primary).toBeUndefined();
      expect(result.applier).toBe('local');
      expect(attempts).toHaveLength(1);
      expect(morph.requests).toHaveLength(0);
    });

    it('puts Morph first when MORPH_API_KEY is set, with the configured model and base URL', async () => {
      morph.script({ kind: 'answer', content: MERGED });
      const local = localApplier('unused');
      const chain = createApplierChain(
        { MORPH_API_KEY: API_KEY, MORPH_MODEL: 'morph-v3-large', MORPH_BASE_URL: morph.baseUrl },
        local.applier,
        { timeoutMs: 2_000 },
      );

      const { result } = await chain.apply(request());

      expect(chain.primary?.name).toBe('morph');
      expect(result).toMatchObject({ ok: true, applier: 'morph' });
      expect(morphPartsOf(morph.requests[0]?.body).model).toBe('morph-v3-large');
    });
  });

  describe('final newline', () => {
    it.each([
      ['a\n', 'b', 'b\n'],
      ['a', 'b\n', 'b'],
      ['a\r\n', 'b', 'b\r\n'],
      ['a\n', 'b\n', 'b\n'],
      ['a', 'b', 'b'],
    ])('gives %j ending to %j as %j', (original, merged, expected) => {
      expect(matchFinalNewline(original, merged)).toBe(expected);
    });
  });
});
