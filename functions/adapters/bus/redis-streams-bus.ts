import { Redis, type RedisOptions } from 'ioredis';
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
import { BusClosedError, BusError, BusGroupMissingError, BusReplyError } from './bus-errors.js';
import {
  BODY_FIELD,
  bodyOfFields,
  deadLetterFields,
  deadLetterOf,
  deadLetterOfFields,
  parseEntryId,
} from './stream-entry.js';

/** Which connection a client serves: commands, or one blocking `XREADGROUP ... BLOCK` at a time. */
export type RedisConnectionRole = 'commands' | 'blocking';

/** Builds a client for a role; `connectionName` is what `CLIENT LIST` shows for it. */
export type RedisClientFactory = (role: RedisConnectionRole, connectionName: string) => Redis;

interface RedisStreamsBusCommonOptions {
  /** Prepended to every key (stream names stay unprefixed in messages and dead letters). */
  readonly keyPrefix?: string;
  /** `MAXLEN ~` applied to every publish that does not pass its own `maxLen`. */
  readonly defaultMaxLen?: number;
  /**
   * Base of the connection names (`CLIENT SETNAME`): `<name>:commands` and
   * `<name>:blocking:<n>`. Defaults to `selfheal-bus`.
   */
  readonly connectionName?: string;
  /** Told about connection errors (refused, reset) while ioredis reconnects. */
  readonly onConnectionError?: (error: Error, role: RedisConnectionRole) => void;
}

export type RedisStreamsBusOptions = RedisStreamsBusCommonOptions &
  (
    | { readonly url: string; readonly createClient?: undefined }
    | { readonly createClient: RedisClientFactory; readonly url?: undefined }
  );

/** Reconnect delay: exponential from 50 ms, capped at 2 s, with jitter; never gives up. */
export const reconnectDelayMs = (attempt: number): number =>
  Math.min(50 * 2 ** Math.min(attempt, 6), 2_000) + Math.floor(Math.random() * 100);

/**
 * The ioredis options the bus uses for a role, for factories that want the same behaviour:
 * reconnect with backoff forever, queue commands while disconnected and resend the in-flight
 * ones after reconnecting (a blocked read resumes on the new connection).
 */
export function redisClientOptions(
  role: RedisConnectionRole,
  connectionName: string,
): RedisOptions {
  return {
    connectionName,
    retryStrategy: reconnectDelayMs,
    autoResendUnfulfilledCommands: true,
    enableOfflineQueue: true,
    ...(role === 'blocking'
      ? {
          // A blocked read waits out reconnects; its own deadline (below) bounds it.
          maxRetriesPerRequest: null,
          // Client-side deadline for blocking reads: BLOCK ms plus this grace, so a read on a
          // connection that died silently (no FIN, no RST) still returns.
          blockingTimeout: 60_000,
          blockingTimeoutGrace: 2_000,
        }
      : { maxRetriesPerRequest: 20 }),
  };
}

/** How many entries the lag fallback counts at most (when Redis cannot compute `lag`). */
const LAG_SCAN_LIMIT = 10_000;
/** XAUTOCLAIM rounds per `claimIdle`: it scans at most COUNT×10 pending entries per call. */
const CLAIM_ROUNDS = 4;

interface RawEntry {
  readonly id: string;
  readonly fields: readonly string[];
}

/**
 * The Bus over Redis Streams (Redis ≥ 7, Valkey, ElastiCache) with ioredis.
 *
 * One connection carries commands (pipelined publishes, acks, claims, transactions); blocking
 * reads each take a connection of their own from a small pool, so one poller's `BLOCK` never
 * delays another's commands or reads. Every connection reconnects with backoff and resends
 * what was in flight, so a dropped connection loses nothing that was published.
 *
 * @example
 * ```ts
 * const bus = new RedisStreamsBus({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
 * await bus.ensureGroup('signals', 'rca');
 * const id = await bus.publish('signals', JSON.stringify(signal), { maxLen: 100_000 });
 * ```
 */
export class RedisStreamsBus implements Bus {
  readonly kind = 'redis' as const;
  readonly #prefix: string;
  readonly #defaultMaxLen: number | undefined;
  readonly #name: string;
  readonly #createClient: RedisClientFactory;
  readonly #onConnectionError: ((error: Error, role: RedisConnectionRole) => void) | undefined;
  readonly #commands: Redis;
  readonly #idleBlocking: Redis[] = [];
  readonly #busyBlocking = new Set<Redis>();
  #blockingCreated = 0;
  #closed = false;

