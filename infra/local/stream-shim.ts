import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import type { Logger } from '../../functions/runtime/logger.js';
import type {
  AwsLambdaStreaming,
  FunctionUrlEvent,
  HttpResponsePrelude,
  LambdaContextLike,
  StreamingHandler,
} from '../../functions/stream/lambda-streaming.js';

/** The responses this process's shim handed to handlers as their response stream. */
const shimResponses = new WeakSet<Writable>();

/**
 * The local `awslambda` global: `streamifyResponse` returns the handler as is (the shim calls
 * it with a response stream, as the runtime does), and `HttpResponseStream.from` sends the
 * prelude as the HTTP status line and headers, flushed at once, then returns the same stream.
 */
const localAwsLambda: AwsLambdaStreaming = {
  streamifyResponse: (handler) => handler,
  HttpResponseStream: {
    from(responseStream: Writable, prelude: HttpResponsePrelude): Writable {
      if (!shimResponses.has(responseStream)) return responseStream;
      const response = responseStream as ServerResponse;
      if (response.headersSent) return responseStream;
      const headers: Record<string, string | string[]> = { ...prelude.headers };
      if (prelude.cookies?.length) headers['set-cookie'] = [...prelude.cookies];
      response.writeHead(prelude.statusCode ?? 200, headers);
      // The status and headers leave now, not with the first frame.
      response.flushHeaders();
      return responseStream;
    },
  },
};

/**
 * Installs what the Lambda Node.js runtime provides to response-streaming functions (the
 * `awslambda` global), unless a runtime already did. Call it before creating a streaming
 * handler: middy wraps the handler with `awslambda.streamifyResponse` when it is created.
 *
 * The AWS SDK (through `@aws/lambda-invoke-store`) may already have set `awslambda` to an
 * object of its own; the streaming members are added to it, never replacing what is there.
 */
export function installLambdaStreamingRuntime(): AwsLambdaStreaming {
  const existing = globalThis.awslambda as Partial<AwsLambdaStreaming> | undefined;
  if (!existing) {
    globalThis.awslambda = { ...localAwsLambda };
  } else {
    const target = existing as {
      -readonly [K in keyof AwsLambdaStreaming]?: AwsLambdaStreaming[K];
    };
    target.streamifyResponse ??= localAwsLambda.streamifyResponse;
    target.HttpResponseStream ??= localAwsLambda.HttpResponseStream;
  }
  return globalThis.awslambda as AwsLambdaStreaming;
}

/** Turns a Node request into the Function URL event (payload 2.0) the handler expects. */
export function functionUrlEventOf(request: IncomingMessage): FunctionUrlEvent & {
  readonly routeKey: string;
  readonly isBase64Encoded: boolean;
  readonly cookies?: string[];
} {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  // Function URLs join repeated query parameters with commas.
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) {
    query[name] = query[name] === undefined ? value : `${query[name]},${value}`;
  }
  const cookies = headers.cookie?.split(/;\s*/).filter(Boolean);
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    ...(cookies?.length ? { cookies } : {}),
    requestContext: { http: { method: request.method ?? 'GET', path: url.pathname } },
    isBase64Encoded: false,
  };
}

export interface StreamShimOptions {
  readonly logger: Logger;
  /** The emulated function's timeout (`getRemainingTimeInMillis`); 15 min, Lambda's maximum. */
  readonly timeoutMs?: number;
  readonly functionName?: string;
}

/** A Lambda response-streaming handler served over `node:http`. */
export interface StreamShim {
  /** Serves one request through the handler, writing to the socket as the handler writes. */
  handle(request: IncomingMessage, response: ServerResponse): void;
  /** Responses still streaming. */
  readonly open: number;
  /**
   * Waits up to `graceMs` for the open responses to finish (after the handler was told to end
   * them), then destroys what is left, so shutdown never waits on a client.
   */
  close(graceMs?: number): Promise<void>;
}

const isPrematureClose = (error: unknown): boolean =>
  error instanceof Error &&
  'code' in error &&
  (error.code === 'ERR_STREAM_PREMATURE_CLOSE' || error.code === 'ERR_STREAM_DESTROYED');

/**
 * Runs a Lambda-shaped response-streaming handler (`awslambda.streamifyResponse`, as middy 6
 * builds with `streamifyResponse: true`) locally over `node:http`, providing what the Lambda
 * runtime provides: the Function URL event, a context with `getRemainingTimeInMillis`, and the
 * `ServerResponse` as the response stream (Nagle off, no compression, headers flushed by
 * `HttpResponseStream.from`), so each frame reaches the socket when it is written.
 *
 * @example
 * ```ts
 * installLambdaStreamingRuntime();
 * const shim = createStreamShim(createTraceStream({ resources }).handler, { logger });
 * createServer((req, res) => (req.url?.startsWith('/api/stream') ? shim.handle(req, res) : app(req, res)));
 * ```
 */
export function createStreamShim(
  handler: StreamingHandler<FunctionUrlEvent>,
  options: StreamShimOptions,
): StreamShim {
  installLambdaStreamingRuntime();
  const timeoutMs = options.timeoutMs ?? 15 * 60_000;
  const functionName = options.functionName ?? 'selfheal-stream-local';
  const open = new Set<ServerResponse>();
  let settled: (() => void) | undefined;

  return {
    handle(request, response) {
      const started = Date.now();
      const context: LambdaContextLike = {
        awsRequestId: randomUUID(),
        functionName,
        getRemainingTimeInMillis: () => Math.max(0, timeoutMs - (Date.now() - started)),
      };
      request.socket.setNoDelay(true);
      // Lambda's default for a body without a prelude.
      response.setHeader('content-type', 'application/octet-stream');
      shimResponses.add(response);
      open.add(response);
      response.once('close', () => {
        open.delete(response);
        if (open.size === 0) settled?.();
      });
      request.resume();
      handler(functionUrlEventOf(request), response, context).catch((error: unknown) => {
        if (!response.headersSent) {
          options.logger.error({ err: error }, 'streaming handler failed');
          response.writeHead(500, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ error: 'internal', message: 'internal error' }));
          return;
        }
        // The client left or was dropped: the body was cut, which the handler already knows.
        if (!isPrematureClose(error)) {
          options.logger.warn({ err: error }, 'streaming response failed');
        }
        if (!response.writableEnded) response.destroy();
      });
    },
    get open() {
      return open.size;
    },
    async close(graceMs = 1_000) {
      if (open.size > 0) {
        await new Promise<void>((done) => {
          const timer = setTimeout(done, graceMs);
          settled = () => {
            clearTimeout(timer);
            done();
          };
        });
        settled = undefined;
      }
      for (const response of open) response.destroy();
    },
  };
}
