import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateTableCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoClients } from '../functions/adapters/kv/dynamodb-client.js';
import { createDynamoKv } from '../functions/adapters/kv/dynamodb-kv.js';
import {
  type EmbeddedDynalite,
  startDynalite,
} from '../functions/adapters/kv/embedded-dynalite.js';
import { deleteTables, ensureTables, tableNames } from '../functions/adapters/kv/tables.js';
import { KvUnsupportedOperationError, KvValidationError } from '../functions/ports/kv.js';
import { uniqueName } from './support/services.js';

describe('Key-value: embedded dynalite', () => {
  let dynalite: EmbeddedDynalite | undefined;
  const names = tableNames(uniqueName('dynalite'));
  const endpoint = () => {
    if (!dynalite) throw new Error('dynalite not started');
    return dynalite.endpoint;
  };

  beforeAll(async () => {
    dynalite = await startDynalite();
    const { client } = createDynamoClients({ endpoint: dynalite.endpoint });
    await ensureTables(client, names);
    client.destroy();
  });
  afterAll(async () => {
    if (dynalite) {
      const { client } = createDynamoClients({ endpoint: dynalite.endpoint });
      await deleteTables(client, names);
      client.destroy();
    }
    await dynalite?.stop();
  });

  it('listens on a free loopback port when asked for port 0', async () => {
    const other = await startDynalite({ port: 0 });

    try {
      expect(other.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(other.endpoint).not.toBe(endpoint());
    } finally {
      await other.stop();
    }
  });

  it('keeps its data in memory by default, so a restart starts empty', async () => {
    const first = await startDynalite();
    const firstTables = tableNames(uniqueName('volatile'));
    const { client } = createDynamoClients({ endpoint: first.endpoint });
    await ensureTables(client, firstTables);
    client.destroy();
    await first.stop();

    const second = await startDynalite();
    const again = createDynamoClients({ endpoint: second.endpoint });
    try {
      const item = await createDynamoKv(again.doc).get(firstTables.kv, { pk: 'x' });
      expect.unreachable(`expected a missing table, read ${JSON.stringify(item)}`);
    } catch (error) {
      expect(error).toMatchObject({ name: 'KvRequestError', table: firstTables.kv });
    } finally {
      again.client.destroy();
      await second.stop();
    }
  });

  it('keeps tables and items across a restart when given a path', async () => {
    const directory = mkdtempSync(path.join(os.tmpdir(), 'dynalite-'));
    const persisted = tableNames(uniqueName('persisted'));
    try {
      const first = await startDynalite({ path: directory });
      const one = createDynamoClients({ endpoint: first.endpoint });
      await ensureTables(one.client, persisted);
      await createDynamoKv(one.doc).put(persisted.kv, { pk: 'release', id: 'R2' });
      one.client.destroy();
      await first.stop();

      const second = await startDynalite({ path: directory });
      const two = createDynamoClients({ endpoint: second.endpoint });
      const item = await createDynamoKv(two.doc).get(persisted.kv, { pk: 'release' });
      two.client.destroy();
      await second.stop();

      expect(item).toEqual({ pk: 'release', id: 'R2' });
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('stops while a client still holds a keep-alive connection', async () => {
    const server = await startDynalite();
    const { client, doc } = createDynamoClients({ endpoint: server.endpoint });
    const kv = createDynamoKv(doc);
    await expect(kv.get('missing-table', { pk: 'x' })).rejects.toThrow();

    await server.stop();
    await server.stop();

    await expect(kv.get('missing-table', { pk: 'x' })).rejects.toThrow();
    client.destroy();
  });

  it('reports native transactions as unsupported and names the emulated mode', async () => {
    const { client, doc } = createDynamoClients({ endpoint: endpoint() });
    const kv = createDynamoKv(doc, { transactions: 'native' });

    const result = kv.transactWrite([{ put: { table: names.kv, item: { pk: 'tx' } } }]);

    await expect(result).rejects.toBeInstanceOf(KvUnsupportedOperationError);
    await expect(result).rejects.toThrow(/transactions: 'emulated'/);
    expect(await kv.get(names.kv, { pk: 'tx' })).toBeUndefined();
    client.destroy();
  });

  it('creates the idempotency table without TTL, which dynalite cannot enable', async () => {
    const { client } = createDynamoClients({ endpoint: endpoint() });

    const { TimeToLiveDescription: ttl } = await client.send(
      new DescribeTimeToLiveCommand({ TableName: names.idempotency }),
    );

    expect(ttl?.TimeToLiveStatus).toBe('DISABLED');
    client.destroy();
  });

  it('refuses an existing table whose key schema differs from the definition', async () => {
    const { client } = createDynamoClients({ endpoint: endpoint() });
    const clashing = tableNames(uniqueName('clash'));
    await client.send(
      new CreateTableCommand({
        TableName: clashing.snapshots,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      }),
    );

    const ensured = ensureTables(client, clashing);

    await expect(ensured).rejects.toBeInstanceOf(KvValidationError);
    await expect(ensured).rejects.toThrow(/expected \{"partitionKey":"pk","sortKey":"sk"\}/);
    await deleteTables(client, clashing);
    client.destroy();
  });
});
