import { z } from 'zod';

export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

/** Tokens one call consumed, as the server reported them. */
export interface TokenUsage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
}

export type ChatResult =
  | {
      readonly ok: true;
      readonly content: string;
      readonly finish_reason: string | null;
      readonly usage: TokenUsage;
      readonly duration_ms: number;
    }
  | {
      readonly ok: false;
      /** `http-<status>`, `timeout`, `network` or `bad-response`. */
      readonly reason: string;
      readonly message: string;
      readonly duration_ms: number;
    };

export interface ChatClientOptions {
  /** E.g. `https://api.openai.com/v1`; `/chat/completions` is appended. */
  readonly baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>`; never logged, never part of a result. */
  readonly apiKey: string;
  readonly model: string;
  /** `max_tokens` of every call. Default 1 024. */
  readonly maxTokens?: number;
  /** Budget of one call, response body included. Default 30 000 ms. */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

export interface ChatClient {
  readonly model: string;
  complete(messages: readonly ChatMessage[]): Promise<ChatResult>;
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
  // Required: the token budget is enforced from what the server says it spent.
  usage: z.object({
    prompt_tokens: z.number().int().nonnegative(),
    completion_tokens: z.number().int().nonnegative(),
  }),
});

/**
 * A minimal OpenAI-compatible chat-completions client: one `POST {baseUrl}/chat/completions` per
 * call with `temperature: 0`, no retries, results as values.
 *
 * @example
 * const client = createChatClient({ baseUrl, apiKey, model: 'gpt-4o-mini' });
 * const answer = await client.complete([{ role: 'user', content: 'Hi' }]);
 */
export function createChatClient(options: ChatClientOptions): ChatClient {
  const endpoint = `${options.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxTokens = options.maxTokens ?? 1_024;
  const doFetch = options.fetch ?? globalThis.fetch;
  const redact = (text: string) =>
    options.apiKey === '' ? text : text.split(options.apiKey).join('[redacted]');

  return {
    model: options.model,
    async complete(messages) {
      const started = performance.now();
      const fail = (reason: string, message: string): ChatResult => ({
        ok: false,
        reason,
        message: redact(message),
        duration_ms: performance.now() - started,
      });

      let response: Response;
      let text: string;
      try {
        response = await doFetch(endpoint, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${options.apiKey}`,
            'content-type': 'application/json',
            accept: 'application/json',
          },
          body: JSON.stringify({
            model: options.model,
            messages,
            max_tokens: maxTokens,
            temperature: 0,
          }),
          signal: AbortSignal.timeout(timeoutMs),
        });
        text = await response.text();
      } catch (error) {
        if (
          error instanceof Error &&
          (error.name === 'TimeoutError' || error.name === 'AbortError')
        ) {
          return fail('timeout', `no answer within ${timeoutMs} ms`);
        }
        const cause =
          error instanceof Error && error.cause instanceof Error ? error.cause.message : '';
        return fail(
          'network',
          `unreachable: ${error instanceof Error ? error.message : String(error)} ${cause}`.trim(),
        );
      }

      if (!response.ok) {
        return fail(
          `http-${response.status}`,
          `answered ${response.status}: ${text.slice(0, 200)}`,
        );
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        return fail('bad-response', 'answer is not JSON');
      }
      const parsed = ChatCompletionSchema.safeParse(json);
      if (!parsed.success) {
        const where = parsed.error.issues[0]?.path.map(String).join('.') || '(root)';
        return fail('bad-response', `answer is not a chat completion with usage (at ${where})`);
      }
      const [choice] = parsed.data.choices;
      return {
        ok: true,
        content: choice?.message.content ?? '',
        finish_reason: choice?.finish_reason ?? null,
        usage: {
          prompt_tokens: parsed.data.usage.prompt_tokens,
          completion_tokens: parsed.data.usage.completion_tokens,
        },
        duration_ms: performance.now() - started,
      };
    },
  };
}
