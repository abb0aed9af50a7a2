import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { StreamEntry, TraceSource } from '../../ports/bus.js';
import { BusClosedError } from './bus-errors.js';
import {
  compareEntryIds,
  type EntryId,
  formatEntryId,
  parseEntryId,
  ZERO_ID,
} from './stream-entry.js';

/**
 * A copy of one bus stream in a DynamoDB table (pk `pk` = stream name, sk `sk` = entry id padded
 * so that string order is id order, TTL on `expires_at`), read like the stream itself.
 *
 * Why it exists: in AWS the SSE function streams its response through a Function URL, which AWS
 * does not support for functions in a VPC, while the bus (ElastiCache) is reachable only from
 * inside the VPC. A copier inside the VPC writes the trace stream here; the SSE function, outside
 * the VPC, tails this table. Entry ids are the bus's own, so `Last-Event-ID` resumes work the
 * same against the copy as against the bus.
 *
 * Gap-free by construction: each copier writes the stream in id order, one entry at a time, and
 * resumes from the newest id already copied; readers read with strong consistency. So whenever
 * an entry is visible, every entry before it is too, even while two copiers overlap (both write
 * the same entries in the same order; the second write of an entry is refused and changes
 * nothing).
 */
export interface DynamoTraceMirrorOptions {
  readonly doc: DynamoDBDocumentClient;
  readonly table: string;
  /** How long a copied entry is kept; DynamoDB deletes it after (default 3 days). */
  readonly ttlSeconds?: number;
  /** How often `tail` looks for new entries while it waits (default 250 ms). */
  readonly pollMs?: number;
  readonly now?: () => Date;
}

/** Where an entry goes in the table and what it carries. */
export interface MirrorItem {
  readonly pk: string;
  readonly sk: string;
  readonly id: string;
  readonly body: string;
  readonly expires_at: number;
}

const DEFAULT_TTL_SECONDS = 3 * 24 * 3600;
const DEFAULT_POLL_MS = 250;
// Ids are safe integers: 16 digits hold any millisecond time and any sequence.
const ID_DIGITS = 16;

/**
 * The sort key of an entry id: both halves zero-padded, so DynamoDB's byte order of the keys is
 * the numeric order of the ids.
 *
 * @example
 * mirrorSortKey('1700000000000-2'); // '0001700000000000-0000000000000002'
 */
export function mirrorSortKey(id: string | EntryId): string {
  const parsed = typeof id === 'string' ? parseEntryId(id) : id;
  return `${String(parsed.ms).padStart(ID_DIGITS, '0')}-${String(parsed.seq).padStart(ID_DIGITS, '0')}`;
}

/**
 * Reads and writes the copy. Read side: `range`, `tail` and `lastId` with the semantics of the
 * bus (exclusive `afterId`, ascending order, `0-0` for an empty stream). Write side: `write`,
 * which refuses an entry already copied.
 */
export class DynamoTraceMirror implements TraceSource {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #ttlSeconds: number;
  readonly #pollMs: number;
  readonly #now: () => Date;
  #closed = false;

  constructor(options: DynamoTraceMirrorOptions) {
    this.#doc = options.doc;
    this.#table = options.table;
    this.#ttlSeconds = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
    this.#pollMs = options.pollMs ?? DEFAULT_POLL_MS;
    this.#now = options.now ?? (() => new Date());
  }

  /** The item an entry of `stream` is stored as. */
  itemOf(stream: string, entry: StreamEntry): MirrorItem {
    return {
      pk: stream,
      sk: mirrorSortKey(entry.id),
      id: entry.id,
      body: entry.body,
      expires_at: Math.floor(this.#now().getTime() / 1000) + this.#ttlSeconds,
    };
  }

  /**
   * Copies one entry; `'present'` when it was already there (another copier wrote it first),
   * which is not an error: the stored copy is the same entry.
   */
  async write(stream: string, entry: StreamEntry): Promise<'written' | 'present'> {
    this.#assertOpen();
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: this.itemOf(stream, entry),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return 'written';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'present';
      throw error;
    }
  }

  async range(stream: string, afterId: string, count: number): Promise<StreamEntry[]> {
    this.#assertOpen();
    return this.#after(stream, parseEntryId(afterId), count);
  }

  async tail(
    stream: string,
    afterId: string,
    options: { readonly count: number; readonly blockMs?: number },
  ): Promise<StreamEntry[]> {
    this.#assertOpen();
    const after = parseEntryId(afterId);
    const deadline = performance.now() + (options.blockMs ?? 0);
    for (;;) {
      const entries = await this.#after(stream, after, Math.max(1, options.count));
      const remaining = deadline - performance.now();
      if (entries.length > 0 || remaining <= 0 || this.#closed) return entries;
      await new Promise((done) => setTimeout(done, Math.min(this.#pollMs, remaining)));
      if (this.#closed) return [];
    }
  }

  async lastId(stream: string): Promise<string> {
    this.#assertOpen();
    const { Items } = await this.#doc.send(
      new QueryCommand({
        TableName: this.#table,
        KeyConditionExpression: 'pk = :stream',
        ExpressionAttributeValues: { ':stream': stream },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
        ProjectionExpression: 'id',
      }),
    );
    const id = Items?.[0]?.id;
    return typeof id === 'string' ? id : formatEntryId(ZERO_ID);
  }

  /** Ends waiting `tail` calls; later calls throw {@link BusClosedError}. */
  async close(): Promise<void> {
    this.#closed = true;
  }

  async #after(stream: string, after: EntryId, count: number): Promise<StreamEntry[]> {
    const entries: StreamEntry[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: 'pk = :stream AND sk > :after',
          ExpressionAttributeValues: { ':stream': stream, ':after': mirrorSortKey(after) },
          ScanIndexForward: true,
          Limit: count - entries.length,
          // Strong reads: an entry visible here means every entry before it is visible too.
          ConsistentRead: true,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        if (typeof item.id !== 'string' || typeof item.body !== 'string') continue;
        if (compareEntryIds(parseEntryId(item.id), after) <= 0) continue;
        entries.push({ id: item.id, body: item.body });
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey && entries.length < count);
    return entries;
  }

  #assertOpen(): void {
    if (this.#closed) throw new BusClosedError();
  }
}
