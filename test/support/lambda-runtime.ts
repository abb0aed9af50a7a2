import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type {
  AwsLambdaStreaming,
  HttpResponsePrelude,
} from '../../functions/stream/lambda-streaming.js';

/** The Lambda context object as the Node.js runtime passes it (the fields handlers read). */
export interface LambdaContext {
  readonly awsRequestId: string;
  readonly functionName: string;
  readonly functionVersion: string;
  readonly invokedFunctionArn: string;
  readonly memoryLimitInMB: string;
  readonly logGroupName: string;
  readonly logStreamName: string;
  callbackWaitsForEmptyEventLoop: boolean;
  getRemainingTimeInMillis(): number;
}

/** A context whose deadline a test may bring forward (never push back), as time running out. */
export interface TestLambdaContext extends LambdaContext {
  /** Moves the deadline to `ms` from now, if that is earlier than it is. */
  endIn(ms: number): void;
}

/** The context of one invocation of `functionName` with `timeoutMs` left from now. */
export function lambdaContext(functionName: string, timeoutMs: number): TestLambdaContext {
  let deadline = Date.now() + timeoutMs;
  return {
    awsRequestId: randomUUID(),
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '512',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `2026/01/01/[$LATEST]${randomUUID().replaceAll('-', '')}`,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    endIn(ms) {
      deadline = Math.min(deadline, Date.now() + ms);
    },
  };
}

/** Bytes between the JSON prelude and the body of a streamed HTTP response. */
const PRELUDE_DELIMITER = Buffer.alloc(8);
/** The content type the runtime gives a response whose handler sent a prelude. */
export const HTTP_INTEGRATION_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';

/** One server-sent events block. */
export interface SseBlock {
  readonly id?: string;
  readonly event?: string;
  readonly data?: string;
  readonly retry?: number;
  readonly comments: readonly string[];
}

/**
 * The response stream the runtime hands a streaming handler, recording what is written: the
 * prelude `HttpResponseStream.from` wrote (status and headers) and the body after it.
 */
