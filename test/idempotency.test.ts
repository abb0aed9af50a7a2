import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
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
import type { KeyValue, TransactOp } from '../functions/ports/kv.js';
import {
  createIdempotency,
  IdempotencyEffectRejectedError,
  IdempotencyKeyError,
  idempotencyRecordKey,
} from '../functions/runtime/idempotency.js';
import { uniqueName } from './support/services.js';

interface Backend {
  client: DynamoDBClient;
  kv: KeyValue;
  names: TableNames;
}

const FIXED_NOW = Date.parse('2025-06-01T12:00:00.000Z');

function idempotencySpec(backend: () => Backend): void {
  let counter = 0;
  const fresh = (label: string) => `${label}-${++counter}`;
  /** An effect that counts how many times it ran: an ADD on a counter item. */
  const countOnce = (names: TableNames, counterKey: string): TransactOp => ({
    update: { table: names.kv, key: { pk: counterKey }, add: { count: 1 } },
  });
  const countOf = async (kv: KeyValue, names: TableNames, counterKey: string) =>
    (await kv.get(names.kv, { pk: counterKey }))?.count;

  it('applies an event once and reports its redelivery as a duplicate', async () => {
    const { kv, names } = backend();
    const idempotency = createIdempotency(kv, names.idempotency);
    const event = fresh('evt');
    const counterKey = fresh('counter');

    const first = await idempotency.applyOnce('ingest', event, [countOnce(names, counterKey)]);
    const second = await idempotency.applyOnce('ingest', event, [countOnce(names, counterKey)]);

    expect([first, second]).toEqual(['applied', 'duplicate']);
    expect(await countOf(kv, names, counterKey)).toBe(1);
    expect(await idempotency.wasApplied('ingest', event)).toBe(true);
  });

  it('applies 20 concurrent deliveries of one event exactly once', async () => {
    const { kv, names } = backend();
    const idempotency = createIdempotency(kv, names.idempotency);
    const event = fresh('evt');
    const counterKey = fresh('counter');

    const outcomes = await Promise.all(
      Array.from({ length: 20 }, () =>
        idempotency.applyOnce('rca', event, [countOnce(names, counterKey)]),
      ),
    );

    expect(outcomes.filter((outcome) => outcome === 'applied')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome === 'duplicate')).toHaveLength(19);
    expect(await countOf(kv, names, counterKey)).toBe(1);
  });

  it('stores the record with its scope, key and expiry', async () => {
    const { kv, names } = backend();
    const idempotency = createIdempotency(kv, names.idempotency, {
      ttlSeconds: 3600,
      now: () => FIXED_NOW,
    });
    const event = fresh('evt');

    await idempotency.applyOnce('patch', event, []);

    expect(await kv.get(names.idempotency, { pk: `patch#${event}` })).toEqual({
      pk: `patch#${event}`,
      scope: 'patch',
      key: event,
      applied_at: '2025-06-01T12:00:00.000Z',
      expires_at: FIXED_NOW / 1000 + 3600,
    });
  });

  it('keeps the same key in two scopes apart', async () => {
    const { kv, names } = backend();
    const idempotency = createIdempotency(kv, names.idempotency);
    const event = fresh('evt');
    const counterKey = fresh('counter');

    const outcomes = [
      await idempotency.applyOnce('verify', event, [countOnce(names, counterKey)]),
      await idempotency.applyOnce('heal', event, [countOnce(names, counterKey)]),
    ];

    expect(outcomes).toEqual(['applied', 'applied']);
    expect(await countOf(kv, names, counterKey)).toBe(2);
  });

  it('writes neither record nor effects when an effect condition fails', async () => {
    const { kv, names } = backend();
    const idempotency = createIdempotency(kv, names.idempotency);
    const event = fresh('evt');
    const counterKey = fresh('counter');
    const pointer = fresh('pointer');
    await kv.put(names.kv, { pk: pointer, release: 'R1' });
    const claimPointer: TransactOp = {
      put: { table: names.kv, item: { pk: pointer, release: 'R2' }, ifNotExists: 'pk' },
    };

    const attempt = idempotency.applyOnce('heal', event, [
      countOnce(names, counterKey),
      claimPointer,
    ]);

    await expect(attempt).rejects.toBeInstanceOf(IdempotencyEffectRejectedError);
    await expect(attempt).rejects.toMatchObject({ scope: 'heal', key: event, effectIndex: 1 });
    expect(await idempotency.wasApplied('heal', event)).toBe(false);
    expect(await countOf(kv, names, counterKey)).toBeUndefined();
    expect(await kv.get(names.kv, { pk: pointer })).toEqual({ pk: pointer, release: 'R1' });
  });

  it('applies an event after a failed attempt once the effect can succeed', async () => {
    const { kv, names } = backend();
    const idempotency = createIdempotency(kv, names.idempotency);
    const event = fresh('evt');
    const pointer = fresh('pointer');
    await kv.put(names.kv, { pk: pointer, release: 'R1' });
    const claim: TransactOp = {
      put: { table: names.kv, item: { pk: pointer, release: 'R2' }, ifNotExists: 'pk' },
    };
    await expect(idempotency.applyOnce('heal', event, [claim])).rejects.toThrow();
    await kv.delete(names.kv, { pk: pointer });

    const retried = await idempotency.applyOnce('heal', event, [claim]);

    expect(retried).toBe('applied');
    expect(await kv.get(names.kv, { pk: pointer })).toEqual({ pk: pointer, release: 'R2' });
  });

  it('marks an event applied once, for effects that live elsewhere', async () => {
    const { kv, names } = backend();
    const idempotency = createIdempotency(kv, names.idempotency);
    const event = fresh('evt');
    const before = await idempotency.wasApplied('guard', event);

    const outcomes = [
      await idempotency.markApplied('guard', event),
      await idempotency.markApplied('guard', event),
    ];

    expect(before).toBe(false);
    expect(outcomes).toEqual(['applied', 'duplicate']);
    expect(await idempotency.wasApplied('guard', event)).toBe(true);
  });

  it('treats an event marked applied as a duplicate in applyOnce, without its effects', async () => {
    const { kv, names } = backend();
    const idempotency = createIdempotency(kv, names.idempotency);
    const event = fresh('evt');
    const counterKey = fresh('counter');
    await idempotency.markApplied('guard', event);

    const outcome = await idempotency.applyOnce('guard', event, [countOnce(names, counterKey)]);

    expect(outcome).toBe('duplicate');
    expect(await countOf(kv, names, counterKey)).toBeUndefined();
  });
}

