import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

/** What the server does with the next accepted request. */
export type ChatBehaviour =
  /** 200 with a chat completion whose first choice holds `content`. */
  | {
      readonly kind: 'answer';
      readonly content: string;
      /** Default `stop`. */
      readonly finishReason?: string;
      /** Reported as `usage`; left out of the answer when not given. */
      readonly usage?: { readonly prompt_tokens: number; readonly completion_tokens: number };
    }
  /** An error status with an OpenAI-style error body (or `body`), and `Retry-After` if given. */
  | {
      readonly kind: 'status';
      readonly status: number;
      readonly retryAfter?: string;
      readonly body?: string;
    }
  /** `body` as is, with `content-type: application/json` (for malformed answers). */
  | { readonly kind: 'raw'; readonly body: string; readonly status?: number }
  /** Accepts the request and never answers. */
  | { readonly kind: 'hang' };

export interface RecordedChatRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
  /** The parsed JSON body, or the raw text when it is not JSON. */
  readonly body: unknown;
  /** The status the server answered with; undefined for a request left hanging. */
  status: number | undefined;
}

export interface ChatServer {
  /** `http://127.0.0.1:<port>/v1`, the base URL clients append `/chat/completions` to. */
  readonly baseUrl: string;
  /** Every request received, in order, rejected ones included. */
  readonly requests: RecordedChatRequest[];
  /** Queues behaviours, one per accepted request; with the queue empty the server answers 500. */
  script(...behaviours: ChatBehaviour[]): void;
  /** Forgets recorded requests and queued behaviours. */
  reset(): void;
  close(): Promise<void>;
}

export interface ChatServerOptions {
  /** The only key accepted in `Authorization: Bearer …`; any other gets a 401. */
  readonly apiKey: string;
  /** Returns what is wrong with a request body (answered 400), or undefined to accept it. */
  readonly validate: (body: unknown) => string | undefined;
}

const readBody = (req: IncomingMessage) =>
  new Promise<string>((done, fail) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      text += chunk;
    });
    req.on('end', () => done(text));
    req.on('error', fail);
  });

const sendJson = (
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body);
};

const errorBody = (message: string, type: string) => JSON.stringify({ error: { message, type } });

/**
 * A local server speaking the OpenAI chat-completions protocol (`POST /v1/chat/completions`),
 * answering from a per-test script. It checks the bearer key (401) and the body (400) before a
 * scripted behaviour is used, and records every request. Listens on 127.0.0.1, ephemeral port.
 */
export async function startChatServer(options: ChatServerOptions): Promise<ChatServer> {
  const requests: RecordedChatRequest[] = [];
  let queue: ChatBehaviour[] = [];
  let served = 0;

  const server = createServer(async (req, res) => {
    const text = await readBody(req);
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Kept as text; the validator reports it.
    }
    const record: RecordedChatRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      authorization: req.headers.authorization,
      body,
      status: undefined,
    };
    requests.push(record);
    const answer = (status: number, payload: string, headers: Record<string, string> = {}) => {
      record.status = status;
      sendJson(res, status, payload, headers);
    };

    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      return answer(404, errorBody(`no route ${req.method} ${req.url}`, 'not_found'));
    }
    if (req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return answer(401, errorBody('Incorrect API key provided', 'invalid_request_error'));
    }
    const problem = typeof body === 'string' ? 'body is not JSON' : options.validate(body);
    if (problem) return answer(400, errorBody(problem, 'invalid_request_error'));

    const behaviour = queue.shift();
    if (!behaviour) return answer(500, errorBody('no scripted behaviour left', 'server_error'));
    switch (behaviour.kind) {
      case 'hang':
        return;
      case 'raw':
        return answer(behaviour.status ?? 200, behaviour.body);
      case 'status':
        return answer(
          behaviour.status,
          behaviour.body ?? errorBody(`scripted ${behaviour.status}`, 'server_error'),
          behaviour.retryAfter === undefined ? {} : { 'retry-after': behaviour.retryAfter },
        );
      case 'answer': {
        served += 1;
        const model = (body as { model?: unknown }).model;
        return answer(
          200,
          JSON.stringify({
            id: `chatcmpl-local-${served}`,
            object: 'chat.completion',
            created: Math.floor(Date.now() / 1000),
            model,
            choices: [
              {
                index: 0,
                message: { role: 'assistant', content: behaviour.content },
                finish_reason: behaviour.finishReason ?? 'stop',
              },
            ],
            ...(behaviour.usage
              ? {
                  usage: {
                    ...behaviour.usage,
                    total_tokens: behaviour.usage.prompt_tokens + behaviour.usage.completion_tokens,
                  },
                }
              : {}),
          }),
        );
      }
    }
  });

  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => done());
  });
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    script: (...behaviours) => {
      queue.push(...behaviours);
    },
    reset: () => {
      requests.length = 0;
      queue = [];
    },
    close: () =>
      new Promise<void>((done) => {
        // Hanging requests keep their sockets open; drop them so close() returns.
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

const OpenAiRequestSchema = z.object({
  model: z.string().min(1),
  messages: z
    .array(z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string() }))
    .min(1),
  max_tokens: z.number().int().positive(),
  // Not required by OpenAI; required here because our client promises deterministic sampling.
  temperature: z.literal(0),
});

/** Parses a request body the way the OpenAI-compatible server checks it. */
export const parseOpenAiRequest = (body: unknown) => OpenAiRequestSchema.parse(body);

/** An OpenAI-compatible server that also insists on `max_tokens` and `temperature: 0`. */
export const startOpenAiServer = (options: { readonly apiKey: string }) =>
  startChatServer({
    apiKey: options.apiKey,
    validate: (body) => {
      const parsed = OpenAiRequestSchema.safeParse(body);
      return parsed.success
        ? undefined
        : parsed.error.issues
            .map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`)
            .join('; ');
    },
  });
