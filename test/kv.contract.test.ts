import {
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  ListTablesCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDynamoClients } from '../functions/adapters/kv/dynamodb-client.js';
import { createDynamoKv } from '../functions/adapters/kv/dynamodb-kv.js';
import {
  type EmbeddedDynalite,
  startDynalite,
} from '../functions/adapters/kv/embedded-dynalite.js';
import {
  deleteTables,
  ensureTables,
  type TableNames,
  tableNames,
} from '../functions/adapters/kv/tables.js';
import {
  type KeyValue,
  KvRequestError,
  KvValidationError,
  type TransactOp,
} from '../functions/ports/kv.js';
import { uniqueName } from './support/services.js';

interface Backend {
  client: DynamoDBClient;
  kv: KeyValue;
  names: TableNames;
}

/**
 * The KeyValue contract, run once per backend. `setup` starts nothing shared: each backend gets
 * its own tables under a unique prefix.
 */
function kvContract(backend: () => Backend): void {
  let counter = 0;
  /** A partition key no other test in the file uses. */
  const fresh = (label: string) => `${label}-${++counter}`;

  describe('single items', () => {
    it('reads back an item it wrote', async () => {
      const { kv, names } = backend();
      const item = { pk: fresh('item'), title: 'Trail shoe', price: 89.5, tags: ['a'], gone: null };

      const result = await kv.put(names.kv, item);

      expect(result).toEqual({ ok: true });
      expect(await kv.get(names.kv, { pk: item.pk })).toEqual(item);
    });

    it('returns undefined for an item that does not exist', async () => {
      const { kv, names } = backend();

      expect(await kv.get(names.kv, { pk: fresh('missing') })).toBeUndefined();
    });

    it('replaces the whole item on a put and drops undefined attributes', async () => {
      const { kv, names } = backend();
      const pk = fresh('replace');
      await kv.put(names.kv, { pk, a: 1, b: 2 });

      await kv.put(names.kv, { pk, a: 3, c: undefined });

      expect(await kv.get(names.kv, { pk })).toEqual({ pk, a: 3 });
    });

    it('deletes an item, and deleting a missing item is not an error', async () => {
      const { kv, names } = backend();
      const pk = fresh('delete');
      await kv.put(names.kv, { pk, a: 1 });

      await kv.delete(names.kv, { pk });
      await kv.delete(names.kv, { pk });

      expect(await kv.get(names.kv, { pk })).toBeUndefined();
    });

    it('addresses items by partition and sort key', async () => {
      const { kv, names } = backend();
      const pk = fresh('sku');
      await kv.put(names.snapshots, { pk, sk: 'v1', price: 10 });
      await kv.put(names.snapshots, { pk, sk: 'v2', price: 12 });

      const [first, second] = await Promise.all([
        kv.get(names.snapshots, { pk, sk: 'v1' }),
        kv.get(names.snapshots, { pk, sk: 'v2' }),
      ]);

      expect(first).toEqual({ pk, sk: 'v1', price: 10 });
      expect(second).toEqual({ pk, sk: 'v2', price: 12 });
    });

    it('throws a KvRequestError naming the table when the table does not exist', async () => {
      const { kv } = backend();
      const table = uniqueName('no-such-table');

      const read = kv.get(table, { pk: 'x' });

      await expect(read).rejects.toBeInstanceOf(KvRequestError);
      await expect(read).rejects.toMatchObject({ operation: 'get', table });
    });
  });

  describe('conditional puts', () => {
    it('writes a new item with ifNotExists', async () => {
      const { kv, names } = backend();
      const pk = fresh('new');

      const result = await kv.put(names.kv, { pk, v: 1 }, { ifNotExists: 'pk' });

      expect(result).toEqual({ ok: true });
      expect(await kv.get(names.kv, { pk })).toEqual({ pk, v: 1 });
    });

    it('refuses ifNotExists on an existing item and leaves it untouched', async () => {
      const { kv, names } = backend();
      const pk = fresh('exists');
      await kv.put(names.kv, { pk, v: 1 });

      const result = await kv.put(names.kv, { pk, v: 2 }, { ifNotExists: 'pk' });

      expect(result).toEqual({ ok: false, reason: 'conditional-check-failed' });
      expect(await kv.get(names.kv, { pk })).toEqual({ pk, v: 1 });
    });

    it('swaps only when the stored version equals the expected one', async () => {
      const { kv, names } = backend();
      const pk = fresh('cas');
      await kv.put(names.kv, { pk, version: 1, value: 'a' });

      const stale = await kv.put(
        names.kv,
        { pk, version: 2, value: 'stale' },
        { ifVersion: { attr: 'version', equals: 0 } },
      );
      const current = await kv.put(
        names.kv,
        { pk, version: 2, value: 'b' },
        { ifVersion: { attr: 'version', equals: 1 } },
      );

      expect(stale).toEqual({ ok: false, reason: 'conditional-check-failed' });
      expect(current).toEqual({ ok: true });
      expect(await kv.get(names.kv, { pk })).toEqual({ pk, version: 2, value: 'b' });
    });

    it('rejects an older write with lessThan and accepts a newer one', async () => {
      const { kv, names } = backend();
      const pk = fresh('snapshot');
      const write = (version: number) =>
        kv.put(names.kv, { pk, version }, { ifVersion: { attr: 'version', lessThan: version } });

      const first = await write(5);
      const older = await write(3);
      const same = await write(5);
      const newer = await write(7);

      expect([first, older, same, newer].map((result) => result.ok)).toEqual([
        true,
        false,
        false,
        true,
      ]);
      expect(await kv.get(names.kv, { pk })).toEqual({ pk, version: 7 });
    });
  });

  describe('replace', () => {
    it('answers the whole item it replaced, and undefined when there was none', async () => {
      const { kv, names } = backend();
      const pk = fresh('replace-old');

      const first = await kv.replace(names.kv, { pk, v: 1, nested: { a: [1, 'x'] } });
      const second = await kv.replace(names.kv, { pk, v: 2 });

      expect(first).toEqual({ ok: true, previous: undefined });
      expect(second).toEqual({ ok: true, previous: { pk, v: 1, nested: { a: [1, 'x'] } } });
      expect(await kv.get(names.kv, { pk })).toEqual({ pk, v: 2 });
    });

    it('refuses like put when its condition fails, and leaves the stored item', async () => {
      const { kv, names } = backend();
      const pk = fresh('replace-version');
      const write = (version: number) =>
        kv.replace(
          names.kv,
          { pk, version },
          { ifVersion: { attr: 'version', lessThan: version } },
        );

      const first = await write(5);
      const older = await write(3);
      const newer = await write(7);

      expect(first).toEqual({ ok: true, previous: undefined });
      expect(older).toEqual({ ok: false, reason: 'conditional-check-failed' });
      expect(newer).toEqual({ ok: true, previous: { pk, version: 5 } });
      expect(await kv.get(names.kv, { pk })).toEqual({ pk, version: 7 });
    });
  });

  describe('batches', () => {
    it('reads many items in key order, undefined for missing ones, a repeated key twice', async () => {
      const { kv, names } = backend();
      const [a, b, missing] = [fresh('many'), fresh('many'), fresh('many-missing')];
      await kv.put(names.kv, { pk: a, n: 1 });
      await kv.put(names.kv, { pk: b, n: 2 });

      const items = await kv.getMany(names.kv, [{ pk: b }, { pk: missing }, { pk: a }, { pk: b }]);

      expect(items).toEqual([{ pk: b, n: 2 }, undefined, { pk: a, n: 1 }, { pk: b, n: 2 }]);
    });

    it('reads more keys than one request takes, by partition and sort key', async () => {
      const { kv, names } = backend();
      const pk = fresh('many-sk');
      const items = Array.from({ length: 230 }, (_, index) => ({ pk, sk: `s${index}`, index }));
      await kv.putMany(names.snapshots, items);

      const read = await kv.getMany(names.snapshots, items.map(({ sk }) => ({ pk, sk })).reverse());

      expect(read).toEqual([...items].reverse());
    });

    it('writes many items beyond one request, the last item per key winning', async () => {
      const { kv, names } = backend();
      const pks = Array.from({ length: 60 }, () => fresh('put-many'));
      const [first] = pks;
      if (!first) throw new Error('no keys');

      await kv.putMany(names.kv, [
        { pk: first, v: 'overwritten' },
        ...pks.map((pk, index) => ({ pk, v: index, gone: undefined })),
      ]);

      const read = await kv.getMany(
        names.kv,
        pks.map((pk) => ({ pk })),
      );
      expect(read).toEqual(pks.map((pk, index) => ({ pk, v: index })));
    });

    it('replaces whole stored items on putMany, as put does', async () => {
      const { kv, names } = backend();
      const pk = fresh('put-many-replace');
      await kv.put(names.kv, { pk, a: 1, b: 2 });

      await kv.putMany(names.kv, [{ pk, a: 3 }]);

      expect(await kv.get(names.kv, { pk })).toEqual({ pk, a: 3 });
    });

    it('deletes many items, missing and repeated ones included', async () => {
      const { kv, names } = backend();
      const pks = Array.from({ length: 30 }, () => fresh('delete-many'));
      await kv.putMany(
        names.kv,
        pks.map((pk) => ({ pk })),
      );
      const [kept, ...deleted] = pks;

      await kv.deleteMany(names.kv, [
        ...deleted.map((pk) => ({ pk })),
        { pk: fresh('delete-missing') },
        ...deleted.slice(0, 3).map((pk) => ({ pk })),
      ]);

      const read = await kv.getMany(
        names.kv,
        pks.map((pk) => ({ pk })),
      );
      expect(read.filter((item) => item !== undefined)).toEqual([{ pk: kept }]);
    });

    it('does nothing for empty batches', async () => {
      const { kv, names } = backend();

      await expect(kv.getMany(names.kv, [])).resolves.toEqual([]);
      await expect(kv.putMany(names.kv, [])).resolves.toBeUndefined();
      await expect(kv.deleteMany(names.kv, [])).resolves.toBeUndefined();
    });

    it('refuses a putMany item without its key attributes before writing any', async () => {
      const { kv, names } = backend();
      const pk = fresh('put-many-keyless');

      const result = kv.putMany(names.kv, [{ pk, a: 1 }, { a: 2 }]);

      await expect(result).rejects.toBeInstanceOf(KvValidationError);
      await expect(result).rejects.toMatchObject({ operation: 'putMany', table: names.kv });
      expect(await kv.get(names.kv, { pk })).toBeUndefined();
    });

    it('throws a KvRequestError naming the table and operation for a missing table', async () => {
      const { kv } = backend();
      const table = uniqueName('no-such-table');

      // Settled together: a rejection must not wait unobserved while the other is asserted on.
      const [read, write] = await Promise.allSettled([
        kv.getMany(table, [{ pk: 'x' }]),
        kv.deleteMany(table, [{ pk: 'x' }]),
      ]);

      expect(read.status).toBe('rejected');
      expect(write.status).toBe('rejected');
      const reasonOf = (result: PromiseSettledResult<unknown>) =>
        result.status === 'rejected' ? result.reason : undefined;
      expect(reasonOf(read)).toBeInstanceOf(KvRequestError);
      expect(reasonOf(read)).toMatchObject({ operation: 'getMany', table });
      expect(reasonOf(write)).toBeInstanceOf(KvRequestError);
      expect(reasonOf(write)).toMatchObject({ operation: 'deleteMany', table });
    });
  });

  describe('transactions', () => {
    it('applies every operation of a transaction', async () => {
      const { kv, names } = backend();
      const pk = fresh('tx');
      const ops: TransactOp[] = [
        { put: { table: names.kv, item: { pk, state: 'done' }, ifNotExists: 'pk' } },
        {
          update: {
            table: names.snapshots,
            key: { pk, sk: 'counter' },
            add: { count: 2 },
            set: { label: 'seen' },
          },
        },
      ];

      const result = await kv.transactWrite(ops);

      expect(result).toEqual({ ok: true });
      expect(await kv.get(names.kv, { pk })).toEqual({ pk, state: 'done' });
      expect(await kv.get(names.snapshots, { pk, sk: 'counter' })).toEqual({
        pk,
        sk: 'counter',
        count: 2,
        label: 'seen',
      });
    });

    it('adds to a counter that already exists', async () => {
      const { kv, names } = backend();
      const key = { pk: fresh('counter') };
      const increment: TransactOp = { update: { table: names.kv, key, add: { count: 1 } } };

      await kv.transactWrite([increment]);
      await kv.transactWrite([increment]);

      expect(await kv.get(names.kv, key)).toEqual({ ...key, count: 2 });
    });

    it('applies nothing when one condition fails, and says which one', async () => {
      const { kv, names } = backend();
      const taken = fresh('taken');
      const counterKey = { pk: fresh('untouched') };
      await kv.put(names.kv, { pk: taken, owner: 'first' });

      const result = await kv.transactWrite([
        { update: { table: names.kv, key: counterKey, add: { count: 1 } } },
        { put: { table: names.kv, item: { pk: taken, owner: 'second' }, ifNotExists: 'pk' } },
      ]);

      expect(result).toEqual({ ok: false, reason: 'conditional-check-failed', index: 1 });
      expect(await kv.get(names.kv, counterKey)).toBeUndefined();
      expect(await kv.get(names.kv, { pk: taken })).toEqual({ pk: taken, owner: 'first' });
    });

    it('undoes earlier operations when a later one fails for another reason', async () => {
      const { kv, names } = backend();
      const pk = fresh('undone');
      const labelled = { pk: fresh('labelled') };
      await kv.put(names.kv, { ...labelled, count: 'not a number' });

      const result = kv.transactWrite([
        { put: { table: names.kv, item: { pk, a: 1 } } },
        { update: { table: names.kv, key: labelled, add: { count: 1 } } },
      ]);

      await expect(result).rejects.toBeInstanceOf(KvValidationError);
      expect(await kv.get(names.kv, { pk })).toBeUndefined();
      expect(await kv.get(names.kv, labelled)).toEqual({ ...labelled, count: 'not a number' });
    });

    it('refuses two operations on one item as invalid', async () => {
      const { kv, names } = backend();
      const pk = fresh('twice');

      const result = kv.transactWrite([
        { put: { table: names.kv, item: { pk, a: 1 } } },
        { update: { table: names.kv, key: { pk }, add: { count: 1 } } },
      ]);

      await expect(result).rejects.toBeInstanceOf(KvValidationError);
      expect(await kv.get(names.kv, { pk })).toBeUndefined();
    });

    it('refuses an update with neither add nor set before writing anything', async () => {
      const { kv, names } = backend();
      const pk = fresh('empty-update');

      const result = kv.transactWrite([
        { put: { table: names.kv, item: { pk } } },
        { update: { table: names.kv, key: { pk: fresh('other') } } },
      ]);

      await expect(result).rejects.toThrow(/neither add nor set/);
      expect(await kv.get(names.kv, { pk })).toBeUndefined();
    });
  });

  describe('tables', () => {
    it('creates the tables once and accepts being asked again', async () => {
      const { client, names } = backend();

      await ensureTables(client, names);
      const { TableNames: listed = [] } = await client.send(new ListTablesCommand({}));

      expect(listed).toEqual(
        expect.arrayContaining([names.idempotency, names.snapshots, names.kv]),
      );
    });
  });
}

