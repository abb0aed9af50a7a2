import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
  type TableDescription,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { KvRequestError, KvValidationError } from '../../ports/kv.js';

/** Physical names of the tables the system uses. */
export interface TableNames {
  /** Idempotency records: pk `pk` (`<scope>#<key>`), TTL on `expires_at`. */
  readonly idempotency: string;
  /** Catalog item snapshots: pk `pk`, sk `sk`. */
  readonly snapshots: string;
  /** Small named values such as release pointers: pk `pk`. */
  readonly kv: string;
}

export const DEFAULT_TABLE_NAMES: TableNames = Object.freeze({
  idempotency: 'selfheal-idempotency',
  snapshots: 'selfheal-snapshots',
  kv: 'selfheal-kv',
});

/**
 * The default table names, each prefixed with `<prefix>-` when a prefix is given, so parallel test
 * files and stacks sharing one account never collide.
 *
 * @example
 * ```ts
 * tableNames('ci-42').kv; // 'ci-42-selfheal-kv'
 * ```
 */
export function tableNames(prefix?: string): TableNames {
  if (!prefix) return DEFAULT_TABLE_NAMES;
  return {
    idempotency: `${prefix}-${DEFAULT_TABLE_NAMES.idempotency}`,
    snapshots: `${prefix}-${DEFAULT_TABLE_NAMES.snapshots}`,
    kv: `${prefix}-${DEFAULT_TABLE_NAMES.kv}`,
  };
}

/** Shape of one table, as plain data (all key attributes are strings). */
export interface TableDefinition {
  readonly name: string;
  readonly partitionKey: string;
  readonly sortKey?: string;
  /** Epoch-seconds attribute DynamoDB uses to expire items. */
  readonly ttlAttribute?: string;
}

/** The definitions {@link ensureTables} creates, in a fixed order. */
export function tableDefinitions(names: TableNames = DEFAULT_TABLE_NAMES): TableDefinition[] {
  return [
    { name: names.idempotency, partitionKey: 'pk', ttlAttribute: 'expires_at' },
    { name: names.snapshots, partitionKey: 'pk', sortKey: 'sk' },
    { name: names.kv, partitionKey: 'pk' },
  ];
}

export interface EnsureTablesOptions {
  /** Longest wait for one table to become ACTIVE (default 120 s; AWS can take a minute). */
  readonly timeoutMs?: number;
}

/**
 * Creates every missing table (on-demand billing), waits until each is ACTIVE and enables TTL
 * where defined. Safe to call on every start and from concurrent processes: existing tables are
 * checked, not recreated, and a key schema that differs from the definition is an error rather
 * than a silent mismatch.
 *
 * Backends without UpdateTimeToLive (dynalite) keep their tables without TTL.
 */
export async function ensureTables(
  client: DynamoDBClient,
  names: TableNames = DEFAULT_TABLE_NAMES,
  options: EnsureTablesOptions = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  // Settle every table before reporting: a caller that cleans up after a failure must not find
  // a sibling table still CREATING, which cannot be deleted yet.
  const results = await Promise.allSettled(
    tableDefinitions(names).map(async (definition) => {
      const existing = await describe(client, definition.name);
      if (existing) assertKeySchema(existing, definition);
      else await create(client, definition);
      const active = await waitUntilActive(client, definition.name, timeoutMs);
      assertKeySchema(active, definition);
      if (definition.ttlAttribute)
        await enableTtl(client, definition.name, definition.ttlAttribute);
    }),
  );
  for (const result of results) if (result.status === 'rejected') throw result.reason;
}

/** Deletes the tables (missing ones are skipped) without waiting; for tests and teardown. */
export async function deleteTables(client: DynamoDBClient, names: TableNames): Promise<void> {
  await Promise.all(
    tableDefinitions(names).map(async ({ name }) => {
      try {
        await client.send(new DeleteTableCommand({ TableName: name }));
      } catch (error) {
        if (error instanceof ResourceNotFoundException) return;
        throw new KvRequestError(`could not delete table ${name}`, {
          operation: 'deleteTables',
          table: name,
          cause: error,
        });
      }
    }),
  );
}

async function describe(
  client: DynamoDBClient,
  name: string,
): Promise<TableDescription | undefined> {
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
    return Table;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw new KvRequestError(`could not describe table ${name}`, {
      operation: 'ensureTables',
      table: name,
      cause: error,
    });
  }
}

async function create(client: DynamoDBClient, definition: TableDefinition): Promise<void> {
  const keys = [
    { AttributeName: definition.partitionKey, KeyType: 'HASH' as const },
    ...(definition.sortKey
      ? [{ AttributeName: definition.sortKey, KeyType: 'RANGE' as const }]
      : []),
  ];
  try {
    await client.send(
      new CreateTableCommand({
        TableName: definition.name,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: keys,
        AttributeDefinitions: keys.map(({ AttributeName }) => ({
          AttributeName,
          AttributeType: 'S' as const,
        })),
      }),
    );
  } catch (error) {
    // Another process created it between our describe and create: that is the goal anyway.
    if (error instanceof ResourceInUseException) return;
    throw new KvRequestError(`could not create table ${definition.name}`, {
      operation: 'ensureTables',
      table: definition.name,
      cause: error,
    });
  }
}

async function waitUntilActive(
  client: DynamoDBClient,
  name: string,
  timeoutMs: number,
): Promise<TableDescription> {
  const deadline = performance.now() + timeoutMs;
  let delayMs = 25;
  let status: string | undefined;
  for (;;) {
    const table = await describe(client, name);
    status = table?.TableStatus;
    if (table && status === 'ACTIVE') return table;
    if (performance.now() + delayMs > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    delayMs = Math.min(delayMs * 2, 2_000);
  }
  throw new KvRequestError(
    `table ${name} did not become ACTIVE within ${timeoutMs} ms (last status: ${status ?? 'missing'})`,
    { operation: 'ensureTables', table: name },
  );
}

function assertKeySchema(table: TableDescription, definition: TableDefinition): void {
  const keyOf = (type: 'HASH' | 'RANGE') =>
    table.KeySchema?.find((element) => element.KeyType === type)?.AttributeName;
  const actual = { partitionKey: keyOf('HASH'), sortKey: keyOf('RANGE') };
  if (actual.partitionKey === definition.partitionKey && actual.sortKey === definition.sortKey) {
    return;
  }
  throw new KvValidationError(
    `table ${definition.name} has key schema ${JSON.stringify(actual)}, expected ${JSON.stringify({
      partitionKey: definition.partitionKey,
      sortKey: definition.sortKey,
    })}`,
    { operation: 'ensureTables', table: definition.name },
  );
}

async function enableTtl(client: DynamoDBClient, name: string, attribute: string): Promise<void> {
  try {
    const { TimeToLiveDescription: ttl } = await client.send(
      new DescribeTimeToLiveCommand({ TableName: name }),
    );
    const status = ttl?.TimeToLiveStatus;
    if ((status === 'ENABLED' || status === 'ENABLING') && ttl?.AttributeName === attribute) return;
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: name,
        TimeToLiveSpecification: { AttributeName: attribute, Enabled: true },
      }),
    );
  } catch (error) {
    if (isUnknownOperation(error)) return;
    throw new KvRequestError(`could not enable TTL on ${name}.${attribute}`, {
      operation: 'ensureTables',
      table: name,
      cause: error,
    });
  }
}

/** The backend answered that it does not implement the operation (dynalite for some APIs). */
function isUnknownOperation(error: unknown): boolean {
  return error instanceof Error && error.name === 'UnknownOperationException';
}
