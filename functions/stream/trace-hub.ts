import { parseEvent } from '../../events/index.js';
import type { StreamEntry, TraceSource } from '../ports/bus.js';
import type { Logger } from '../runtime/logger.js';
import {
  comparePositions,
  type EntryPosition,
  eventFrame,
  formatPosition,
  parseEntryPosition,
} from './sse-frames.js';

/** One validated entry, framed once for every client. */
export interface HubFrame {
  readonly id: string;
  readonly position: EntryPosition;
  /** The envelope's `type`, the frame's `event:`. */
  readonly type: string;
  /** The envelope's `incident_id`, for `?incident=` filters. */
  readonly incidentId: string | undefined;
  /** The whole SSE frame, encoded once and shared by every client. */
  readonly bytes: Buffer;
}

/** What one read of the stream gave the clients. */
export interface HubBatch {
  /** Valid entries in stream order (invalid ones are left out and counted). */
  readonly frames: readonly HubFrame[];
  /** Every frame of the batch in one buffer, for clients without a filter. */
  readonly all: Buffer;
  /** The id of the last entry read, valid or not: where the tailer goes on from. */
  readonly last: EntryPosition;
}

/** A connected client, as the hub sees it. */
export interface HubSubscriber {
  deliver(batch: HubBatch): void;
}

/** Counters of one hub; every figure is counted, none estimated. */
export interface HubStats {
  /** Clients subscribed now. */
  readonly subscribers: number;
  /** Round trips of the shared tailer to the bus (`XREAD`). */
  readonly tailReads: number;
  /** Entries the tailer read and fanned out (each once, however many clients). */
  readonly tailEntries: number;
  /** Entries skipped because they failed `parseEvent` (live and catch-up reads). */
  readonly invalid: number;
  /** Errors of the tailer's reads (it retries with a backoff). */
  readonly tailErrors: number;
}

export interface TraceHubOptions {
  readonly bus: TraceSource;
  readonly stream: string;
  readonly logger: Logger;
  /** Read on each round trip, so new values apply at once. */
  readonly settings: () => { readonly tailBlockMs: number; readonly tailBatch: number };
}

/**
 * Validates an entry of the trace stream and frames it: `id` is the stream entry id, `event`
 * the envelope type, `data` the envelope as parsed (one line of JSON). An entry that fails
 * validation yields the reason instead, so it is skipped and never sent broken.
 */
export function frameEntry(
  entry: StreamEntry,
): { ok: true; frame: HubFrame } | { ok: false; reason: string } {
  const position = parseEntryPosition(entry.id);
  if (!position) return { ok: false, reason: `unreadable entry id "${entry.id}"` };
  const parsed = parseEvent(entry.body);
  if (!parsed.ok) return { ok: false, reason: parsed.reason };
  const { event } = parsed;
  return {
    ok: true,
    frame: {
      id: entry.id,
      position,
      type: event.type,
      incidentId: event.incident_id,
      bytes: Buffer.from(eventFrame(entry.id, event.type, JSON.stringify(event))),
    },
  };
}

/**
 * The one tailer of a stream in this process. It follows the stream with a blocking read
 * without a consumer group (`Bus.tail`, `XREAD BLOCK` on Redis), validates and frames each new
 * entry once, and hands each batch to every subscribed client in memory: a thousand clients
 * cost one reader. It runs only while someone is subscribed.
 *
 * Every subscriber learns the position the hub had when it joined; the hub then delivers every
 * entry after that position to it, in order, so a client can catch up on what came before with
 * `Bus.range` and switch to the hub without a gap or a duplicate.
 *
 * @example
 * ```ts
 * const hub = new TraceHub({ bus, stream: 'traces', logger, settings: () => DEFAULT_STREAM_SETTINGS });
 * const from = await hub.subscribe({ deliver: (batch) => send(batch.all) });
 * ```
 */
export class TraceHub {
  readonly #options: TraceHubOptions;
  readonly #subscribers = new Set<HubSubscriber>();
  /** Where the tailer reads on from; undefined while it is not running. */
  #position: EntryPosition | undefined;
  #starting: Promise<EntryPosition> | undefined;
  #running = false;
  #closed = false;
  #tailReads = 0;
  #tailEntries = 0;
  #invalid = 0;
  #tailErrors = 0;

