/**
 * The Bus port: append-only streams read through consumer groups, with the semantics of
 * Redis Streams. Cores never see an adapter; handlers and runtimes pass a `Bus` in.
 *
 * Semantics every adapter honours (pinned by `test/bus.contract.test.ts`):
 * - per-stream order: entries are delivered to a group in append order;
 * - at-least-once: an entry read but not acked stays pending and can be reclaimed;
 * - a group shares work: two consumers of one group never receive the same new entry;
 * - `deliveries` counts how many times an entry was handed to a consumer of the group;
 * - dead-lettering copies the original body, the reason and the delivery count to
 *   `deadLetterStreamOf(stream)` and acks the entry in one step;
 * - `range`, `tail` and `lastId` read without a group and change no group's state: replay,
 *   and the one live tailer per process behind the SSE stream.
 */
export interface BusMessage {
  /** Stream entry id (`<ms>-<seq>`), monotonic within a stream. */
  readonly id: string;
  readonly stream: string;
  /** The published body, byte for byte (a JSON envelope for pipeline streams). */
  readonly body: string;
  /** Times this entry has been delivered to the group, this delivery included (≥ 1). */
  readonly deliveries: number;
}

/** One entry of a stream read without a group. */
export interface StreamEntry {
  /** Stream entry id (`<ms>-<seq>`). */
  readonly id: string;
  /** The published body, byte for byte. */
  readonly body: string;
}

export interface ReadOptions {
  /** Maximum entries to return. */
  readonly count: number;
  /** Block up to this long for new entries; 0 or undefined returns at once. */
  readonly blockMs?: number;
}

export interface ClaimOptions {
  /** Only entries pending for at least this long are reclaimed. */
  readonly minIdleMs: number;
  readonly count: number;
}

export interface PublishOptions {
  /** Approximate cap on the stream's length (`XADD MAXLEN ~`). */
  readonly maxLen?: number;
}

export interface StreamStats {
  readonly length: number;
  /** Entries delivered to the group and not yet acked. */
  readonly pending: number;
  /** Entries not yet delivered to the group. */
  readonly lag: number;
}

export interface DeadLetter {
  readonly stream: string;
  readonly group: string;
  readonly originalId: string;
  readonly body: string;
  readonly reason: string;
  readonly deliveries: number;
  readonly failed_at: string;
}

export interface Bus {
  readonly kind: 'memory' | 'redis';
  /** Appends one body; returns the entry id. */
  publish(stream: string, body: string, options?: PublishOptions): Promise<string>;
  /** Appends many bodies in order (pipelined); returns their ids in the same order. */
  publishMany(
    stream: string,
    bodies: readonly string[],
    options?: PublishOptions,
  ): Promise<string[]>;
  /** Creates the group at the start of the stream (creating the stream too); idempotent. */
  ensureGroup(stream: string, group: string): Promise<void>;
  /** Reads entries never delivered to the group (`XREADGROUP ... >`). */
  read(
    stream: string,
    group: string,
    consumer: string,
    options: ReadOptions,
  ): Promise<BusMessage[]>;
  /** Acknowledges entries; returns how many were pending. */
  ack(stream: string, group: string, ids: readonly string[]): Promise<number>;
  /** Transfers entries idle for `minIdleMs` to `consumer` (`XAUTOCLAIM`), counting a delivery. */
  claimIdle(
    stream: string,
    group: string,
    consumer: string,
    options: ClaimOptions,
  ): Promise<BusMessage[]>;
  /** Copies a message to the dead-letter stream with the reason, then acks it. */
  deadLetter(group: string, message: BusMessage, reason: string): Promise<string>;
  /** Reads dead letters of a stream, oldest first. */
  readDeadLetters(stream: string, count?: number): Promise<DeadLetter[]>;
  /** Entries in a stream (0 when it does not exist); no group needed. */
  length(stream: string): Promise<number>;
  /** Length, pending and lag of a stream for a group. */
  stats(stream: string, group: string): Promise<StreamStats>;
  /** Reads a stream range without a group (`XRANGE`), for replay and SSE resume. */
  range(
    stream: string,
    afterId: string,
    count: number,
  ): Promise<Array<{ id: string; body: string }>>;
  /**
   * Reads entries after `afterId` without a group (`XREAD`), waiting up to `blockMs` for the
   * first one when there is none yet: how a live tailer follows a stream without polling. Ends
   * empty when the wait times out or the bus closes.
   */
  tail(stream: string, afterId: string, options: ReadOptions): Promise<StreamEntry[]>;
  /**
   * The id of the newest entry (`XREVRANGE + - COUNT 1`), `0-0` for an empty or missing
   * stream: the position a tailer starts from to see only what is published after it.
   */
  lastId(stream: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * The read side of one stream without a group: what a live tailer and its catch-up need (the
 * SSE endpoint). Every `Bus` is one; so is a read-only copy of a stream kept elsewhere, such as
 * the DynamoDB mirror of the trace stream the SSE function reads in AWS.
 */
export type TraceSource = Pick<Bus, 'range' | 'tail' | 'lastId'>;

/** The dead-letter stream that pairs with a pipeline stream. */
export const deadLetterStreamOf = (stream: string): string => `${stream}.dlq`;
