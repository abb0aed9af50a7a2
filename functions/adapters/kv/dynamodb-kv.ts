import {
  ConditionalCheckFailedException,
  DescribeTableCommand,
  TransactionCanceledException,
  TransactionConflictException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  type BatchWriteCommandInput,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type Item,
  type Key,
  type KeyValue,
  KvBatchIncompleteError,
  KvError,
  KvRequestError,
  KvTransactionConflictError,
  KvUnsupportedOperationError,
  KvValidationError,
  type PutOptions,
  type PutResult,
  type ReplaceResult,
  type TransactOp,
  type TransactResult,
  type TransactUpdate,
} from '../../ports/kv.js';

export interface DynamoKvOptions {
  /**
   * How `transactWrite` reaches the backend.
   * - `native` (default): one TransactWriteItems call; DynamoDB and DynamoDB Local.
   * - `emulated`: for backends without TransactWriteItems (dynalite). Reads every target item,
   *   checks the conditions, then writes one item at a time (each write still carrying its
   *   condition) and restores the previous images if a later write is refused. Emulated
   *   transactions are serialised within this process, which makes them all-or-nothing and
   *   isolated from each other for a single-process writer such as the embedded local runtime.
   *   They are not atomic against a crash mid-way or against writers in other processes.
   */
  readonly transactions?: 'native' | 'emulated';
  /** Attempts for a write cancelled only by concurrent transactions on its items (default 8). */
  readonly maxConflictAttempts?: number;
  /** BatchGetItem / BatchWriteItem requests one batched call keeps in flight (default 8). */
  readonly batchConcurrency?: number;
  /** Requests per batch whose items keep coming back unprocessed, before giving up (default 10). */
  readonly maxBatchAttempts?: number;
}

/** Most keys in one BatchGetItem request (a DynamoDB limit). */
export const BATCH_GET_LIMIT = 100;
/** Most operations in one BatchWriteItem request (a DynamoDB limit). */
export const BATCH_WRITE_LIMIT = 25;

/** The DynamoDB adapter of the KeyValue port, telling which transaction mode it uses. */
export interface DynamoKeyValue extends KeyValue {
  readonly transactions: 'native' | 'emulated';
}

const OK = Object.freeze({ ok: true as const });
const CONDITION_FAILED = Object.freeze({
  ok: false as const,
  reason: 'conditional-check-failed' as const,
});

/**
 * Creates the KeyValue port over a DynamoDB document client (see `createDynamoClients`).
 *
 * @example
 * ```ts
 * const { doc } = createDynamoClients();
 * const kv = createDynamoKv(doc);
 * const result = await kv.put('selfheal-kv', { pk: 'release', id: 'R2', version: 2 }, {
 *   ifVersion: { attr: 'version', lessThan: 2 },
 * });
 * ```
 */
