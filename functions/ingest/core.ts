import { createEvent } from '../../events/index.js';
import { streams } from '../../infra/topology.js';
import { deltaKey, recentDeltasKey } from '../runtime/keys.js';
import { rememberPush } from '../runtime/recent-pushes.js';
import type { StageCore } from '../runtime/stage-handler.js';
import { computeCatalogDelta } from './delta.js';
import { createSnapshotRepository } from './snapshots.js';

/**
 * Stage `ingest`: diffs each pushed item against its DynamoDB snapshot at field level, writes
 * the new snapshots (an older push never overwrites a newer one) and publishes one
 * `catalog.delta` per push with a summary per changed field.
 */
export const ingestCore: StageCore<'catalog.push'> = async (event, ports, context) => {
  const snapshots = createSnapshotRepository(ports.kv, { table: ports.tables.snapshots });
  const result = await computeCatalogDelta(
    {
      push_id: event.data.push_id,
      catalog_version: event.data.catalog_version,
      items: event.data.items,
    },
    snapshots,
  );
  // Kept by push id so rca can join a signal with the changes of the push that caused it.
  await ports.kv.put(ports.tables.kv, {
    ...deltaKey(event.data.push_id),
    changes: result.delta.changes,
    recorded_at: new Date().toISOString(),
  });
  await rememberPush(ports, recentDeltasKey(), event.data.push_id);
  const delta = createEvent('catalog.delta', result.delta, {
    source: 'ingest',
    id: context.idFor(0),
  });
  return {
    status: 'ok',
    outputs: [{ stream: streams.catalogDeltas, event: delta }],
    detail: {
      push_id: event.data.push_id,
      items: event.data.items.length,
      written: result.written,
      stale: result.stale,
      new_skus: result.newSkus.length,
      changed_skus: result.changedSkus.length,
      fields: result.delta.changes.map((c) => `${c.field}:${c.kind}`),
    },
  };
};
