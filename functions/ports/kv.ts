/**
 * The KeyValue port: single-item reads and conditional writes, batched reads and unconditional
 * batched writes, plus all-or-nothing transactions, with the semantics of DynamoDB. Cores use it
 * for snapshots, idempotency records, product records and release pointers without importing the
 * AWS SDK; handlers and runtimes pass a `KeyValue` in.
 *
 * Semantics every adapter honours (pinned by `test/kv.contract.test.ts`):
 * - reads are strongly consistent: a `get` or `getMany` after an acknowledged write sees it;
 * - a failed condition is a value (`{ ok: false, reason: 'conditional-check-failed' }`), never an
 *   exception, and leaves the stored item untouched;
 * - `transactWrite` applies every operation or none of them;
 * - `putMany` and `deleteMany` are neither conditional nor atomic: each item is written as by an
 *   unconditional `put` (or `delete`); when they throw, some items may have been written.
 */

/** A stored item: plain JSON-like values (strings, numbers, booleans, null, arrays, maps). */
export type Item = Record<string, unknown>;

/** The primary key of an item: the partition key and, for tables that have one, the sort key. */
export type Key = Record<string, string | number>;

/**
 * Optimistic concurrency on a numeric or string version attribute.
 * - `equals`: write only if the stored item's attribute equals the value (compare-and-swap).
 * - `lessThan`: write only if there is no stored item, the stored item lacks the attribute, or
 *   its value is lower, so an older write arriving late never overwrites a newer one.
 */
export type VersionCondition =
  | { readonly attr: string; readonly equals: number | string }
  | { readonly attr: string; readonly lessThan: number | string };

/** At most one condition per write: either the item must be new, or its version must match. */
export type PutOptions =
  | {
      /** Write only if no stored item has this attribute (use the partition key for "is new"). */
      readonly ifNotExists: string;
      readonly ifVersion?: never;
    }
  | { readonly ifVersion: VersionCondition; readonly ifNotExists?: never }
  | { readonly ifNotExists?: undefined; readonly ifVersion?: undefined };

/** Why a conditional write was refused; the only expected failure of the port. */
export type ConditionFailure = { readonly ok: false; readonly reason: 'conditional-check-failed' };

export type PutResult = { readonly ok: true } | ConditionFailure;

/** What {@link KeyValue.replace} did: the write and the item it replaced, or a refusal. */
export type ReplaceResult =
  | {
      readonly ok: true;
      /** The whole stored item the write replaced; `undefined` when there was none. */
      readonly previous: Item | undefined;
    }
  | ConditionFailure;

/** A put inside a transaction. */
export interface TransactPut {
  readonly put: {
    readonly table: string;
    readonly item: Item;
    /** Refuse the whole transaction if a stored item already has this attribute. */
    readonly ifNotExists?: string;
  };
}

/**
 * An update inside a transaction; creates the item if it does not exist. `add` increments
 * numbers atomically (missing attributes count as 0); `set` overwrites attributes.
 */
export interface TransactUpdate {
  readonly update: {
    readonly table: string;
    readonly key: Key;
    readonly add?: Readonly<Record<string, number>>;
    readonly set?: Readonly<Record<string, unknown>>;
  };
}

export type TransactOp = TransactPut | TransactUpdate;

export type TransactResult =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly reason: 'conditional-check-failed';
      /** Position in `ops` of the first operation whose condition failed, when known. */
      readonly index?: number;
    };

export interface KeyValue {
  /** Reads one item (strongly consistent); `undefined` when there is none. */
  get(table: string, key: Key): Promise<Item | undefined>;
  /** Writes one whole item, replacing any stored item with the same key, if the condition holds. */
  put(table: string, item: Item, options?: PutOptions): Promise<PutResult>;
  /**
   * {@link put}, answering with the item the write replaced, read atomically with the write (one
   * request): a diff against `previous` is a diff against exactly what was overwritten.
   */
  replace(table: string, item: Item, options?: PutOptions): Promise<ReplaceResult>;
  /** Deletes one item; deleting a missing item is not an error. */
  delete(table: string, key: Key): Promise<void>;
  /**
   * Reads many items of one table (strongly consistent), answering in the order of `keys`, with
   * `undefined` where there is none; a key listed twice is read once and answered twice.
   */
  getMany(table: string, keys: readonly Key[]): Promise<Array<Item | undefined>>;
  /**
   * Writes many whole items of one table unconditionally, as that many `put`s without options
   * would; for items with the same key the last one wins. Not atomic: if it throws, any subset
   * may have been written.
   */
  putMany(table: string, items: readonly Item[]): Promise<void>;
  /** Deletes many items of one table; missing ones are not an error. Not atomic. */
  deleteMany(table: string, keys: readonly Key[]): Promise<void>;
  /** Applies all operations atomically, or none if any condition fails. */
  transactWrite(ops: readonly TransactOp[]): Promise<TransactResult>;
}

/** Base of the errors a KeyValue adapter throws: unexpected failures, never a refused condition. */
export class KvError extends Error {
  /** The port operation that failed (`get`, `put`, `getMany`, `putMany`, `transactWrite`, …). */
  readonly operation: string;
  readonly table: string | undefined;

  constructor(message: string, details: { operation: string; table?: string; cause?: unknown }) {
    super(message, { cause: details.cause });
    this.name = 'KvError';
    this.operation = details.operation;
    this.table = details.table;
  }
}

/** The backend does not implement an operation (dynalite has no TransactWriteItems). */
export class KvUnsupportedOperationError extends KvError {
  constructor(message: string, details: { operation: string; table?: string; cause?: unknown }) {
    super(message, details);
    this.name = 'KvUnsupportedOperationError';
  }
}

/** The request was malformed for the backend (bad key, two operations on one item, …). */
export class KvValidationError extends KvError {
  constructor(message: string, details: { operation: string; table?: string; cause?: unknown }) {
    super(message, details);
    this.name = 'KvValidationError';
  }
}

/**
 * Concurrent transactions kept conflicting on the same items after the adapter's retries; nothing
 * was applied and the caller may retry later.
 */
export class KvTransactionConflictError extends KvError {
  readonly attempts: number;

  constructor(
    message: string,
    details: { operation: string; table?: string; cause?: unknown; attempts: number },
  ) {
    super(message, details);
    this.name = 'KvTransactionConflictError';
    this.attempts = details.attempts;
  }
}

/** Any other backend failure (network, throttling after SDK retries, missing table, …). */
export class KvRequestError extends KvError {
  constructor(message: string, details: { operation: string; table?: string; cause?: unknown }) {
    super(message, details);
    this.name = 'KvRequestError';
  }
}

/**
 * A batched read or write still had unprocessed items after the adapter's retries (throttling or
 * a partial result kept coming back); the caller may retry, writes being idempotent puts.
 */
export class KvBatchIncompleteError extends KvRequestError {
  /** Items left unprocessed after the last attempt. */
  readonly unprocessed: number;
  readonly attempts: number;

  constructor(
    message: string,
    details: { operation: string; table?: string; unprocessed: number; attempts: number },
  ) {
    super(message, details);
    this.name = 'KvBatchIncompleteError';
    this.unprocessed = details.unprocessed;
    this.attempts = details.attempts;
  }
}
