import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { Applier, ApplyRequest, ApplyResult } from '../applier.js';

export const MORPH_DEFAULT_BASE_URL = 'https://api.morphllm.com/v1';
export const MORPH_DEFAULT_MODEL = 'morph-v3-fast';

export interface MorphApplierOptions {
  /** Sent as `Authorization: Bearer <apiKey>`; never logged, never part of a result. */
  readonly apiKey: string;
  /** Default `morph-v3-fast`. */
  readonly model?: string;
  /** Default `https://api.morphllm.com/v1`; `/chat/completions` is appended. */
  readonly baseUrl?: string;
  /** Budget of one attempt, response body included. Default 30 000 ms. */
  readonly timeoutMs?: number;
  /** Attempts in all, first one included, when Morph answers 429 or 503. Default 3. */
  readonly maxAttempts?: number;
  /** Cap on one wait between attempts, whatever `Retry-After` asks for. Default 10 000 ms. */
  readonly maxRetryAfterMs?: number;
  /** The fetch to call; the global one by default. */
  readonly fetch?: typeof fetch;
  /** How to wait between attempts; a timer by default (tests record the waits instead). */
  readonly sleep?: (ms: number) => Promise<unknown>;
}

/** Statuses Morph uses for "not now": rate limited, overloaded. Everything else is final. */
const RETRYABLE = new Set([429, 503]);

/** Wait before attempt n+1 when the answer carries no usable `Retry-After` (then capped). */
const backoffMs = (attempt: number) => 500 * 2 ** (attempt - 1);

/**
 * The one user message Morph's Apply models expect, exactly: instruction, original file and
 * update snippet in their tags, separated by single newlines.
 */
export const morphPrompt = (request: Pick<ApplyRequest, 'instruction' | 'original' | 'snippet'>) =>
  `<instruction>${request.instruction}</instruction>\n<code>${request.original}</code>\n<update>${request.snippet}</update>`;

/**
 * Milliseconds a `Retry-After` header asks to wait: delay-seconds or an HTTP date (a date in the
 * past means 0). `undefined` when the header is missing or unreadable.
 *
 * @example retryAfterMs('2') // 2000
 */
