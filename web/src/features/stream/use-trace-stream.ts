import { useCallback, useEffect, useRef, useState } from 'react';
import { type AnyEvent, eventTypes, parseEvent } from '../../../../events/index.js';
import {
  type EventSourceConstructor,
  type EventSourceLike,
  READY_STATE,
  useEventSourceConstructor,
} from './event-source.js';

/** Where the runtime serves the trace stream (Server-Sent Events). */
export const STREAM_URL = '/api/stream';

export type StreamStatus = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

/** What a live view knows about its stream. */
export interface TraceStreamState {
  readonly status: StreamStatus;
  /** The id of the last frame delivered, well-formed or not: where a reconnect resumes. */
  readonly lastEventId: string | undefined;
  /** Frames parsed into known events. */
  readonly received: number;
  /** Frames that were not a known event: bad JSON, bad envelope, unknown type or version. */
  readonly malformed: number;
  /** Why the last malformed frame was refused, with the path of the failing value. */
  readonly lastProblem: string | undefined;
  /** How long the last event took from `occurred_at` to this page, in ms. */
  readonly lagMs: number | undefined;
  /** When the next connection attempt starts, after the server closed or refused the stream. */
  readonly retryAt: number | undefined;
}

export interface TraceStreamOptions {
  /** Only this incident's frames (`?incident=`). */
  readonly incidentId?: string | undefined;
  /** Called with every well-formed event, in order. */
  readonly onEvent?: ((event: AnyEvent) => void) | undefined;
  /**
   * Called when the stream opens again after a break: frames may have been missed (a resume
   * point the server no longer has, a reload), so reads should be refreshed.
   */
  readonly onReconnect?: (() => void) | undefined;
  /** Overrides the `EventSource` from context (tests). */
  readonly EventSource?: EventSourceConstructor | undefined;
  /** Where the last id survives a page load; `sessionStorage` by default. */
  readonly storage?: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> | undefined;
  /** Delay before reconnect attempt `n` (1, 2, …) once the browser has given up. */
  readonly retryDelayMs?: ((attempt: number) => number) | undefined;
  readonly url?: string | undefined;
}

const defaultRetryDelay = (attempt: number) => Math.min(15_000, 1_000 * 2 ** (attempt - 1));

const storageKey = (incidentId: string | undefined) =>
  `selfheal.stream.lastEventId:${incidentId ?? '*'}`;

function sessionStore(): Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> | undefined {
  try {
    return globalThis.sessionStorage;
  } catch {
    // Storage can be refused (privacy settings): the stream then resumes within the page only.
    return undefined;
  }
}

/** The stream URL with its filter and, for a fresh connection, where to resume. */
export function streamUrl(base: string, incidentId?: string, lastEventId?: string): string {
  const params = new URLSearchParams();
  if (incidentId) params.set('incident', incidentId);
  if (lastEventId) params.set('lastEventId', lastEventId);
  const query = params.toString();
  return query ? `${base}?${query}` : base;
}

/** Frame names the page listens for: every registered event type, and unnamed frames. */
const FRAME_TYPES = ['message', ...eventTypes];

/**
 * Follows the trace stream while mounted. Every frame is parsed with the shared `events/`
 * schemas; a malformed one is counted and skipped, never thrown. The browser's own reconnects
 * resume with `Last-Event-ID`; when the server refuses or closes the stream for good, the hook
 * reconnects itself with backoff and passes the last id as `?lastEventId=`. Unmounting closes
 * the connection.
 */
