/**
 * The KeyValue port: single-item reads and conditional writes plus all-or-nothing transactions,
 * with the semantics of DynamoDB. Cores use it for snapshots, idempotency records and release
 * pointers without importing the AWS SDK; handlers and runtimes pass a `KeyValue` in.
 *
 * Semantics every adapter honours (pinned by `test/kv.contract.test.ts`):
 * - reads are strongly consistent: a `get` after an acknowledged write sees that write;
 * - a failed condition is a value (`{ ok: false, reason: 'conditional-check-failed' }`), never an
 *   exception, and leaves the stored item untouched;
 * - `transactWrite` applies every operation or none of them.
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
  /** Deletes one item; deleting a missing item is not an error. */
  delete(table: string, key: Key): Promise<void>;
  /** Applies all operations atomically, or none if any condition fails. */
  transactWrite(ops: readonly TransactOp[]): Promise<TransactResult>;
}

/** Base of the errors a KeyValue adapter throws: unexpected failures, never a refused condition. */
export class KvError extends Error {
  /** The port operation that failed (`get`, `put`, `delete`, `transactWrite`). */
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
