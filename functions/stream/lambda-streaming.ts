import type { Writable } from 'node:stream';

/**
 * What the Lambda Node.js runtime provides to response-streaming functions, typed: the
 * `awslambda` global with `streamifyResponse` and `HttpResponseStream.from`. In AWS the runtime
 * defines it; locally `infra/local/stream-shim.ts` installs an equivalent over `node:http`.
 */

/** The status and headers a Function URL sends before the streamed body. */
export interface HttpResponsePrelude {
  readonly statusCode?: number;
  readonly headers?: Record<string, string>;
  readonly cookies?: readonly string[];
}

/** The parts of the Lambda context a streaming handler may use. */
export interface LambdaContextLike {
  readonly awsRequestId: string;
  readonly functionName: string;
  getRemainingTimeInMillis(): number;
}

/** A handler the runtime calls with a writable response stream (`InvokeMode: RESPONSE_STREAM`). */
export type StreamingHandler<E> = (
  event: E,
  responseStream: Writable,
  context: LambdaContextLike,
) => Promise<void>;

/** The `awslambda` global of the Node.js runtime (the part response streaming needs). */
export interface AwsLambdaStreaming {
  streamifyResponse<E>(handler: StreamingHandler<E>): StreamingHandler<E>;
  readonly HttpResponseStream: {
    /** Sends the prelude (status, headers) and returns the stream the body is written to. */
    from(responseStream: Writable, prelude: HttpResponsePrelude): Writable;
  };
}

declare global {
  /** Defined by the Lambda Node.js runtime; locally by the stream shim. */
  var awslambda: AwsLambdaStreaming | undefined;
}

/**
 * A Function URL request (payload format 2.0), reduced to what an HTTP streaming handler reads.
 * Header names are lower case, as Function URLs deliver them.
 */
export interface FunctionUrlEvent {
  readonly version?: string;
  readonly rawPath?: string;
  readonly rawQueryString?: string;
  readonly headers?: Readonly<Record<string, string | undefined>>;
  readonly queryStringParameters?: Readonly<Record<string, string | undefined>>;
  readonly requestContext?: {
    readonly http?: { readonly method?: string; readonly path?: string };
  };
}