  constructor(options: RedisStreamsBusOptions) {
    this.#prefix = options.keyPrefix ?? '';
    this.#defaultMaxLen = options.defaultMaxLen;
    this.#name = options.connectionName ?? 'selfheal-bus';
    this.#onConnectionError = options.onConnectionError;
    const { url } = options;
    this.#createClient =
      options.createClient ??
      ((role, connectionName) => new Redis(url ?? '', redisClientOptions(role, connectionName)));
    this.#commands = this.#connect('commands', `${this.#name}:commands`);
  }

  async publish(stream: string, body: string, options?: PublishOptions): Promise<string> {
    this.#assertOpen();
    const reply = await this.#commands.call('XADD', [
      this.#key(stream),
      ...this.#trimArgs(options),
      '*',
      BODY_FIELD,
      body,
    ]);
    return expectString(reply, 'XADD');
  }

  async publishMany(
    stream: string,
    bodies: readonly string[],
    options?: PublishOptions,
  ): Promise<string[]> {
    this.#assertOpen();
    if (bodies.length === 0) return [];
    const key = this.#key(stream);
    const trim = this.#trimArgs(options);
    const pipeline = this.#commands.pipeline();
    for (const body of bodies) pipeline.call('XADD', [key, ...trim, '*', BODY_FIELD, body]);
    const results = await pipeline.exec();
    return resultsOf(results, 'XADD').map((reply) => expectString(reply, 'XADD'));
  }

  async ensureGroup(stream: string, group: string): Promise<void> {
    this.#assertOpen();
    try {
      await this.#commands.call('XGROUP', ['CREATE', this.#key(stream), group, '0', 'MKSTREAM']);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('BUSYGROUP')) return;
      throw error;
    }
  }

  async read(
    stream: string,
    group: string,
    consumer: string,
    options: ReadOptions,
  ): Promise<BusMessage[]> {
    this.#assertOpen();
    const blockMs = Math.max(0, Math.ceil(options.blockMs ?? 0));
    const args = ['GROUP', group, consumer, 'COUNT', String(Math.max(1, options.count))];
    if (blockMs > 0) args.push('BLOCK', String(blockMs));
    args.push('STREAMS', this.#key(stream), '>');
    try {
      const reply =
        blockMs > 0
          ? await this.#withBlockingConnection((connection) => connection.call('XREADGROUP', args))
          : await this.#commands.call('XREADGROUP', args);
      return parseStreamsReply(reply).map((entry) => ({
        id: entry.id,
        stream,
        body: bodyOfFields(entry.fields),
        deliveries: 1,
      }));
    } catch (error) {
      // close() drops connections with reads blocked on them: like the memory bus, such a read
      // ends empty (whatever Redis handed out meanwhile stays pending, to be reclaimed).
      if (this.#closed) return [];
      throw translateError(error, stream, group);
    }
  }

  async ack(stream: string, group: string, ids: readonly string[]): Promise<number> {
    this.#assertOpen();
    if (ids.length === 0) return 0;
    const reply = await this.#commands.call('XACK', [this.#key(stream), group, ...ids]);
    return expectNumber(reply, 'XACK');
  }

  async claimIdle(
    stream: string,
    group: string,
    consumer: string,
    options: ClaimOptions,
  ): Promise<BusMessage[]> {
    this.#assertOpen();
    const key = this.#key(stream);
    const minIdle = String(Math.max(0, Math.floor(options.minIdleMs)));
    const claimed: RawEntry[] = [];
    let cursor = '0-0';
    try {
      for (let round = 0; round < CLAIM_ROUNDS && claimed.length < options.count; round += 1) {
        const reply = await this.#commands.call('XAUTOCLAIM', [
          key,
          group,
          consumer,
          minIdle,
          cursor,
          'COUNT',
          String(options.count - claimed.length),
        ]);
        const [next, entries] = parseAutoClaimReply(reply);
        // Entries deleted (trimmed) while pending come back in a third list on Redis 7 (and as
        // nil entries on 6.2); XAUTOCLAIM already dropped them from the pending list.
        claimed.push(...entries);
        cursor = next;
        if (cursor === '0-0') break;
      }
    } catch (error) {
      throw translateError(error, stream, group);
    }
    if (claimed.length === 0) return [];

    // XAUTOCLAIM counted a delivery but does not return the count: read it back per id.
    const pipeline = this.#commands.pipeline();
    for (const entry of claimed) pipeline.call('XPENDING', [key, group, entry.id, entry.id, '1']);
    const pending = resultsOf(await pipeline.exec(), 'XPENDING');
    const messages: BusMessage[] = [];
    claimed.forEach((entry, index) => {
      const detail = parsePendingDetail(pending[index]);
      // Acked or claimed by someone else in between: no longer ours to hand out.
      if (!detail || detail.consumer !== consumer) return;
      messages.push({
        id: entry.id,
        stream,
        body: bodyOfFields(entry.fields),
        deliveries: detail.deliveries,
      });
    });
    return messages;
  }

  async deadLetter(group: string, message: BusMessage, reason: string): Promise<string> {
    this.#assertOpen();
    const letter = deadLetterOf(group, message, reason, new Date());
    const transaction = this.#commands.multi();
    transaction.call('XADD', [
      this.#key(deadLetterStreamOf(message.stream)),
      '*',
      ...deadLetterFields(letter),
    ]);
    transaction.call('XACK', [this.#key(message.stream), group, message.id]);
    const [added] = resultsOf(await transaction.exec(), 'MULTI XADD XACK');
    return expectString(added, 'XADD');
  }

  async readDeadLetters(stream: string, count = 100): Promise<DeadLetter[]> {
    this.#assertOpen();
    const reply = await this.#commands.call('XRANGE', [
      this.#key(deadLetterStreamOf(stream)),
      '-',
      '+',
      'COUNT',
      String(count),
    ]);
    return parseEntries(reply, 'XRANGE').map((entry) => deadLetterOfFields(entry.fields));
  }

  async length(stream: string): Promise<number> {
    this.#assertOpen();
    return expectNumber(await this.#commands.call('XLEN', [this.#key(stream)]), 'XLEN');
  }

  async stats(stream: string, group: string): Promise<StreamStats> {
    this.#assertOpen();
    const key = this.#key(stream);
    const length = expectNumber(await this.#commands.call('XLEN', [key]), 'XLEN');
    if (length === 0 && (await this.#commands.call('EXISTS', [key])) === 0) {
      return { length: 0, pending: 0, lag: 0 };
    }
    const groups = parseInfoGroups(await this.#commands.call('XINFO', ['GROUPS', key]));
    const info = groups.find((candidate) => candidate.get('name') === group);
    if (!info) return { length, pending: 0, lag: length };
    const pending = Number(info.get('pending') ?? 0);
    const lag = info.get('lag');
    if (typeof lag === 'number') return { length, pending, lag };
    // Redis reports lag as nil when deletions make entries-added minus entries-read unreliable:
    // count what lies after the last delivered id instead (bounded).
    const lastDelivered = String(info.get('last-delivered-id') ?? '0-0');
    const after = await this.#commands.call('XRANGE', [
      key,
      `(${lastDelivered}`,
      '+',
      'COUNT',
      String(LAG_SCAN_LIMIT),
    ]);
    return { length, pending, lag: parseEntries(after, 'XRANGE').length };
  }

  async range(
    stream: string,
    afterId: string,
    count: number,
  ): Promise<Array<{ id: string; body: string }>> {
    this.#assertOpen();
    const start = parseEntryId(afterId);
    const from = start.ms === 0 && start.seq === 0 ? '-' : `(${start.ms}-${start.seq}`;
    const reply = await this.#commands.call('XRANGE', [
      this.#key(stream),
      from,
      '+',
      'COUNT',
      String(count),
    ]);
    return parseEntries(reply, 'XRANGE').map((entry) => ({
      id: entry.id,
      body: bodyOfFields(entry.fields),
    }));
  }

  async tail(stream: string, afterId: string, options: ReadOptions): Promise<StreamEntry[]> {
    this.#assertOpen();
    const start = parseEntryId(afterId);
    const blockMs = Math.max(0, Math.ceil(options.blockMs ?? 0));
    const args = ['COUNT', String(Math.max(1, options.count))];
    if (blockMs > 0) args.push('BLOCK', String(blockMs));
    args.push('STREAMS', this.#key(stream), `${start.ms}-${start.seq}`);
    try {
      const reply =
        blockMs > 0
          ? await this.#withBlockingConnection((connection) => connection.call('XREAD', args))
          : await this.#commands.call('XREAD', args);
      return parseStreamsReply(reply, 'XREAD').map((entry) => ({
        id: entry.id,
        body: bodyOfFields(entry.fields),
      }));
    } catch (error) {
      // Like a blocked group read, a tail dropped by close() ends empty.
      if (this.#closed) return [];
      throw error;
    }
  }

  async lastId(stream: string): Promise<string> {
    this.#assertOpen();
    const reply = await this.#commands.call('XREVRANGE', [
      this.#key(stream),
      '+',
      '-',
      'COUNT',
      '1',
    ]);
    return parseEntries(reply, 'XREVRANGE')[0]?.id ?? '0-0';
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // A read blocked on the server would hold QUIT back for its whole block time; its entries
    // (if any were handed out) stay pending and are reclaimed, so dropping it is safe.
    for (const connection of this.#busyBlocking) connection.disconnect();
    await Promise.allSettled([
      this.#commands.quit(),
      ...this.#idleBlocking.map((connection) => connection.quit()),
    ]);
    this.#idleBlocking.length = 0;
  }

  #assertOpen(): void {
    if (this.#closed) throw new BusClosedError();
  }

  #key(stream: string): string {
    return `${this.#prefix}${stream}`;
  }

  #trimArgs(options: PublishOptions | undefined): string[] {
    const maxLen = options?.maxLen ?? this.#defaultMaxLen;
    return maxLen === undefined ? [] : ['MAXLEN', '~', String(Math.max(0, Math.floor(maxLen)))];
  }

  #connect(role: RedisConnectionRole, connectionName: string): Redis {
    const connection = this.#createClient(role, connectionName);
    // Without a listener ioredis prints every reconnect error; reconnecting is handled.
    connection.on('error', (error: Error) => this.#onConnectionError?.(error, role));
    return connection;
  }

  async #withBlockingConnection<T>(use: (connection: Redis) => Promise<T>): Promise<T> {
    let connection = this.#idleBlocking.pop();
    if (!connection) {
      this.#blockingCreated += 1;
      connection = this.#connect('blocking', `${this.#name}:blocking:${this.#blockingCreated}`);
    }
    this.#busyBlocking.add(connection);
    try {
      return await use(connection);
    } finally {
      this.#busyBlocking.delete(connection);
      if (this.#closed) connection.disconnect();
      else this.#idleBlocking.push(connection);
    }
  }
}

