import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FieldChange } from '../events/catalog.js';
import {
  createDynamoClients,
  type DynamoClients,
} from '../functions/adapters/kv/dynamodb-client.js';
import { createDynamoKv } from '../functions/adapters/kv/dynamodb-kv.js';
import {
  type EmbeddedDynalite,
  startDynalite,
} from '../functions/adapters/kv/embedded-dynalite.js';
import { ensureTables, tableNames } from '../functions/adapters/kv/tables.js';
import type { KeyValue } from '../functions/ports/kv.js';
import { gatherFacts } from '../functions/rca/facts.js';
import { deltaKey, recentDeltasKey, recentSyncsKey } from '../functions/runtime/keys.js';
import { rememberPush } from '../functions/runtime/recent-pushes.js';
import { shopTarget } from '../functions/shop/manifest.js';
import type { TargetRuntime } from '../functions/target/target-runtime.js';
import { uniqueName } from './support/services.js';

/** Only what gatherFacts reads of a target: its manifest, and no active release to analyse. */
const target = {
  manifest: shopTarget,
  deployer: { active: () => undefined },
} as unknown as TargetRuntime;

const change = (field: string, kind: FieldChange['kind']): FieldChange => ({
  field,
  kind,
  sku_count: 40,
  sample_skus: ['SKU-1006'],
  samples: [],
});

/** A failure seen on the shop's API: no push id, the field the contract names. */
const apiSignal = {
  kind: 'ApiError',
  field: 'return_policy',
  skus: ['SKU-1001'],
  sku_count: 1,
  samples: [],
};

describe('rca: the push a failure without a push id is blamed on (dynalite)', () => {
  let dynalite: EmbeddedDynalite;
  let clients: DynamoClients;
  let ports: { kv: KeyValue; tables: ReturnType<typeof tableNames> };

  beforeAll(async () => {
    dynalite = await startDynalite();
    clients = createDynamoClients({ endpoint: dynalite.endpoint, region: 'us-east-1' });
    const tables = tableNames(uniqueName('facts'));
    await ensureTables(clients.client, tables);
    ports = { kv: createDynamoKv(clients.doc, { transactions: 'emulated' }), tables };
  });

  afterAll(async () => {
    clients?.client.destroy();
    await dynalite?.stop();
  });

  it('waits for the delta of a push already synced rather than blaming an older push', async () => {
    // An older push changed return_policy.type; its delta is recorded.
    await ports.kv.put(ports.tables.kv, {
      ...deltaKey('push-old'),
      changes: [change('return_policy.type', 'changed')],
    });
    await rememberPush(ports, recentDeltasKey(), 'push-old', new Date(Date.now() - 5_000));
    // The newest push is synced (its records already fail on the API); ingest is still at it.
    await rememberPush(ports, recentSyncsKey(), 'push-new');
    const recorded = new Promise<void>((done) =>
      setTimeout(async () => {
        await ports.kv.put(ports.tables.kv, {
          ...deltaKey('push-new'),
          changes: [change('return_policy', 'changed'), change('price', 'changed')],
        });
        done();
      }, 150),
    );

    const facts = await gatherFacts(ports, target, apiSignal);
    await recorded;

    expect(facts.deltas.map((c) => [c.field, c.kind])).toEqual([
      ['return_policy', 'changed'],
      ['price', 'changed'],
    ]);
  });

  it('passes over a newer push that did not touch the field for an older one that did', async () => {
    await ports.kv.put(ports.tables.kv, {
      ...deltaKey('push-stock'),
      changes: [change('stock', 'type_changed')],
    });
    await rememberPush(ports, recentDeltasKey(), 'push-stock', new Date(Date.now() - 2_000));

    const facts = await gatherFacts(ports, target, { ...apiSignal, field: 'stock' });

    expect(facts.deltas.map((c) => [c.field, c.kind])).toEqual([['stock', 'type_changed']]);
  });
});
