import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoClients } from '../functions/adapters/kv/dynamodb-client.js';
import { createDynamoKv } from '../functions/adapters/kv/dynamodb-kv.js';
import { KvTransactionConflictError } from '../functions/ports/kv.js';

/** One scripted answer: a DynamoDB JSON error (`__type` and fields) or a success body. */
type Answer = { status: 200; body: object } | { status: 400; type: string; fields?: object };

const conflictCancellation: Answer = {
  status: 400,
  type: 'TransactionCanceledException',
  fields: {
    message: 'Transaction cancelled, please refer cancellation reasons for specific reasons',
    CancellationReasons: [{ Code: 'TransactionConflict', Message: 'Transaction is ongoing' }],
  },
};
const success: Answer = { status: 200, body: {} };

/**
 * DynamoDB itself is the dependency we cannot run, and DynamoDB Local serialises transactions so
 * it never reports conflicts: this server speaks DynamoDB's JSON protocol and answers from a
 * script, recording the operation of every request.
 */
function scriptedDynamo() {
  const script: Answer[] = [];
  const operations: string[] = [];
  const server = http.createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      operations.push(String(request.headers['x-amz-target']).split('.').at(-1) ?? '');
      const answer = script.shift() ?? success;
      const body =
        answer.status === 200
          ? answer.body
          : { __type: `com.amazonaws.dynamodb.v20120810#${answer.type}`, ...answer.fields };
      response.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.0' });
      response.end(JSON.stringify(body));
    });
  });
  return { server, script, operations };
}

describe('Key-value: transaction conflicts', () => {
  const dynamo = scriptedDynamo();
  let endpoint = '';

  beforeAll(async () => {
    await new Promise<void>((resolve) => dynamo.server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(dynamo.server.address() as AddressInfo).port}`;
  });
  afterEach(() => {
    dynamo.script.length = 0;
    dynamo.operations.length = 0;
  });
  afterAll(async () => {
    dynamo.server.closeAllConnections();
    await new Promise((resolve) => dynamo.server.close(resolve));
  });

  it('retries a transaction cancelled only by a conflict until it goes through', async () => {
    const { client, doc } = createDynamoClients({ endpoint });
    const kv = createDynamoKv(doc);
    dynamo.script.push(conflictCancellation, conflictCancellation, success);

    const result = await kv.transactWrite([{ put: { table: 't', item: { pk: 'a' } } }]);

    expect(result).toEqual({ ok: true });
    expect(dynamo.operations).toEqual([
      'TransactWriteItems',
      'TransactWriteItems',
      'TransactWriteItems',
    ]);
    client.destroy();
  });

  it('gives up with a KvTransactionConflictError after the configured attempts', async () => {
    const { client, doc } = createDynamoClients({ endpoint });
    const kv = createDynamoKv(doc, { maxConflictAttempts: 3 });
    dynamo.script.push(conflictCancellation, conflictCancellation, conflictCancellation);

    const result = kv.transactWrite([{ put: { table: 't', item: { pk: 'a' } } }]);

    await expect(result).rejects.toBeInstanceOf(KvTransactionConflictError);
    await expect(result).rejects.toMatchObject({ attempts: 3, operation: 'transactWrite' });
    expect(dynamo.operations).toHaveLength(3);
    client.destroy();
  });

  it('reports a failed condition at once, even when another item conflicted', async () => {
    const { client, doc } = createDynamoClients({ endpoint });
    const kv = createDynamoKv(doc);
    dynamo.script.push({
      status: 400,
      type: 'TransactionCanceledException',
      fields: {
        message: 'Transaction cancelled',
        CancellationReasons: [
          { Code: 'TransactionConflict' },
          { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' },
        ],
      },
    });

    const result = await kv.transactWrite([
      { put: { table: 't', item: { pk: 'a' } } },
      { put: { table: 't', item: { pk: 'b' }, ifNotExists: 'pk' } },
    ]);

    expect(result).toEqual({ ok: false, reason: 'conditional-check-failed', index: 1 });
    expect(dynamo.operations).toEqual(['TransactWriteItems']);
    client.destroy();
  });

  it('retries a single put that collided with a transaction in flight', async () => {
    const { client, doc } = createDynamoClients({ endpoint });
    const kv = createDynamoKv(doc);
    dynamo.script.push({
      status: 400,
      type: 'TransactionConflictException',
      fields: { message: 'Transaction is ongoing for the item' },
    });

    const result = await kv.put('t', { pk: 'a' }, { ifNotExists: 'pk' });

    expect(result).toEqual({ ok: true });
    expect(dynamo.operations).toEqual(['PutItem', 'PutItem']);
    client.destroy();
  });
});
