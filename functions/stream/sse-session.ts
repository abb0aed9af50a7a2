import { Readable } from 'node:stream';
import type { TraceSource } from '../ports/bus.js';
import type { Logger } from '../runtime/logger.js';
import type { StreamSettings } from './settings.js';
import {
  commentFrame,
  comparePositions,
  type EntryPosition,
  formatPosition,
  openingFrame,
  parseEntryPosition,
  positionFrame,
} from './sse-frames.js';
import {
  frameEntry,
  type HubBatch,
  type HubFrame,
  type HubSubscriber,
  type TraceHub,
} from './trace-hub.js';

/** How a connection ended. */
export type SessionEnd = 'ended' | 'dropped' | 'disconnected';

/** Counters shared by every connection of one stream endpoint. */
export interface SessionCounters {
  opened: number;
  /** Ended by the server: maximum connection time, shutdown, or a failed catch-up read. */
  ended: number;
  /** Dropped because the client did not keep up (its buffer passed the limit). */
  dropped: number;
  /** Closed by the client (or the network) first. */
  disconnected: number;
  /** Event frames written to clients (each client counted). */
  delivered: number;
}

export interface SessionOptions {
  readonly bus: TraceSource;
  readonly hub: TraceHub;
  readonly settings: StreamSettings;
  readonly logger: Logger;
  readonly counters: SessionCounters;
  /** The client's last event id: entries after it are replayed first. */
  readonly lastEventId?: EntryPosition | undefined;
  /** Only envelopes with this `incident_id` are sent. */
  readonly incident?: string | undefined;
  /** Told once when the connection is over, however it ended. */
  readonly onClose?: (session: SseSession, how: SessionEnd) => void;
}

/**
 * The response body of one connection: a readable the handler returns and the runtime pipes
 * into the response stream. Writes never wait; `readableLength` is what the client has not
 * taken yet, which is how a client that does not keep up is recognised.
 */
class SseBody extends Readable {
  #demand: (() => void) | undefined;
  readonly #onDestroy: () => void;

  constructor(onDestroy: () => void) {
    super({ highWaterMark: 64 * 1024 });
    this.#onDestroy = onDestroy;
  }

  override _read(): void {
    const demand = this.#demand;
    this.#demand = undefined;
    demand?.();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#demand?.();
    this.#demand = undefined;
    this.#onDestroy();
    callback(error);
  }

  /** Resolves once the consumer asks for more (or the body is destroyed). */
  demand(): Promise<void> {
    if (this.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const previous = this.#demand;
      this.#demand = () => {
        previous?.();
        resolve();
      };
    });
  }
}

/**
 * One client of the live trace stream. It subscribes to the process's {@link TraceHub} first
 * (live batches wait in a queue), then replays with `Bus.range` what came after the client's
 * `Last-Event-ID` up to the position the hub had when it subscribed, then drains the queue and
 * follows the hub: every entry once, in order, none missing between replay and live.
 *
 * Frames are `id` (the stream entry id), `event` (the envelope type) and `data` (the envelope);
 * `: hb` comments keep the connection visibly alive; after the maximum connection time the
 * body ends cleanly (with an `id:` naming how far the client got, when it was not sent the
 * last entries because of its filter) and the client reconnects from there. A client whose
 * unread bytes pass the buffer limit is dropped; it resumes from its last id when it returns.
 */
export class SseSession implements HubSubscriber {
  readonly body: SseBody;
  readonly #options: SessionOptions;
  /** Live batches that arrived while replaying; undefined once live. */
  #queued: HubBatch[] | undefined = [];
  #queuedBytes = 0;
  /** The last entry this client has been sent or has skipped past: nothing at or before it is sent again. */
  #cursor: EntryPosition = { ms: 0, seq: 0 };
  /** The last id the client has (its `Last-Event-ID` after what it was sent). */
  #clientId: EntryPosition = { ms: 0, seq: 0 };
  #heartbeat: NodeJS.Timeout | undefined;
  #deadline: NodeJS.Timeout | undefined;
  #done = false;

  constructor(options: SessionOptions) {
    this.#options = options;
    this.body = new SseBody(() => this.#finish('disconnected'));
  }

  /**
   * Subscribes and writes the opening frame. Resolves once the client is guaranteed every
   * entry published from now on (so the handler can answer 200); rejects when the bus cannot
   * be read, before anything was sent.
   */
  async open(): Promise<void> {
    const { hub, settings, lastEventId, counters } = this.#options;
    const hubPosition = await hub.subscribe(this);
    const start = lastEventId ?? hubPosition;
    this.#cursor = start;
    this.#clientId = start;
    counters.opened += 1;
    this.#write(
      openingFrame(settings.retryMs, lastEventId ? undefined : formatPosition(hubPosition)),
    );
    this.#heartbeat = setInterval(() => this.#beat(), settings.heartbeatMs);
    this.#heartbeat.unref();
    this.#deadline = setTimeout(() => this.end(), settings.maxConnectionMs);
    this.#deadline.unref();
    if (comparePositions(start, hubPosition) < 0) void this.#replay(start, hubPosition);
    else this.#goLive();
  }