export function useTraceStream(options: TraceStreamOptions = {}) {
  const fromContext = useEventSourceConstructor();
  const Source = options.EventSource ?? fromContext;
  const { incidentId } = options;
  const url = options.url ?? STREAM_URL;
  const storage = options.storage ?? sessionStore();
  const key = storageKey(incidentId);

  const onEventRef = useRef(options.onEvent);
  onEventRef.current = options.onEvent;
  const onReconnectRef = useRef(options.onReconnect);
  onReconnectRef.current = options.onReconnect;
  // Whether this view ever had the stream open: a later open is a reconnect.
  const everOpenRef = useRef(false);
  const retryDelayRef = useRef(options.retryDelayMs ?? defaultRetryDelay);
  retryDelayRef.current = options.retryDelayMs ?? defaultRetryDelay;
  const storageRef = useRef(storage);
  storageRef.current = storage;
  const lastIdRef = useRef<string | undefined>(undefined);
  const lastIdKeyRef = useRef<string | undefined>(undefined);

  const [state, setState] = useState<TraceStreamState>(() => ({
    status: Source ? 'connecting' : 'disconnected',
    lastEventId: undefined,
    received: 0,
    malformed: 0,
    lastProblem: undefined,
    lagMs: undefined,
    retryAt: undefined,
  }));
  // Bumped by `reconnect()` to tear the connection down and open a fresh one now.
  const [generation, setGeneration] = useState(0);
  const reconnect = useCallback(() => setGeneration((n) => n + 1), []);

  useEffect(() => {
    void generation;
    if (lastIdKeyRef.current !== key) {
      // Each filter keeps its own position: a new filter resumes where it last stopped.
      lastIdKeyRef.current = key;
      lastIdRef.current = readStored(storageRef.current, key);
      setState((s) => ({ ...s, lastEventId: lastIdRef.current }));
    }
    if (!Source) {
      setState((s) => ({ ...s, status: 'disconnected', retryAt: undefined }));
      return;
    }
    let source: EventSourceLike | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let attempts = 0;
    let closed = false;

    const refuse = (problem: string) =>
      setState((s) => ({ ...s, malformed: s.malformed + 1, lastProblem: problem }));

    const onFrame = (frameType: string) => (message: MessageEvent) => {
      if (message.lastEventId) {
        lastIdRef.current = message.lastEventId;
        try {
          storageRef.current?.setItem(key, message.lastEventId);
        } catch {
          // A full or refused storage only costs resuming after a reload.
        }
        setState((s) => ({ ...s, lastEventId: message.lastEventId }));
      }
      const parsed = parseEvent(message.data);
      if (!parsed.ok) {
        refuse(parsed.reason);
        return;
      }
      const event = parsed.event;
      if (frameType !== 'message' && event.type !== frameType) {
        refuse(`frame "${frameType}" carries a "${event.type}" event`);
        return;
      }
      const occurred = Date.parse(event.occurred_at);
      setState((s) => ({
        ...s,
        received: s.received + 1,
        lagMs: Number.isNaN(occurred) ? s.lagMs : Math.max(0, Date.now() - occurred),
      }));
      onEventRef.current?.(event);
    };

    const open = () => {
      // A fresh EventSource knows no Last-Event-ID: say where to resume in the URL.
      const resumeFrom = lastIdRef.current;
      const next = new Source(streamUrl(url, incidentId, resumeFrom));
      source = next;
      let opened = false;
      next.onopen = () => {
        opened = true;
        attempts = 0;
        if (everOpenRef.current) onReconnectRef.current?.();
        everOpenRef.current = true;
        setState((s) => ({ ...s, status: 'connected', retryAt: undefined }));
      };
      next.onerror = () => {
        if (closed || source !== next) return;
        if (next.readyState === READY_STATE.closed) {
          // The browser gave up (a 404, a non-stream answer): close and retry with backoff.
          next.close();
          if (!opened && resumeFrom !== undefined && lastIdRef.current === resumeFrom) {
            // The server may refuse a resume point it no longer knows (or a stale one from an
            // old run): the next attempt starts from now, and `onReconnect` refreshes reads.
            lastIdRef.current = undefined;
            forget(storageRef.current, key);
          }
          attempts += 1;
          const delay = retryDelayRef.current(attempts);
          setState((s) => ({ ...s, status: 'disconnected', retryAt: Date.now() + delay }));
          timer = setTimeout(() => {
            setState((s) => ({ ...s, status: 'reconnecting', retryAt: undefined }));
            open();
          }, delay);
        } else {
          // The browser retries by itself and sends Last-Event-ID.
          setState((s) => ({ ...s, status: 'reconnecting' }));
        }
      };
      for (const type of FRAME_TYPES) next.addEventListener(type, onFrame(type));
    };

    setState((s) => ({
      ...s,
      status: s.status === 'connected' || generation > 0 ? 'reconnecting' : 'connecting',
      retryAt: undefined,
    }));
    open();
    return () => {
      closed = true;
      clearTimeout(timer);
      source?.close();
    };
  }, [Source, url, incidentId, key, generation]);

  return { ...state, reconnect };
}

function forget(storage: Pick<Storage, 'removeItem'> | undefined, key: string) {
  try {
    storage?.removeItem(key);
  } catch {
    // Nothing stored, nothing to forget.
  }
}

function readStored(
  storage: Pick<Storage, 'getItem'> | undefined,
  key: string,
): string | undefined {
  try {
    return storage?.getItem(key) ?? undefined;
  } catch {
    return undefined;
  }
}