async function openBackend(
  endpoint: string,
  transactions: 'native' | 'emulated',
): Promise<Backend> {
  const { client, doc } = createDynamoClients({ endpoint });
  const names = tableNames(uniqueName('kv'));
  await ensureTables(client, names);
  return { client, kv: createDynamoKv(doc, { transactions }), names };
}

async function closeBackend(backend: Backend | undefined): Promise<void> {
  if (!backend) return;
  await deleteTables(backend.client, backend.names);
  backend.client.destroy();
}

const dynamodbLocalEndpoint = inject('dynamodbLocalEndpoint');
if (!dynamodbLocalEndpoint) {
  console.warn('[skip] Key-value: dynamodb-local skipped: no DynamoDB Local (Java missing)');
}

describe.skipIf(!dynamodbLocalEndpoint)('Key-value: dynamodb-local', () => {
  let backend: Backend | undefined;

  beforeAll(async () => {
    backend = await openBackend(dynamodbLocalEndpoint, 'native');
  });
  afterAll(() => closeBackend(backend));

  kvContract(() => {
    if (!backend) throw new Error('backend not started');
    return backend;
  });

  it('enables TTL on the idempotency table', async () => {
    if (!backend) throw new Error('backend not started');

    const { TimeToLiveDescription: ttl } = await backend.client.send(
      new DescribeTimeToLiveCommand({ TableName: backend.names.idempotency }),
    );

    expect(ttl).toMatchObject({ TimeToLiveStatus: 'ENABLED', AttributeName: 'expires_at' });
  });
});

describe('Key-value: dynalite (emulated transactions)', () => {
  let dynalite: EmbeddedDynalite | undefined;
  let backend: Backend | undefined;

  beforeAll(async () => {
    dynalite = await startDynalite();
    backend = await openBackend(dynalite.endpoint, 'emulated');
  });
  afterAll(async () => {
    await closeBackend(backend);
    await dynalite?.stop();
  });

  kvContract(() => {
    if (!backend) throw new Error('backend not started');
    return backend;
  });
});