async function openBackend(
  endpoint: string,
  transactions: 'native' | 'emulated',
): Promise<Backend> {
  const { client, doc } = createDynamoClients({ endpoint });
  const names = tableNames(uniqueName('idem'));
  await ensureTables(client, names);
  return { client, kv: createDynamoKv(doc, { transactions }), names };
}

async function closeBackend(backend: Backend | undefined): Promise<void> {
  if (!backend) return;
  await deleteTables(backend.client, backend.names);
  backend.client.destroy();
}

describe('Idempotency: record keys', () => {
  it('joins scope and key with #', () => {
    expect(idempotencyRecordKey('ingest', 'msg#1')).toBe('ingest#msg#1');
  });

  it.each([
    ['a scope containing #', 'in#gest', 'msg'],
    ['an empty scope', '', 'msg'],
    ['an empty key', 'ingest', ''],
  ])('refuses %s', (_case, scope, key) => {
    expect(() => idempotencyRecordKey(scope, key)).toThrow(IdempotencyKeyError);
  });
});

const dynamodbLocalEndpoint = inject('dynamodbLocalEndpoint');
if (!dynamodbLocalEndpoint) {
  console.warn('[skip] Idempotency: dynamodb-local skipped: no DynamoDB Local (Java missing)');
}

describe.skipIf(!dynamodbLocalEndpoint)('Idempotency: dynamodb-local', () => {
  let backend: Backend | undefined;

  beforeAll(async () => {
    backend = await openBackend(dynamodbLocalEndpoint, 'native');
  });
  afterAll(() => closeBackend(backend));

  idempotencySpec(() => {
    if (!backend) throw new Error('backend not started');
    return backend;
  });
});

describe('Idempotency: dynalite (emulated transactions)', () => {
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

  idempotencySpec(() => {
    if (!backend) throw new Error('backend not started');
    return backend;
  });
});
