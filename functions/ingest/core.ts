import { createEvent } from '../../events/index.js';
import { streams } from '../../infra/topology.js';
import { deltaKey, RECENT_DELTAS, recentDeltasKey } from '../runtime/keys.js';
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
  // Last writer wins: a lost update only shortens the list rca falls back on.
  const recent = await ports.kv.get(ports.tables.kv, recentDeltasKey());
  const pushes = Array.isArray(recent?.pushes) ? (recent.pushes as unknown[]) : [];
  await ports.kv.put(ports.tables.kv, {
    ...recentDeltasKey(),
    pushes: [
      { push_id: event.data.push_id, at: new Date().toISOString() },
      ...pushes.filter((p) => (p as { push_id?: unknown }).push_id !== event.data.push_id),
    ].slice(0, RECENT_DELTAS),
  });
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