export function retryAfterMs(
  header: string | null | undefined,
  now = Date.now(),
): number | undefined {
  if (header === null || header === undefined) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Lazy-edit markers (`// ... existing code ...`, `# …existing code…`, `<!-- ... -->`, …). */
const LAZY_MARKER = /(?:\.{3}|…)\s*existing code\s*(?:\.{3}|…)/gi;

/** How many lazy-edit markers a text holds, whatever the comment style around them. */
export const countLazyMarkers = (text: string) => text.match(LAZY_MARKER)?.length ?? 0;

const lineCount = (text: string) =>
  text === '' ? 0 : text.replace(/\r?\n$/, '').split('\n').length;

/** Gives `merged` the original's ending: a final newline if it had one, none if it had none. */
export function matchFinalNewline(original: string, merged: string): string {
  const originalEnds = original.endsWith('\n');
  const mergedEnds = merged.endsWith('\n');
  if (originalEnds && !mergedEnds) return merged + (original.endsWith('\r\n') ? '\r\n' : '\n');
  if (!originalEnds && mergedEnds) return merged.replace(/\r?\n$/, '');
  return merged;
}

const ChatCompletionSchema = z.object({
  choices: z
    .array(
      z.object({
        message: z.object({ content: z.string() }),
        finish_reason: z.string().nullish(),
      }),
    )
    .min(1),
});

type Failure = { readonly reason: string; readonly message: string };
type AttemptOutcome =
  | { readonly kind: 'answer'; readonly content: string; readonly finishReason?: string | null }
  | { readonly kind: 'retry'; readonly status: number; readonly waitMs: number | undefined }
  | ({ readonly kind: 'failure' } & Failure);

/**
 * The Applier adapter for Morph's Apply API (`POST {baseUrl}/chat/completions`, OpenAI-compatible).
 * Retries 429 and 503 honouring `Retry-After` (capped, bounded attempts); every other outcome is
 * a value: `http-<status>`, `timeout`, `network`, `bad-response`, `truncated`,
 * `marker-in-output`, `lost-content`.
 *
 * @example
 * const morph = new MorphApplier({ apiKey: config.MORPH_API_KEY });
 * const result = await morph.apply({ instruction, original, snippet, path });
 */
export class MorphApplier implements Applier {
  readonly name = 'morph' as const;
  readonly #apiKey: string;
  readonly #model: string;
  readonly #endpoint: string;
  readonly #timeoutMs: number;
  readonly #maxAttempts: number;
  readonly #maxRetryAfterMs: number;
  readonly #fetch: typeof fetch;
  readonly #sleep: (ms: number) => Promise<unknown>;

  constructor(options: MorphApplierOptions) {
    this.#apiKey = options.apiKey;
    this.#model = options.model ?? MORPH_DEFAULT_MODEL;
    this.#endpoint = `${(options.baseUrl ?? MORPH_DEFAULT_BASE_URL).replace(/\/+$/, '')}/chat/completions`;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? 3);
    this.#maxRetryAfterMs = Math.max(0, options.maxRetryAfterMs ?? 10_000);
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#sleep = options.sleep ?? sleep;
  }

  /** The model requests go to (the key stays private). */
  get model(): string {
    return this.#model;
  }

  async apply(request: ApplyRequest): Promise<ApplyResult> {
    const started = performance.now();
    const body = JSON.stringify({
      model: this.#model,
      messages: [{ role: 'user', content: morphPrompt(request) }],
    });
    const fail = (failure: Failure): ApplyResult => ({
      ok: false,
      applier: this.name,
      ...failure,
      duration_ms: performance.now() - started,
    });

    for (let attempt = 1; ; attempt++) {
      const outcome = await this.#attempt(body);
      if (outcome.kind === 'failure') return fail(outcome);
      if (outcome.kind === 'retry') {
        if (attempt >= this.#maxAttempts) {
          return fail({
            reason: `http-${outcome.status}`,
            message: `Morph answered ${outcome.status} on all ${attempt} attempts for ${request.path}`,
          });
        }
        await this.#sleep(Math.min(outcome.waitMs ?? backoffMs(attempt), this.#maxRetryAfterMs));
        continue;
      }
      const checked = this.#check(request, outcome.content, outcome.finishReason);
      if ('reason' in checked) return fail(checked);
      return {
        ok: true,
        applier: this.name,
        merged: checked.merged,
        duration_ms: performance.now() - started,
      };
    }
  }

  async #attempt(body: string): Promise<AttemptOutcome> {
    let response: Response;
    let text: string;
    try {
      response = await this.#fetch(this.#endpoint, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${this.#apiKey}`,
          'content-type': 'application/json',
          accept: 'application/json',
        },
        body,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      // Read inside the try: the timeout also covers a body that trickles in.
      text = await response.text();
    } catch (error) {
      if (isTimeout(error)) {
        return {
          kind: 'failure',
          reason: 'timeout',
          message: `no answer within ${this.#timeoutMs} ms`,
        };
      }
      return {
        kind: 'failure',
        reason: 'network',
        message: `Morph unreachable: ${this.#redact(describe(error))}`,
      };
    }

    if (RETRYABLE.has(response.status)) {
      return {
        kind: 'retry',
        status: response.status,
        waitMs: retryAfterMs(response.headers.get('retry-after')),
      };
    }
    if (!response.ok) {
      return {
        kind: 'failure',
        reason: `http-${response.status}`,
        message: `Morph answered ${response.status}: ${this.#redact(text).slice(0, 200)}`,
      };
    }

    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return {
        kind: 'failure',
        reason: 'bad-response',
        message: 'Morph answered with invalid JSON',
      };
    }
    const parsed = ChatCompletionSchema.safeParse(json);
    if (!parsed.success) {
      const where = parsed.error.issues[0]?.path.map(String).join('.') || '(root)';
      return {
        kind: 'failure',
        reason: 'bad-response',
        message: `Morph's answer is not a chat completion (at ${where})`,
      };
    }
    // `.min(1)` above guarantees the first choice.
    const [choice] = parsed.data.choices;
    return {
      kind: 'answer',
      content: choice?.message.content ?? '',
      finishReason: choice?.finish_reason,
    };
  }

  #check(
    request: ApplyRequest,
    content: string,
    finishReason: string | null | undefined,
  ): { readonly merged: string } | Failure {
    if (finishReason === 'length') {
      return {
        reason: 'truncated',
        message: `Morph stopped at its output limit on ${request.path}`,
      };
    }
    const merged = matchFinalNewline(request.original, content);
    // A marker the original already held may survive; a new one means a region was not merged.
    const markers = countLazyMarkers(merged) - countLazyMarkers(request.original);
    if (markers > 0) {
      return {
        reason: 'marker-in-output',
        message: `the merged ${request.path} still holds ${markers} lazy marker(s)`,
      };
    }
    const before = lineCount(request.original);
    const after = lineCount(merged);
    if (after * 2 < before) {
      return {
        reason: 'lost-content',
        message: `the merged ${request.path} has ${after} lines, the original ${before}`,
      };
    }
    return { merged };
  }

  /** Whatever a server echoes back, the key does not travel further. */
  #redact(text: string): string {
    return this.#apiKey === '' ? text : text.split(this.#apiKey).join('[redacted]');
  }
}

const isTimeout = (error: unknown) =>
  error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');

const describe = (error: unknown): string => {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
};