  /** A batch from the hub: queued while replaying, sent otherwise. */
  deliver(batch: HubBatch): void {
    if (this.#done) return;
    if (this.#queued) {
      this.#queued.push(batch);
      this.#queuedBytes += batch.all.length;
      if (this.#queuedBytes > this.#options.settings.clientBufferBytes) this.#drop();
      return;
    }
    this.#sendBatch(batch);
  }

  /** Ends the connection cleanly; the client reconnects with its last id. */
  end(): void {
    if (this.#done) return;
    if (comparePositions(this.#cursor, this.#clientId) > 0) {
      this.#write(positionFrame(formatPosition(this.#cursor)));
    }
    this.#finish('ended');
    if (!this.body.destroyed) this.body.push(null);
    // A client that stopped reading would hold the ended body open forever.
    const grace = setTimeout(() => this.body.destroy(), this.#options.settings.heartbeatMs);
    grace.unref();
    this.body.once('close', () => clearTimeout(grace));
  }

  /** Frames queued for a client that has not taken them yet, in bytes. */
  get unreadBytes(): number {
    return this.body.readableLength + this.#queuedBytes;
  }

  async #replay(from: EntryPosition, to: EntryPosition): Promise<void> {
    const { bus, hub, settings, logger } = this.#options;
    let cursor = from;
    try {
      for (;;) {
        const page = await bus.range(
          settings.stream,
          formatPosition(cursor),
          settings.backfillPage,
        );
        if (this.#done) return;
        let reached = page.length < settings.backfillPage;
        for (const entry of page) {
          const position = parseEntryPosition(entry.id);
          if (!position) continue;
          if (comparePositions(position, to) > 0) {
            reached = true;
            break;
          }
          cursor = position;
          const framed = frameEntry(entry);
          if (framed.ok) this.#sendFrame(framed.frame);
          else {
            hub.countInvalid(entry, framed.reason);
            this.#skipTo(position);
          }
        }
        if (reached) break;
        // Replay at the pace the client reads; live entries wait in the queue meanwhile.
        if (this.body.readableLength >= this.body.readableHighWaterMark) await this.body.demand();
        if (this.#done) return;
      }
      this.#goLive();
    } catch (error) {
      logger.warn({ err: error }, 'trace stream replay failed; ending the connection');
      this.end();
    }
  }

  #goLive(): void {
    const queued = this.#queued ?? [];
    this.#queued = undefined;
    this.#queuedBytes = 0;
    for (const batch of queued) {
      if (this.#done) return;
      this.#sendBatch(batch);
    }
  }

  #sendBatch(batch: HubBatch): void {
    const first = batch.frames[0];
    if (
      first &&
      this.#options.incident === undefined &&
      comparePositions(first.position, this.#cursor) > 0
    ) {
      // The common case: every frame is new and wanted, so the shared buffer goes out as is.
      this.#write(batch.all);
      this.#options.counters.delivered += batch.frames.length;
      const last = batch.frames.at(-1) ?? first;
      this.#cursor = last.position;
      this.#clientId = last.position;
    } else {
      for (const frame of batch.frames) this.#sendFrame(frame);
    }
    this.#skipTo(batch.last);
    this.#checkBuffer();
  }

  #sendFrame(frame: HubFrame): void {
    if (comparePositions(frame.position, this.#cursor) <= 0) return;
    this.#cursor = frame.position;
    const { incident, counters } = this.#options;
    if (incident !== undefined && frame.incidentId !== incident) return;
    this.#write(frame.bytes);
    this.#clientId = frame.position;
    counters.delivered += 1;
  }

  /** Moves past entries the client is not sent (filtered out, invalid). */
  #skipTo(position: EntryPosition): void {
    if (comparePositions(position, this.#cursor) > 0) this.#cursor = position;
  }

  #beat(): void {
    if (this.#done) return;
    this.#write(commentFrame('hb'));
    this.#checkBuffer();
  }

  #checkBuffer(): void {
    if (!this.#done && this.unreadBytes > this.#options.settings.clientBufferBytes) this.#drop();
  }

  #write(chunk: string | Buffer): void {
    if (this.#done || this.body.destroyed) return;
    this.body.push(chunk);
  }

  #drop(): void {
    if (this.#done) return;
    this.#options.logger.info(
      { unread_bytes: this.unreadBytes, limit: this.#options.settings.clientBufferBytes },
      'trace stream client dropped: it does not keep up',
    );
    this.#finish('dropped');
    this.body.destroy();
  }

  #finish(how: SessionEnd): void {
    if (this.#done) return;
    this.#done = true;
    clearInterval(this.#heartbeat);
    clearTimeout(this.#deadline);
    this.#queued = undefined;
    this.#queuedBytes = 0;
    this.#options.hub.unsubscribe(this);
    this.#options.counters[how] += 1;
    this.#options.onClose?.(this, how);
  }
}