export function createDynamoKv(
  doc: DynamoDBDocumentClient,
  options: DynamoKvOptions = {},
): DynamoKeyValue {
  const transactions = options.transactions ?? 'native';
  const maxConflictAttempts = options.maxConflictAttempts ?? 8;
  const batchConcurrency = Math.max(1, Math.floor(options.batchConcurrency ?? 8));
  const maxBatchAttempts = Math.max(1, Math.floor(options.maxBatchAttempts ?? 10));
  const keySchemas = new Map<string, Promise<string[]>>();

  async function get(table: string, key: Key): Promise<Item | undefined> {
    try {
      const { Item: item } = await retryOnConflict(maxConflictAttempts, () =>
        doc.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true })),
      );
      return item;
    } catch (error) {
      throw toKvError(error, 'get', table);
    }
  }

  async function put(table: string, item: Item, putOptions: PutOptions = {}): Promise<PutResult> {
    try {
      await retryOnConflict(maxConflictAttempts, () =>
        doc.send(new PutCommand({ TableName: table, Item: item, ...putCondition(putOptions) })),
      );
      return OK;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return CONDITION_FAILED;
      throw toKvError(error, 'put', table);
    }
  }

  async function replace(
    table: string,
    item: Item,
    putOptions: PutOptions = {},
  ): Promise<ReplaceResult> {
    try {
      const { Attributes: previous } = await retryOnConflict(maxConflictAttempts, () =>
        doc.send(
          new PutCommand({
            TableName: table,
            Item: item,
            ReturnValues: 'ALL_OLD',
            ...putCondition(putOptions),
          }),
        ),
      );
      return { ok: true, previous };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return CONDITION_FAILED;
      throw toKvError(error, 'replace', table);
    }
  }

  async function getMany(table: string, keys: readonly Key[]): Promise<Array<Item | undefined>> {
    if (keys.length === 0) return [];
    const identities = keys.map(stableKey);
    const unique = new Map<string, Key>();
    for (const [index, key] of keys.entries()) unique.set(identities[index] as string, key);
    // The key attributes of the request name the key attributes of what comes back.
    const keyShapes = new Map<string, string[]>();
    for (const key of keys) {
      const names = Object.keys(key).sort();
      keyShapes.set(names.join('\u0000'), names);
    }
    const found = new Map<string, Item>();
    const remember = (item: Item) => {
      for (const names of keyShapes.values()) {
        const identity = stableKey(pick(item, names));
        if (unique.has(identity)) found.set(identity, item);
      }
    };

    try {
      await forEachLimit(
        chunk([...unique.values()], BATCH_GET_LIMIT),
        batchConcurrency,
        async (batch) => {
          let pending: Key[] = batch;
          for (let attempt = 1; ; attempt++) {
            const output = await retryOnConflict(maxConflictAttempts, () =>
              doc.send(
                new BatchGetCommand({
                  RequestItems: { [table]: { Keys: pending, ConsistentRead: true } },
                }),
              ),
            );
            const items = output.Responses?.[table] ?? [];
            for (const item of items) remember(item);
            // A partial answer (16 MB cap, throttling) names the rest in UnprocessedKeys.
            const rest = (output.UnprocessedKeys?.[table]?.Keys ?? []) as Key[];
            if (rest.length === 0) return;
            if (attempt >= maxBatchAttempts) {
              throw new KvBatchIncompleteError(
                `getMany on ${table}: ${rest.length} keys still unprocessed after ${attempt} requests`,
                { operation: 'getMany', table, unprocessed: rest.length, attempts: attempt },
              );
            }
            // No progress at all means throttling: back off. Progress means a size cap: go on.
            if (items.length === 0) await backoff(attempt);
            pending = rest;
          }
        },
      );
    } catch (error) {
      throw toKvError(error, 'getMany', table);
    }
    return identities.map((identity) => found.get(identity));
  }

  type WriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];

  /** Writes requests that each target a distinct item, 25 per BatchWriteItem, retrying the rest. */
  async function writeBatches(
    table: string,
    requests: readonly WriteRequest[],
    operation: string,
  ): Promise<void> {
    try {
      await forEachLimit(chunk(requests, BATCH_WRITE_LIMIT), batchConcurrency, async (batch) => {
        let pending: WriteRequest[] = batch;
        for (let attempt = 1; ; attempt++) {
          const output = await retryOnConflict(maxConflictAttempts, () =>
            doc.send(new BatchWriteCommand({ RequestItems: { [table]: pending } })),
          );
          const rest = output.UnprocessedItems?.[table] ?? [];
          if (rest.length === 0) return;
          if (attempt >= maxBatchAttempts) {
            throw new KvBatchIncompleteError(
              `${operation} on ${table}: ${rest.length} items still unprocessed after ${attempt} requests`,
              { operation, table, unprocessed: rest.length, attempts: attempt },
            );
          }
          // Unprocessed writes mean throttling: back off before sending the rest.
          await backoff(attempt);
          pending = rest;
        }
      });
    } catch (error) {
      throw toKvError(error, operation, table);
    }
  }

  async function putMany(table: string, items: readonly Item[]): Promise<void> {
    if (items.length === 0) return;
    const names = await keyAttributes(table, 'putMany');
    // One request may not name an item twice, and two requests in flight have no order: keep
    // only the last item per key, as that many puts in sequence would leave.
    const last = new Map<string, Item>();
    for (const item of items) {
      const key: Record<string, string | number> = {};
      for (const name of names) {
        const value = item[name];
        if (typeof value !== 'string' && typeof value !== 'number') {
          throw new KvValidationError(`putMany on ${table}: an item lacks key attribute ${name}`, {
            operation: 'putMany',
            table,
          });
        }
        key[name] = value;
      }
      const identity = stableKey(key);
      last.delete(identity);
      last.set(identity, item);
    }
    await writeBatches(
      table,
      [...last.values()].map((item) => ({ PutRequest: { Item: item } })),
      'putMany',
    );
  }

  async function deleteMany(table: string, keys: readonly Key[]): Promise<void> {
    if (keys.length === 0) return;
    const unique = new Map(keys.map((key) => [stableKey(key), key]));
    await writeBatches(
      table,
      [...unique.values()].map((key) => ({ DeleteRequest: { Key: key } })),
      'deleteMany',
    );
  }

  async function remove(table: string, key: Key): Promise<void> {
    try {
      await retryOnConflict(maxConflictAttempts, () =>
        doc.send(new DeleteCommand({ TableName: table, Key: key })),
      );
    } catch (error) {
      throw toKvError(error, 'delete', table);
    }
  }

  async function nativeTransactWrite(ops: readonly TransactOp[]): Promise<TransactResult> {
    const input: TransactWriteCommandInput = { TransactItems: ops.map(toTransactItem) };
    for (let attempt = 1; ; attempt++) {
      try {
        await doc.send(new TransactWriteCommand(input));
        return OK;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) {
          throw toKvError(error, 'transactWrite', tablesOf(ops));
        }
        // Reasons come in request order, one per operation ('None' for the ones that were fine).
        const reasons = error.CancellationReasons ?? [];
        const index = reasons.findIndex((reason) => reason.Code === 'ConditionalCheckFailed');
        if (index >= 0) return { ...CONDITION_FAILED, index };
        if (reasons.some((reason) => reason.Code === 'ValidationError')) {
          throw new KvValidationError(
            `transaction on ${tablesOf(ops)} was invalid: ${error.message}`,
            { operation: 'transactWrite', table: tablesOf(ops), cause: error },
          );
        }
        const conflicted = reasons.some((reason) => reason.Code === 'TransactionConflict');
        if (!conflicted) throw toKvError(error, 'transactWrite', tablesOf(ops));
        if (attempt >= maxConflictAttempts) {
          throw new KvTransactionConflictError(
            `transaction on ${tablesOf(ops)} still conflicted after ${attempt} attempts`,
            { operation: 'transactWrite', table: tablesOf(ops), cause: error, attempts: attempt },
          );
        }
        await backoff(attempt);
      }
    }
  }

  function keyAttributes(table: string, operation = 'transactWrite'): Promise<string[]> {
    let schema = keySchemas.get(table);
    if (!schema) {
      schema = doc.send(new DescribeTableCommand({ TableName: table })).then(
        ({ Table }) => (Table?.KeySchema ?? []).flatMap(({ AttributeName: name }) => name ?? []),
        (error: unknown) => {
          keySchemas.delete(table);
          throw toKvError(error, operation, table);
        },
      );
      keySchemas.set(table, schema);
    }
    return schema;
  }

  async function targetOf(op: TransactOp): Promise<{ table: string; key: Key }> {
    if ('update' in op) return { table: op.update.table, key: op.update.key };
    const { table, item } = op.put;
    const key: Record<string, string | number> = {};
    for (const name of await keyAttributes(table)) {
      const value = item[name];
      if (typeof value !== 'string' && typeof value !== 'number') {
        throw new KvValidationError(`put on ${table} lacks key attribute ${name}`, {
          operation: 'transactWrite',
          table,
        });
      }
      key[name] = value;
    }
    return { table, key };
  }

  async function emulatedTransactWrite(ops: readonly TransactOp[]): Promise<TransactResult> {
    const targets = await Promise.all(ops.map(targetOf));
    const identities = targets.map(({ table, key }) => `${table}\u0000${stableKey(key)}`);
    if (new Set(identities).size !== identities.length) {
      throw new KvValidationError('a transaction cannot include two operations on one item', {
        operation: 'transactWrite',
        table: tablesOf(ops),
      });
    }

    const priors = await Promise.all(targets.map(({ table, key }) => get(table, key)));
    const refused = ops.findIndex((op, index) => {
      const attribute = 'put' in op ? op.put.ifNotExists : undefined;
      return attribute !== undefined && priors[index]?.[attribute] !== undefined;
    });
    if (refused >= 0) return { ...CONDITION_FAILED, index: refused };

    const applied: number[] = [];
    try {
      for (const [index, op] of ops.entries()) {
        // The condition travels with the write too: a writer outside this process may have
        // raced us since the read, and then we must refuse rather than overwrite.
        const result =
          'put' in op
            ? await put(
                op.put.table,
                op.put.item,
                op.put.ifNotExists ? { ifNotExists: op.put.ifNotExists } : {},
              )
            : await update(op);
        if (!result.ok) {
          await rollback(applied, targets, priors);
          return { ...CONDITION_FAILED, index };
        }
        applied.push(index);
      }
      return OK;
    } catch (error) {
      if (error instanceof KvError && error.operation === 'rollback') throw error;
      await rollback(applied, targets, priors);
      throw error;
    }
  }

  async function update(op: TransactUpdate): Promise<PutResult> {
    const { table, key } = op.update;
    try {
      await retryOnConflict(maxConflictAttempts, () =>
        doc.send(new UpdateCommand({ TableName: table, Key: key, ...updateExpression(op) })),
      );
      return OK;
    } catch (error) {
      throw toKvError(error, 'transactWrite', table);
    }
  }

  async function rollback(
    applied: readonly number[],
    targets: readonly { table: string; key: Key }[],
    priors: readonly (Item | undefined)[],
  ): Promise<void> {
    for (const index of [...applied].reverse()) {
      const target = targets[index];
      if (!target) continue;
      const prior = priors[index];
      try {
        if (prior) await put(target.table, prior);
        else await remove(target.table, target.key);
      } catch (error) {
        throw new KvRequestError(
          `emulated transaction could not restore ${target.table} ${stableKey(target.key)}; ` +
            'items of this transaction may be partially written',
          { operation: 'rollback', table: target.table, cause: error },
        );
      }
    }
  }

  return {
    transactions,
    get,
    put,
    replace,
    delete: remove,
    getMany,
    putMany,
    deleteMany,
    async transactWrite(ops) {
      if (ops.length === 0) return OK;
      // Refuse a malformed update before anything is written, in either mode.
      for (const op of ops) if ('update' in op) updateExpression(op);
      if (transactions === 'native') return nativeTransactWrite(ops);
      return serialised(() => emulatedTransactWrite(ops));
    },
  };
}

