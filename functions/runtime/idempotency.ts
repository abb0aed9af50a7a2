import type { Item, KeyValue, TransactOp } from '../ports/kv.js';

/** What happened to an event: its effects were written now, or they had been already. */
export type ApplyOutcome = 'applied' | 'duplicate';

/** Default retention of idempotency records: a week outlives any redelivery or DLQ replay. */
export const DEFAULT_IDEMPOTENCY_TTL_SECONDS = 7 * 24 * 60 * 60;

export interface IdempotencyOptions {
  /**
   * How long a record is kept (DynamoDB TTL on `expires_at`, in epoch seconds). Duplicates are
   * recognised for at least this long; TTL deletion is lazy, so often longer.
   */
  readonly ttlSeconds?: number;
  /** Clock in epoch milliseconds, for the record's timestamps. */
  readonly now?: () => number;
}

export interface Idempotency {
  /**
   * Applies `effects` once per `(scope, key)`: the idempotency record (`pk = scope#key`, put only
   * if absent) and the effects are written in ONE transaction. Either both are stored or neither
   * is, so a crash cannot leave effects without their record, and a redelivered event finds the
   * record and writes nothing.
   *
   * @returns `'applied'` when this call wrote the effects, `'duplicate'` when an earlier one had.
   * @throws {IdempotencyEffectRejectedError} when an effect's own condition refused the write.
   *
   * @example
   * ```ts
   * const outcome = await idempotency.applyOnce('ingest', message.id, [
   *   { put: { table: names.snapshots, item: snapshot } },
   *   { update: { table: names.kv, key: { pk: 'counter#ingested' }, add: { count: 1 } } },
   * ]);
   * ```
   */
  applyOnce(scope: string, key: string, effects: readonly TransactOp[]): Promise<ApplyOutcome>;
  /** True when a record exists for `(scope, key)`. */
  wasApplied(scope: string, key: string): Promise<boolean>;
  /**
   * Stores the record alone (a conditional put), for handlers whose effects live elsewhere and
   * are themselves idempotent: check `wasApplied`, do the work, then `markApplied`.
   *
   * @returns `'applied'` when this call stored the record, `'duplicate'` when it existed.
   */
  markApplied(scope: string, key: string): Promise<ApplyOutcome>;
}

/** Base of the idempotency errors. */
export class IdempotencyError extends Error {
  readonly scope: string;
  readonly key: string;

  constructor(message: string, details: { scope: string; key: string; cause?: unknown }) {
    super(message, { cause: details.cause });
    this.name = 'IdempotencyError';
    this.scope = details.scope;
    this.key = details.key;
  }
}

/** The scope or key cannot form a record key (empty, or a `#` in the scope). */
export class IdempotencyKeyError extends IdempotencyError {
  constructor(message: string, details: { scope: string; key: string }) {
    super(message, details);
    this.name = 'IdempotencyKeyError';
  }
}

/**
 * One of the caller's effects carried a condition that failed, so nothing was written, the
 * record included: the event was not applied and is not a duplicate.
 */
export class IdempotencyEffectRejectedError extends IdempotencyError {
  /** Position in `effects` of the refused write, when the backend says which. */
  readonly effectIndex: number | undefined;

  constructor(
    message: string,
    details: { scope: string; key: string; effectIndex: number | undefined },
  ) {
    super(message, details);
    this.name = 'IdempotencyEffectRejectedError';
    this.effectIndex = details.effectIndex;
  }
}

/**
 * The partition key of the record for `(scope, key)`: `scope#key`. A scope may not contain `#`,
 * so `('a#b', 'c')` and `('a', 'b#c')` can never share a record; keys may.
 */
export function idempotencyRecordKey(scope: string, key: string): string {
  if (scope.length === 0 || key.length === 0) {
    throw new IdempotencyKeyError('idempotency scope and key must be non-empty', { scope, key });
  }
  if (scope.includes('#')) {
    throw new IdempotencyKeyError(`idempotency scope must not contain '#': ${scope}`, {
      scope,
      key,
    });
  }
  return `${scope}#${key}`;
}

/**
 * Creates the idempotency store over a KeyValue port; `table` is the idempotency table (pk `pk`,
 * TTL attribute `expires_at`, see `ensureTables`).
 */
export function createIdempotency(
  kv: KeyValue,
  table: string,
  options: IdempotencyOptions = {},
): Idempotency {
  const ttlSeconds = options.ttlSeconds ?? DEFAULT_IDEMPOTENCY_TTL_SECONDS;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) {
    throw new RangeError(`ttlSeconds must be a positive integer, got ${ttlSeconds}`);
  }
  const now = options.now ?? Date.now;

  const record = (scope: string, key: string): Item => {
    const at = now();
    return {
      pk: idempotencyRecordKey(scope, key),
      scope,
      key,
      applied_at: new Date(at).toISOString(),
      expires_at: Math.floor(at / 1000) + ttlSeconds,
    };
  };

  const wasApplied = async (scope: string, key: string): Promise<boolean> =>
    (await kv.get(table, { pk: idempotencyRecordKey(scope, key) })) !== undefined;

  return {
    wasApplied,

    async applyOnce(scope, key, effects) {
      const claim: TransactOp = {
        put: { table, item: record(scope, key), ifNotExists: 'pk' },
      };
      const result = await kv.transactWrite([claim, ...effects]);
      if (result.ok) return 'applied';
      // The claim comes first, so index 0 means the record existed, whatever the effects said.
      if (result.index === 0) return 'duplicate';
      if (result.index === undefined && (await wasApplied(scope, key))) return 'duplicate';
      const effectIndex = result.index === undefined ? undefined : result.index - 1;
      throw new IdempotencyEffectRejectedError(
        `effect ${effectIndex ?? '(unknown)'} of ${scope}#${key} failed its condition; nothing was applied`,
        { scope, key, effectIndex },
      );
    },

    async markApplied(scope, key) {
      const result = await kv.put(table, record(scope, key), { ifNotExists: 'pk' });
      return result.ok ? 'applied' : 'duplicate';
    },
  };
}
