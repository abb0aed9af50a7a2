import {
  type Bus,
  type BusMessage,
  type ClaimOptions,
  type DeadLetter,
  deadLetterStreamOf,
  type PublishOptions,
  type ReadOptions,
  type StreamEntry,
  type StreamStats,
} from '../../ports/bus.js';
import { BusClosedError, BusGroupMissingError } from './bus-errors.js';
import {
  BODY_FIELD,
  bodyOfFields,
  compareEntryIds,
  deadLetterFields,
  deadLetterOf,
  deadLetterOfFields,
  type EntryId,
  formatEntryId,
  parseEntryId,
  ZERO_ID,
} from './stream-entry.js';

interface Entry extends EntryId {
  readonly id: string;
  readonly fields: readonly string[];
}

interface PendingEntry {
  consumer: string;
  deliveries: number;
  /** `performance.now()` of the last delivery: idle time is measured on a monotonic clock. */
  deliveredAt: number;
}

interface GroupState {
  lastDelivered: EntryId;
  /**
   * Pending entries by id. Entries only enter through `read` (`>`), which hands them out in
   * ascending id order, and reclaiming updates in place, so insertion order is id order: the
   * same order Redis walks its pending entries list in.
   */
  readonly pending: Map<string, PendingEntry>;
}

interface StreamState {
  /** Ascending by id; trimming removes from the front. */
  entries: Entry[];
  last: EntryId;
  readonly groups: Map<string, GroupState>;
}

export interface MemoryBusOptions {
  /** Applied to every publish that does not pass its own `maxLen`. */
  readonly defaultMaxLen?: number;
  /** The clock entry ids are derived from (epoch ms); tests may pin it. */
  readonly now?: () => number;
}

/**
 * The embedded Bus: in-process streams with the semantics of Redis Streams (monotonic
 * `<ms>-<seq>` ids, consumer groups with a last-delivered id, a pending entries list with owner,
 * delivery count and last delivery time, approximate trimming, blocking reads). The local
 * runtime's default; the contract suite holds it to the same behaviour as Redis.
 *
 * @example
 * ```ts
 * const bus = new MemoryBus();
 * await bus.ensureGroup('signals', 'rca');
 * await bus.publish('signals', JSON.stringify(signal));
 * const batch = await bus.read('signals', 'rca', 'rca-1', { count: 16, blockMs: 1000 });
 * ```
 */
export class MemoryBus implements Bus {
  readonly kind = 'memory' as const;
  readonly #streams = new Map<string, StreamState>();
  /** Readers blocked on a stream, woken by the next publish to it (or by close). */
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #defaultMaxLen: number | undefined;
  readonly #now: () => number;
  #closed = false;

  constructor(options: MemoryBusOptions = {}) {
    this.#defaultMaxLen = options.defaultMaxLen;
    this.#now = options.now ?? Date.now;
  }

  async publish(stream: string, body: string, options?: PublishOptions): Promise<string> {
    this.#assertOpen();
    const id = this.#append(stream, [BODY_FIELD, body], options?.maxLen ?? this.#defaultMaxLen);
    this.#wake(stream);
    return id;
  }