/** The single queue all emulated transactions of this process pass through, one at a time. */
let emulationQueue: Promise<unknown> = Promise.resolve();

function serialised<T>(work: () => Promise<T>): Promise<T> {
  const run = emulationQueue.then(work, work);
  emulationQueue = run.catch(() => undefined);
  return run;
}

type Expression = {
  ConditionExpression?: string;
  UpdateExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
};

function putCondition(options: PutOptions): Expression {
  if (options.ifNotExists !== undefined) {
    return {
      ConditionExpression: 'attribute_not_exists(#c)',
      ExpressionAttributeNames: { '#c': options.ifNotExists },
    };
  }
  const version = options.ifVersion;
  if (version === undefined) return {};
  if ('equals' in version) {
    return {
      ConditionExpression: '#c = :c',
      ExpressionAttributeNames: { '#c': version.attr },
      ExpressionAttributeValues: { ':c': version.equals },
    };
  }
  return {
    ConditionExpression: 'attribute_not_exists(#c) OR #c < :c',
    ExpressionAttributeNames: { '#c': version.attr },
    ExpressionAttributeValues: { ':c': version.lessThan },
  };
}

function updateExpression(op: TransactUpdate): Expression & { UpdateExpression: string } {
  const { table, set = {}, add = {} } = op.update;
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const clauses: string[] = [];
  // Placeholders for every name: attribute names may be reserved words or contain dots.
  const setParts = Object.entries(set).map(([name, value], index) => {
    names[`#s${index}`] = name;
    values[`:s${index}`] = value;
    return `#s${index} = :s${index}`;
  });
  const addParts = Object.entries(add).map(([name, value], index) => {
    names[`#a${index}`] = name;
    values[`:a${index}`] = value;
    return `#a${index} :a${index}`;
  });
  if (setParts.length > 0) clauses.push(`SET ${setParts.join(', ')}`);
  if (addParts.length > 0) clauses.push(`ADD ${addParts.join(', ')}`);
  if (clauses.length === 0) {
    throw new KvValidationError(`update on ${table} has neither add nor set`, {
      operation: 'transactWrite',
      table,
    });
  }
  return {
    UpdateExpression: clauses.join(' '),
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

function toTransactItem(
  op: TransactOp,
): NonNullable<TransactWriteCommandInput['TransactItems']>[0] {
  if ('put' in op) {
    const { table, item, ifNotExists } = op.put;
    return {
      Put: {
        TableName: table,
        Item: item,
        ...(ifNotExists === undefined ? {} : putCondition({ ifNotExists })),
      },
    };
  }
  return { Update: { TableName: op.update.table, Key: op.update.key, ...updateExpression(op) } };
}

/**
 * Retries a single-item request that collided with an in-flight transaction on the same item
 * (TransactionConflictException): the SDK does not retry it, and the transaction finishes soon.
 */
async function retryOnConflict<T>(maxAttempts: number, send: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      if (!(error instanceof TransactionConflictException) || attempt >= maxAttempts) throw error;
      await backoff(attempt);
    }
  }
}