  constructor(options: TraceHubOptions) {
    this.#options = options;
  }

  /**
   * Subscribes a client; resolves with the position after which the hub will deliver every
   * entry to it. Rejects when the bus cannot tell where the stream ends (the client is not
   * subscribed then).
   */
  async subscribe(subscriber: HubSubscriber): Promise<EntryPosition> {
    if (this.#closed) throw new Error('the trace stream is closed');
    this.#subscribers.add(subscriber);
    try {
      return this.#position ?? (await this.#start());
    } catch (error) {
      this.#subscribers.delete(subscriber);
      throw error;
    }
  }

  unsubscribe(subscriber: HubSubscriber): void {
    this.#subscribers.delete(subscriber);
  }

  /** Counts an entry a client skipped while catching up. */
  countInvalid(entry: StreamEntry, reason: string): void {
    this.#invalid += 1;
    this.#options.logger.warn(
      { stream: this.#options.stream, id: entry.id, reason },
      'skipped an invalid trace stream entry',
    );
  }

  stats(): HubStats {
    return {
      subscribers: this.#subscribers.size,
      tailReads: this.#tailReads,
      tailEntries: this.#tailEntries,
      invalid: this.#invalid,
      tailErrors: this.#tailErrors,
    };
  }

  /** Stops tailing; the subscribers are the callers' to end. A blocked read ends with the bus. */
  close(): void {
    this.#closed = true;
    this.#subscribers.clear();
  }

  /** Finds where the stream ends, then tails from there (once, however many join meanwhile). */
  #start(): Promise<EntryPosition> {
    if (!this.#starting) {
      this.#starting = this.#options.bus
        .lastId(this.#options.stream)
        .then((id) => {
          const position = parseEntryPosition(id) ?? { ms: 0, seq: 0 };
          this.#position = position;
          this.#running = true;
          void this.#run();
          return position;
        })
        .finally(() => {
          this.#starting = undefined;
        });
    }
    return this.#starting;
  }

  async #run(): Promise<void> {
    const { bus, stream, logger } = this.#options;
    let failures = 0;
    while (!this.#closed && this.#subscribers.size > 0 && this.#position) {
      const { tailBlockMs, tailBatch } = this.#options.settings();
      let entries: StreamEntry[];
      try {
        this.#tailReads += 1;
        entries = await bus.tail(stream, formatPosition(this.#position), {
          count: tailBatch,
          blockMs: tailBlockMs,
        });
        failures = 0;
      } catch (error) {
        if (this.#closed) break;
        this.#tailErrors += 1;
        failures += 1;
        logger.warn({ err: error, stream }, 'trace stream tailer read failed; retrying');
        await new Promise((done) => setTimeout(done, Math.min(50 * 2 ** failures, 2_000)));
        continue;
      }
      if (entries.length > 0 && !this.#closed) this.#fanOut(entries);
    }
    // Nobody left (or closed): the next subscriber starts again from the stream's end.
    this.#running = false;
    this.#position = undefined;
  }

  #fanOut(entries: readonly StreamEntry[]): void {
    const frames: HubFrame[] = [];
    let last = this.#position ?? { ms: 0, seq: 0 };
    for (const entry of entries) {
      const framed = frameEntry(entry);
      if (framed.ok) frames.push(framed.frame);
      else this.countInvalid(entry, framed.reason);
      const position = parseEntryPosition(entry.id);
      if (position && comparePositions(position, last) > 0) last = position;
    }
    this.#tailEntries += entries.length;
    this.#position = last;
    const batch: HubBatch = {
      frames,
      all: Buffer.concat(frames.map((frame) => frame.bytes)),
      last,
    };
    for (const subscriber of [...this.#subscribers]) {
      try {
        subscriber.deliver(batch);
      } catch (error) {
        this.#options.logger.error({ err: error }, 'a trace stream client failed a delivery');
        this.#subscribers.delete(subscriber);
      }
    }
  }

  /** True while the tailer loop runs (for tests and stats). */
  get running(): boolean {
    return this.#running;
  }
}