  async publishMany(
    stream: string,
    bodies: readonly string[],
    options?: PublishOptions,
  ): Promise<string[]> {
    this.#assertOpen();
    const maxLen = options?.maxLen ?? this.#defaultMaxLen;
    const ids = bodies.map((body) => this.#append(stream, [BODY_FIELD, body], maxLen));
    if (ids.length > 0) this.#wake(stream);
    return ids;
  }

  async ensureGroup(stream: string, group: string): Promise<void> {
    this.#assertOpen();
    const state = this.#streamOrCreate(stream);
    if (!state.groups.has(group)) {
      state.groups.set(group, { lastDelivered: ZERO_ID, pending: new Map() });
    }
  }

  async read(
    stream: string,
    group: string,
    consumer: string,
    options: ReadOptions,
  ): Promise<BusMessage[]> {
    this.#assertOpen();
    const blockMs = options.blockMs ?? 0;
    const deadline = performance.now() + blockMs;
    for (;;) {
      const messages = this.#deliverNew(stream, group, consumer, options.count);
      const remaining = deadline - performance.now();
      if (messages.length > 0 || blockMs <= 0 || remaining <= 0) return messages;
      // Another consumer may take what woke us, so look again until the block time is spent.
      await this.#waitForPublish(stream, remaining);
      if (this.#closed) return [];
    }
  }

  async ack(stream: string, group: string, ids: readonly string[]): Promise<number> {
    this.#assertOpen();
    // Like XACK, acking in a group that does not exist acknowledges nothing (no error).
    const pending = this.#streams.get(stream)?.groups.get(group)?.pending;
    if (!pending) return 0;
    let acked = 0;
    for (const id of ids) {
      if (pending.delete(id)) acked += 1;
    }
    return acked;
  }

  async claimIdle(
    stream: string,
    group: string,
    consumer: string,
    options: ClaimOptions,
  ): Promise<BusMessage[]> {
    this.#assertOpen();
    const state = this.#groupOf(stream, group);
    const entries = this.#streams.get(stream)?.entries ?? [];
    const now = performance.now();
    const claimed: BusMessage[] = [];
    for (const [id, pending] of state.pending) {
      if (claimed.length >= options.count) break;
      if (now - pending.deliveredAt < options.minIdleMs) continue;
      const entry = findEntry(entries, parseEntryId(id));
      if (!entry) {
        // Trimmed away while pending: like XAUTOCLAIM, drop it from the pending list.
        state.pending.delete(id);
        continue;
      }
      pending.consumer = consumer;
      pending.deliveries += 1;
      pending.deliveredAt = now;
      claimed.push({
        id,
        stream,
        body: bodyOfFields(entry.fields),
        deliveries: pending.deliveries,
      });
    }
    return claimed;
  }

  async deadLetter(group: string, message: BusMessage, reason: string): Promise<string> {
    this.#assertOpen();
    const letter = deadLetterOf(group, message, reason, new Date(this.#now()));
    const dlq = deadLetterStreamOf(message.stream);
    // One synchronous step, like MULTI: no reader can observe the copy without the ack.
    const id = this.#append(dlq, deadLetterFields(letter), undefined);
    this.#streams.get(message.stream)?.groups.get(group)?.pending.delete(message.id);
    this.#wake(dlq);
    return id;
  }

  async readDeadLetters(stream: string, count = 100): Promise<DeadLetter[]> {
    this.#assertOpen();
    const entries = this.#streams.get(deadLetterStreamOf(stream))?.entries ?? [];
    return entries.slice(0, count).map((entry) => deadLetterOfFields(entry.fields));
  }

  async length(stream: string): Promise<number> {
    this.#assertOpen();
    return this.#streams.get(stream)?.entries.length ?? 0;
  }

  async stats(stream: string, group: string): Promise<StreamStats> {
    this.#assertOpen();
    const state = this.#streams.get(stream);
    if (!state) return { length: 0, pending: 0, lag: 0 };
    const groupState = state.groups.get(group);
    const length = state.entries.length;
    if (!groupState) return { length, pending: 0, lag: length };
    const lag = length - firstIndexAfter(state.entries, groupState.lastDelivered);
    return { length, pending: groupState.pending.size, lag };
  }

  async range(
    stream: string,
    afterId: string,
    count: number,
  ): Promise<Array<{ id: string; body: string }>> {
    this.#assertOpen();
    const entries = this.#streams.get(stream)?.entries ?? [];
    const start = firstIndexAfter(entries, parseEntryId(afterId));
    return entries
      .slice(start, start + count)
      .map((entry) => ({ id: entry.id, body: bodyOfFields(entry.fields) }));
  }

  async tail(stream: string, afterId: string, options: ReadOptions): Promise<StreamEntry[]> {
    this.#assertOpen();
    const after = parseEntryId(afterId);
    const blockMs = options.blockMs ?? 0;
    const deadline = performance.now() + blockMs;
    for (;;) {
      const entries = this.#streams.get(stream)?.entries ?? [];
      const start = firstIndexAfter(entries, after);
      const batch = entries
        .slice(start, start + Math.max(1, options.count))
        .map((entry) => ({ id: entry.id, body: bodyOfFields(entry.fields) }));
      const remaining = deadline - performance.now();
      if (batch.length > 0 || blockMs <= 0 || remaining <= 0) return batch;
      await this.#waitForPublish(stream, remaining);
      if (this.#closed) return [];
    }
  }

  async lastId(stream: string): Promise<string> {
    this.#assertOpen();
    const last = this.#streams.get(stream)?.entries.at(-1);
    return last ? last.id : formatEntryId(ZERO_ID);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const stream of [...this.#waiters.keys()]) this.#wake(stream);
  }

  #assertOpen(): void {
    if (this.#closed) throw new BusClosedError();
  }

  #streamOrCreate(stream: string): StreamState {
    let state = this.#streams.get(stream);
    if (!state) {
      state = { entries: [], last: ZERO_ID, groups: new Map() };
      this.#streams.set(stream, state);
    }
    return state;
  }

  #groupOf(stream: string, group: string): GroupState {
    const state = this.#streams.get(stream)?.groups.get(group);
    if (!state) throw new BusGroupMissingError(stream, group);
    return state;
  }

  #append(stream: string, fields: readonly string[], maxLen: number | undefined): string {
    const state = this.#streamOrCreate(stream);
    const ms = Math.max(this.#now(), state.last.ms);
    const next: EntryId = ms === state.last.ms ? { ms, seq: state.last.seq + 1 } : { ms, seq: 0 };
    const id = formatEntryId(next);
    state.entries.push({ ...next, id, fields });
    state.last = next;
    if (maxLen !== undefined) trimApproximately(state, maxLen);
    return id;
  }

  #deliverNew(stream: string, group: string, consumer: string, count: number): BusMessage[] {
    const streamState = this.#streams.get(stream);
    const state = streamState?.groups.get(group);
    if (!streamState || !state) throw new BusGroupMissingError(stream, group);
    const start = firstIndexAfter(streamState.entries, state.lastDelivered);
    const batch = streamState.entries.slice(start, start + Math.max(0, count));
    const now = performance.now();
    const last = batch.at(-1);
    if (last) state.lastDelivered = { ms: last.ms, seq: last.seq };
    return batch.map((entry) => {
      state.pending.set(entry.id, { consumer, deliveries: 1, deliveredAt: now });
      return { id: entry.id, stream, body: bodyOfFields(entry.fields), deliveries: 1 };
    });
  }

  #waitForPublish(stream: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      let waiters = this.#waiters.get(stream);
      if (!waiters) {
        waiters = new Set();
        this.#waiters.set(stream, waiters);
      }
      const set = waiters;
      const wake = (): void => {
        clearTimeout(timer);
        set.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      set.add(wake);
    });
  }

  #wake(stream: string): void {
    const waiters = this.#waiters.get(stream);
    if (!waiters) return;
    this.#waiters.delete(stream);
    for (const wake of waiters) wake();
  }
}

/**
 * `MAXLEN ~` semantics: the stream is never cut below `maxLen`, and trimming waits until a
 * slack of about a tenth has built up, so a capped stream is not spliced on every publish.
 */
function trimApproximately(state: StreamState, maxLen: number): void {
  const cap = Math.max(0, Math.floor(maxLen));
  const slack = Math.max(1, Math.ceil(cap / 10));
  if (state.entries.length >= cap + slack) {
    state.entries = state.entries.slice(state.entries.length - cap);
  }
}

/** Index of the first entry with an id greater than `after` (binary search). */
function firstIndexAfter(entries: readonly Entry[], after: EntryId): number {
  let low = 0;
  let high = entries.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const entry = entries[mid];
    if (entry && compareEntryIds(entry, after) <= 0) low = mid + 1;
    else high = mid;
  }
  return low;
}

function findEntry(entries: readonly Entry[], id: EntryId): Entry | undefined {
  const index = firstIndexAfter(entries, id) - 1;
  const entry = entries[index];
  return entry && compareEntryIds(entry, id) === 0 ? entry : undefined;
}
