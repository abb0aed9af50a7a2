import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoClients } from '../functions/adapters/kv/dynamodb-client.js';
import { createDynamoKv } from '../functions/adapters/kv/dynamodb-kv.js';
import { KvBatchIncompleteError } from '../functions/ports/kv.js';

type AttributeMap = Record<string, { S?: string; N?: string }>;

interface BatchRequest {
  readonly operation: string;
  readonly body: {
    RequestItems?: Record<
      string,
      | { Keys: AttributeMap[] }
      | Array<{ PutRequest?: { Item: AttributeMap }; DeleteRequest?: { Key: AttributeMap } }>
    >;
  };
}

/** An answer to one request: a DynamoDB JSON success body. */
type Responder = (request: BatchRequest) => object;

/**
 * Throttling and partial batch answers cannot be provoked on DynamoDB Local or dynalite: this
 * server speaks DynamoDB's JSON protocol, answers each request through `respond` and records it.
 */
function scriptedDynamo() {
  const requests: BatchRequest[] = [];
  let respond: Responder = () => ({});
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const received: BatchRequest = {
        operation: String(request.headers['x-amz-target']).split('.').at(-1) ?? '',
        body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'),
      };
      requests.push(received);
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      response.end(JSON.stringify(respond(received)));
    });
  });
  return {
    server,
    requests,
    answer(responder: Responder) {
      respond = responder;
    },
  };
}

const keysOf = (request: BatchRequest | undefined): AttributeMap[] => {
  const table = Object.values(request?.body.RequestItems ?? {})[0];
  return table && 'Keys' in table ? table.Keys : [];
};
const writesOf = (request: BatchRequest | undefined) => {
  const table = Object.values(request?.body.RequestItems ?? {})[0];
  return Array.isArray(table) ? table : [];
};
const describeTable = {
  Table: {
    TableName: 't',
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    TableStatus: 'ACTIVE',
  },
};

describe('Key-value: batched reads and writes', () => {
  const dynamo = scriptedDynamo();
  let endpoint = '';

  beforeAll(async () => {
    await new Promise<void>((resolve) => dynamo.server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(dynamo.server.address() as AddressInfo).port}`;
  });
  afterEach(() => {
    dynamo.requests.length = 0;
    dynamo.answer(() => ({}));
  });
  afterAll(async () => {
    dynamo.server.closeAllConnections();
    await new Promise((resolve) => dynamo.server.close(resolve));
  });

  const open = (options: Parameters<typeof createDynamoKv>[1] = {}) => {
    const { client, doc } = createDynamoClients({ endpoint, region: 'us-east-1' });
    return { client, kv: createDynamoKv(doc, options) };
  };

  it('reads at most 100 keys per request, strongly consistent', async () => {
    const { client, kv } = open();
    dynamo.answer((request) => ({ Responses: { t: keysOf(request) } }));
    const keys = Array.from({ length: 250 }, (_, index) => ({ pk: `k${index}` }));

    const items = await kv.getMany('t', keys);

    expect(items).toEqual(keys);
    expect(dynamo.requests.map((request) => keysOf(request).length).sort()).toEqual([100, 100, 50]);
    expect(dynamo.requests[0]?.body.RequestItems?.t).toMatchObject({ ConsistentRead: true });
    client.destroy();
  });

  it('asks again for the keys a partial answer left unprocessed', async () => {
    const { client, kv } = open();
    dynamo.answer((request) => {
      const [first, ...rest] = keysOf(request);
      return {
        Responses: { t: first ? [{ ...first, n: { N: '1' } }] : [] },
        ...(rest.length > 0
          ? { UnprocessedKeys: { t: { Keys: rest, ConsistentRead: true } } }
          : {}),
      };
    });

    const items = await kv.getMany('t', [{ pk: 'a' }, { pk: 'b' }, { pk: 'c' }]);

    expect(items).toEqual([
      { pk: 'a', n: 1 },
      { pk: 'b', n: 1 },
      { pk: 'c', n: 1 },
    ]);
    expect(dynamo.requests.map((request) => keysOf(request).length)).toEqual([3, 2, 1]);
    client.destroy();
  });

  it('writes at most 25 items per request and sends the unprocessed ones again', async () => {
    const { client, kv } = open();
    let throttled = false;
    dynamo.answer((request) => {
      if (request.operation === 'DescribeTable') return describeTable;
      const writes = writesOf(request);
      // The first request of 25 comes back with its last 5 writes unprocessed, once.
      if (!throttled && writes.length === 25) {
        throttled = true;
        return { UnprocessedItems: { t: writes.slice(20) } };
      }
      return {};
    });
    const items = Array.from({ length: 60 }, (_, index) => ({ pk: `k${index}`, index }));

    await kv.putMany('t', items);

    const batches = dynamo.requests.filter((request) => request.operation === 'BatchWriteItem');
    expect(batches.map((request) => writesOf(request).length).sort((a, b) => a - b)).toEqual([
      5, 10, 25, 25,
    ]);
    const written = batches.flatMap((request) =>
      writesOf(request).map((write) => write.PutRequest?.Item.pk?.S),
    );
    expect(new Set(written).size).toBe(60);
    client.destroy();
  });

  it('sends deletes as delete requests, one per distinct key', async () => {
    const { client, kv } = open();

    await kv.deleteMany('t', [{ pk: 'a' }, { pk: 'b' }, { pk: 'a' }]);

    expect(dynamo.requests.map((request) => request.operation)).toEqual(['BatchWriteItem']);
    expect(writesOf(dynamo.requests[0])).toEqual([
      { DeleteRequest: { Key: { pk: { S: 'a' } } } },
      { DeleteRequest: { Key: { pk: { S: 'b' } } } },
    ]);
    client.destroy();
  });

  it('gives up with a KvBatchIncompleteError when items keep coming back unprocessed', async () => {
    const { client, kv } = open({ maxBatchAttempts: 3 });
    dynamo.answer((request) =>
      request.operation === 'DescribeTable'
        ? describeTable
        : { UnprocessedItems: { t: writesOf(request) } },
    );

    const result = kv.putMany('t', [{ pk: 'a' }, { pk: 'b' }]);

    await expect(result).rejects.toBeInstanceOf(KvBatchIncompleteError);
    await expect(result).rejects.toMatchObject({
      name: 'KvBatchIncompleteError',
      operation: 'putMany',
      table: 't',
      unprocessed: 2,
      attempts: 3,
    });
    expect(dynamo.requests.filter((r) => r.operation === 'BatchWriteItem')).toHaveLength(3);
    client.destroy();
  });
});
