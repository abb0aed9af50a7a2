import type { Readable } from 'node:stream';
import middy from '@middy/core';
import type { TraceSource } from '../ports/bus.js';
import type { Logger } from '../runtime/logger.js';
import type { FunctionUrlEvent, StreamingHandler } from './lambda-streaming.js';
import { DEFAULT_STREAM_SETTINGS, type StreamSettings } from './settings.js';
import { type EntryPosition, parseEntryPosition } from './sse-frames.js';
import { type SessionCounters, SseSession } from './sse-session.js';
import { type HubStats, TraceHub } from './trace-hub.js';

/** The response headers of the stream. No compression: frames must leave as they are written. */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
  // Proxies that buffer (nginx) pass the stream through as it comes.
  'x-accel-buffering': 'no',
};

/** What the endpoint needs from the process: the trace stream to read (the bus, or its mirror in AWS) and a logger. */
export interface TraceStreamResources {
  readonly bus: TraceSource;
  readonly logger: Logger;
}

export interface TraceStreamOptions {
  /** Resolved on the first request (a Lambda cold start builds its ports there). */
  readonly resources: () => TraceStreamResources | Promise<TraceStreamResources>;
  /** Defaults: {@link DEFAULT_STREAM_SETTINGS}. */
  readonly settings?: Partial<StreamSettings>;
}

/** Counters of the endpoint: connections and what the shared tailer did. */
export interface TraceStreamStats extends SessionCounters, HubStats {
  /** Connections open now. */
  readonly connections: number;
}

/** The live trace stream endpoint of one process. */
export interface TraceStream {
  /** The Lambda response-streaming handler (`(event, responseStream, context)`). */
  readonly handler: StreamingHandler<FunctionUrlEvent>;
  /** The settings new connections get. */
  settings(): StreamSettings;
  /** Changes settings for connections opened from now on (the tailer's at its next read). */
  configure(overrides: Partial<StreamSettings>): void;
  stats(): TraceStreamStats;
  /** Ends every open connection cleanly and stops the tailer; later requests get 503. */
  close(): void;
}

/** A parsed stream request, or why it is refused. */
export type StreamRequest =
  | {
      readonly ok: true;
      readonly lastEventId: EntryPosition | undefined;
      readonly incident: string | undefined;
    }
  | { readonly ok: false; readonly field: string; readonly message: string };

/**
 * Reads `Last-Event-ID` (the header a reconnecting `EventSource` sends; else `?lastEventId=`,
 * for the first connection, where browsers cannot set headers) and `?incident=`. The header
 * wins over the query: after a reconnect the URL still carries the first id.
 */
export function parseStreamRequest(event: FunctionUrlEvent): StreamRequest {
  const header = event.headers?.['last-event-id'];
  const query = event.queryStringParameters ?? {};
  const rawId = header?.trim() ? header : query.lastEventId;
  let lastEventId: EntryPosition | undefined;
  if (rawId !== undefined && rawId.trim() !== '') {
    lastEventId = parseEntryPosition(rawId);
    if (!lastEventId) {
      return {
        ok: false,
        field: header?.trim() ? 'Last-Event-ID' : 'lastEventId',
        message: 'a stream entry id: <ms>-<seq>',
      };
    }
  }
  const incident = query.incident;
  if (incident !== undefined && (incident.trim() === '' || incident.length > 200)) {
    return { ok: false, field: 'incident', message: 'an incident id (1–200 characters)' };
  }
  return { ok: true, lastEventId, incident };
}

const json = (statusCode: number, body: Record<string, unknown>) => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

type StreamResponse =
  | { statusCode: number; headers: Record<string, string>; body: string }
  | { statusCode: number; headers: Record<string, string>; body: Readable };