/** Full-jitter exponential backoff: spreads competing writers apart instead of in lockstep. */
function backoff(attempt: number): Promise<void> {
  const capMs = Math.min(500, 10 * 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, Math.random() * capMs));
}

/** Runs `fn` over the values with at most `limit` in flight; the first failure stops new ones. */
async function forEachLimit<T>(
  values: readonly T[],
  limit: number,
  fn: (value: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < values.length) {
      const value = values[next++] as T;
      try {
        await fn(value);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, values.length) }, worker));
}

function chunk<T>(values: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < values.length; start += size) {
    chunks.push(values.slice(start, start + size));
  }
  return chunks;
}

function pick(item: Item, names: readonly string[]): Key {
  const key: Record<string, string | number> = {};
  for (const name of names) {
    const value = item[name];
    if (typeof value === 'string' || typeof value === 'number') key[name] = value;
  }
  return key;
}

function tablesOf(ops: readonly TransactOp[]): string {
  const tables = new Set(ops.map((op) => ('put' in op ? op.put.table : op.update.table)));
  return [...tables].join(', ');
}

function stableKey(key: Key): string {
  return JSON.stringify(Object.entries(key).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function toKvError(error: unknown, operation: string, table: string): KvError {
  if (error instanceof KvError) return error;
  const name = error instanceof Error ? error.name : 'Error';
  const message = `${operation} on ${table} failed: ${error instanceof Error ? error.message : String(error)}`;
  const details = { operation, table, cause: error };
  if (name === 'ValidationException') return new KvValidationError(message, details);
  if (name === 'UnknownOperationException') {
    return new KvUnsupportedOperationError(
      `${message} (the backend lacks this API; for dynalite create the adapter with ` +
        "{ transactions: 'emulated' })",
      details,
    );
  }
  return new KvRequestError(message, details);
}