export class ResponseCapture extends Writable {
  contentType = 'application/octet-stream';
  readonly #chunks: Buffer[] = [];
  readonly #waiters = new Set<() => void>();

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error) => void): void {
    this.#chunks.push(Buffer.from(chunk));
    for (const wake of this.#waiters) wake();
    done();
  }

  /** Everything written, prelude included. */
  bytes(): Buffer {
    return Buffer.concat(this.#chunks);
  }

  /** The prelude, once written. */
  prelude(): HttpResponsePrelude | undefined {
    const bytes = this.bytes();
    const end = bytes.indexOf(PRELUDE_DELIMITER);
    if (this.contentType !== HTTP_INTEGRATION_CONTENT_TYPE || end < 0) return undefined;
    return JSON.parse(bytes.subarray(0, end).toString('utf8')) as HttpResponsePrelude;
  }

  /** The body: what follows the prelude. */
  body(): string {
    const bytes = this.bytes();
    if (this.contentType !== HTTP_INTEGRATION_CONTENT_TYPE) return bytes.toString('utf8');
    const end = bytes.indexOf(PRELUDE_DELIMITER);
    return end < 0 ? '' : bytes.subarray(end + PRELUDE_DELIMITER.byteLength).toString('utf8');
  }

  /** The complete server-sent event blocks of the body so far. */
  blocks(): SseBlock[] {
    const complete = this.body().split('\n\n').slice(0, -1);
    return complete.map((block) => {
      const fields: { id?: string; event?: string; data?: string[]; retry?: number } = {};
      const comments: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) {
          comments.push(line.slice(1).trim());
          continue;
        }
        const colon = line.indexOf(':');
        const name = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (name === 'id') fields.id = value;
        else if (name === 'event') fields.event = value;
        else if (name === 'data') fields.data = [...(fields.data ?? []), value];
        else if (name === 'retry') fields.retry = Number(value);
      }
      return {
        ...(fields.id === undefined ? {} : { id: fields.id }),
        ...(fields.event === undefined ? {} : { event: fields.event }),
        ...(fields.data === undefined ? {} : { data: fields.data.join('\n') }),
        ...(fields.retry === undefined ? {} : { retry: fields.retry }),
        comments,
      };
    });
  }

  /** Resolves once `check` holds for what was written, or fails after `timeoutMs`. */
  async waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; body so far:\n${this.body()}`);
      await new Promise<void>((done) => {
        const wake = () => {
          clearTimeout(timer);
          this.#waiters.delete(wake);
          done();
        };
        const timer = setTimeout(wake, Math.min(left, 100));
        this.#waiters.add(wake);
      });
    }
  }
}

/**
 * What the Lambda Node.js runtime provides to response-streaming handlers, as it provides it:
 * `streamifyResponse` marks the handler for the runtime to call with `(event, responseStream,
 * context)`, and `HttpResponseStream.from` sets the response's content type to the HTTP
 * integration type and writes the prelude (status, headers, cookies) as JSON followed by eight
 * NUL bytes, which the Function URL turns into the status line and headers.
 */
export const streamingRuntime: AwsLambdaStreaming = {
  streamifyResponse: (handler) => handler,
  HttpResponseStream: {
    from(responseStream, prelude) {
      if (responseStream instanceof ResponseCapture) {
        responseStream.contentType = HTTP_INTEGRATION_CONTENT_TYPE;
      }
      responseStream.write(Buffer.from(JSON.stringify(prelude), 'utf8'));
      responseStream.write(PRELUDE_DELIMITER);
      return responseStream;
    },
  },
};

/**
 * Defines the `awslambda` global as the runtime does, before a streaming bundle is imported
 * (middy wraps the handler with it at import). Other members already there (the AWS SDK's invoke
 * store) are kept. Returns a function that restores what was there before.
 */
export function installStreamingRuntime(): () => void {
  const before = globalThis.awslambda;
  const target = (before ?? {}) as { -readonly [K in keyof AwsLambdaStreaming]?: unknown };
  const saved = { ...target };
  target.streamifyResponse = streamingRuntime.streamifyResponse;
  target.HttpResponseStream = streamingRuntime.HttpResponseStream;
  globalThis.awslambda = target as AwsLambdaStreaming;
  return () => {
    if (before === undefined) {
      globalThis.awslambda = undefined;
      return;
    }
    target.streamifyResponse = saved.streamifyResponse;
    target.HttpResponseStream = saved.HttpResponseStream;
  };
}

/** A buffered Function URL handler, as the API and demo shop entries export theirs. */
export type FunctionUrlHandler = (event: unknown, context: LambdaContext) => Promise<unknown>;

/** What a buffered Function URL handler returns (payload format 2.0). */
interface FunctionUrlResult {
  readonly statusCode?: number;
  readonly headers?: Record<string, string>;
  readonly cookies?: string[];
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
}

/**
 * Serves a buffered Function URL handler on a loopback port: each HTTP request becomes the event
 * Lambda sends for a Function URL (payload format 2.0), and the handler's result becomes the
 * response, as the URL's front end does.
 */
export async function serveFunctionUrl(
  handler: FunctionUrlHandler,
  functionName = 'selfheal-function-url',
): Promise<{ url: string; close(): Promise<void> }> {
  const { createServer } = await import('node:http');
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      const headers = Object.fromEntries(
        Object.entries(request.headers).map(([name, value]) => [
          name,
          Array.isArray(value) ? value.join(',') : (value ?? ''),
        ]),
      );
      const body = Buffer.concat(chunks);
      const event = {
        version: '2.0',
        routeKey: '$default',
        rawPath: url.pathname,
        rawQueryString: url.search.slice(1),
        headers,
        ...(url.search ? { queryStringParameters: Object.fromEntries(url.searchParams) } : {}),
        requestContext: {
          accountId: 'anonymous',
          apiId: 'local',
          domainName: headers.host ?? 'localhost',
          http: {
            method: request.method ?? 'GET',
            path: url.pathname,
            protocol: 'HTTP/1.1',
            sourceIp: '127.0.0.1',
            userAgent: headers['user-agent'] ?? '',
          },
          requestId: randomUUID(),
          routeKey: '$default',
          stage: '$default',
          time: new Date().toUTCString(),
          timeEpoch: Date.now(),
        },
        ...(body.length > 0 ? { body: body.toString('base64'), isBase64Encoded: true } : {}),
        isBase64Encoded: body.length > 0,
      };
      try {
        const result = (await handler(event, lambdaContext(functionName, 30_000))) as
          | FunctionUrlResult
          | undefined;
        response.writeHead(result?.statusCode ?? 200, result?.headers ?? {});
        const payload = result?.body ?? '';
        response.end(result?.isBase64Encoded ? Buffer.from(payload, 'base64') : payload);
      } catch (error) {
        response.writeHead(502, { 'content-type': 'text/plain' });
        response.end(`function error: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}