/**
 * Builds `GET /api/stream`: a middy 6 handler with `streamifyResponse: true`. The handler
 * returns `{ statusCode, headers, body }` with a readable body; middy sends the status and
 * headers through `awslambda.HttpResponseStream.from` and pipes the body into the response
 * stream, so frames leave as they are written. One {@link TraceHub} per endpoint tails the
 * stream for all its connections.
 *
 * Needs the `awslambda` global when called: the Lambda runtime defines it, and locally
 * `infra/local/stream-shim.ts` installs it first.
 *
 * @example
 * ```ts
 * const stream = createTraceStream({ resources: () => ({ bus: ports.bus, logger: ports.logger }) });
 * export const handler = stream.handler;
 * ```
 */
export function createTraceStream(options: TraceStreamOptions): TraceStream {
  if (!globalThis.awslambda?.streamifyResponse) {
    throw new Error(
      'the awslambda global is missing: outside Lambda, install the stream shim first (infra/local/stream-shim.ts)',
    );
  }
  let settings: StreamSettings = { ...DEFAULT_STREAM_SETTINGS, ...options.settings };
  const counters: SessionCounters = {
    opened: 0,
    ended: 0,
    dropped: 0,
    disconnected: 0,
    delivered: 0,
  };
  const sessions = new Set<SseSession>();
  let closed = false;
  let ready: Promise<TraceStreamResources & { hub: TraceHub }> | undefined;
  let hub: TraceHub | undefined;

  const resources = () => {
    ready ??= Promise.resolve(options.resources()).then(
      (found) => {
        hub = new TraceHub({
          bus: found.bus,
          stream: settings.stream,
          logger: found.logger,
          settings: () => settings,
        });
        return { ...found, hub };
      },
      (error: unknown) => {
        // A failed cold start is retried by the next request.
        ready = undefined;
        throw error;
      },
    );
    return ready;
  };

  const base = async (event: FunctionUrlEvent): Promise<StreamResponse> => {
    const method = event.requestContext?.http?.method ?? 'GET';
    if (method !== 'GET') {
      return json(405, { error: 'method_not_allowed', message: 'GET /api/stream' });
    }
    const request = parseStreamRequest(event);
    if (!request.ok) {
      return json(400, { error: 'bad_request', field: request.field, message: request.message });
    }
    if (closed) return json(503, { error: 'unavailable', message: 'the server is stopping' });
    let found: Awaited<ReturnType<typeof resources>>;
    try {
      found = await resources();
    } catch {
      return json(503, { error: 'unavailable', message: 'the trace stream cannot be read now' });
    }
    const { bus, logger, hub: theHub } = found;
    const session = new SseSession({
      bus,
      hub: theHub,
      settings,
      logger,
      counters,
      lastEventId: request.lastEventId,
      incident: request.incident,
      onClose: (ended) => sessions.delete(ended),
    });
    try {
      await session.open();
    } catch (error) {
      logger.error({ err: error }, 'trace stream could not start');
      return json(503, { error: 'unavailable', message: 'the trace stream cannot be read now' });
    }
    if (closed) {
      session.end();
    } else {
      sessions.add(session);
    }
    return { statusCode: 200, headers: { ...SSE_HEADERS }, body: session.body };
  };

  // middy 6 with streamifyResponse wraps the handler in awslambda.streamifyResponse: what it
  // returns is the runtime's (event, responseStream, context) function, typed here as such.
  const handler = middy<FunctionUrlEvent, StreamResponse>({ streamifyResponse: true }).handler(
    base,
  ) as unknown as StreamingHandler<FunctionUrlEvent>;

  return {
    handler,
    settings: () => settings,
    configure(overrides) {
      settings = { ...settings, ...overrides, stream: settings.stream };
    },
    stats() {
      const hubStats = hub?.stats() ?? {
        subscribers: 0,
        tailReads: 0,
        tailEntries: 0,
        invalid: 0,
        tailErrors: 0,
      };
      return { ...counters, ...hubStats, connections: sessions.size };
    },
    close() {
      closed = true;
      for (const session of [...sessions]) session.end();
      hub?.close();
    },
  };
}