function translateError(error: unknown, stream: string, group: string): unknown {
  if (error instanceof Error && error.message.startsWith('NOGROUP')) {
    return new BusGroupMissingError(stream, group, { cause: error });
  }
  return error;
}

function resultsOf(results: [Error | null, unknown][] | null, command: string): unknown[] {
  if (!results) throw new BusError(`${command} was aborted (transaction discarded)`);
  return results.map(([error, reply]) => {
    if (error) throw error;
    return reply;
  });
}

function expectString(reply: unknown, command: string): string {
  if (typeof reply === 'string') return reply;
  if (Buffer.isBuffer(reply)) return reply.toString();
  throw new BusReplyError(command, reply);
}

function expectNumber(reply: unknown, command: string): number {
  if (typeof reply === 'number') return reply;
  throw new BusReplyError(command, reply);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** `[[id, [field, value, ...] | nil], ...]`; nil (deleted) entries are skipped. */
function parseEntries(reply: unknown, command: string): RawEntry[] {
  if (reply === null) return [];
  if (!Array.isArray(reply)) throw new BusReplyError(command, reply);
  const entries: RawEntry[] = [];
  for (const item of reply) {
    if (!Array.isArray(item) || typeof item[0] !== 'string') {
      throw new BusReplyError(command, reply);
    }
    const fields: unknown = item[1];
    if (fields === null) continue;
    if (!isStringArray(fields)) throw new BusReplyError(command, reply);
    entries.push({ id: item[0], fields });
  }
  return entries;
}

/** `nil` (timed out) or `[[key, entries]]` for the one stream read (XREADGROUP, XREAD). */
function parseStreamsReply(reply: unknown, command = 'XREADGROUP'): RawEntry[] {
  if (reply === null) return [];
  if (!Array.isArray(reply)) throw new BusReplyError(command, reply);
  const [first] = reply;
  if (first === undefined) return [];
  if (!Array.isArray(first)) throw new BusReplyError(command, reply);
  return parseEntries(first[1] ?? null, command);
}

function parseAutoClaimReply(reply: unknown): [next: string, entries: RawEntry[]] {
  if (!Array.isArray(reply) || typeof reply[0] !== 'string') {
    throw new BusReplyError('XAUTOCLAIM', reply);
  }
  return [reply[0], parseEntries(reply[1] ?? null, 'XAUTOCLAIM')];
}

/** One row of extended XPENDING: `[[id, consumer, idle ms, deliveries]]`, or none. */
function parsePendingDetail(reply: unknown): { consumer: string; deliveries: number } | undefined {
  if (!Array.isArray(reply)) return undefined;
  const [row] = reply;
  if (!Array.isArray(row)) return undefined;
  const [, consumer, , deliveries] = row;
  if (typeof consumer !== 'string' || typeof deliveries !== 'number') return undefined;
  return { consumer, deliveries };
}

/** XINFO GROUPS: one flat `[name, value, ...]` list per group. */
function parseInfoGroups(reply: unknown): Array<Map<string, unknown>> {
  if (!Array.isArray(reply)) throw new BusReplyError('XINFO GROUPS', reply);
  return reply.map((group: unknown) => {
    if (!Array.isArray(group)) throw new BusReplyError('XINFO GROUPS', reply);
    const fields = new Map<string, unknown>();
    for (let i = 0; i + 1 < group.length; i += 2) fields.set(String(group[i]), group[i + 1]);
    return fields;
  });
}
