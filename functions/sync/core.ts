import { createEvent } from '../../events/index.js';
import { streams } from '../../infra/topology.js';
import { recentSyncsKey, syncMarkerKey } from '../runtime/keys.js';
import { rememberPush } from '../runtime/recent-pushes.js';
import { requireTarget } from '../runtime/require-target.js';
import type { StageCore } from '../runtime/stage-handler.js';

/**
 * Stage `sync`: the target's own catalog sync. Maps every pushed item through the target's
 * active release, writes the records, marks the push synced and announces the write, so the
 * validator reads back exactly what was stored.
 */
export const syncCore: StageCore<'catalog.push'> = async (event, ports, context) => {
  const target = requireTarget(ports, 'sync');
  // For rca, before any record is written: a failure seen on the target's API carries no push
  // id, and may be observed before the ingest stage has recorded this push's delta.
  await rememberPush(ports, recentSyncsKey(), event.data.push_id);
  const result = await target.sync(event.data.items, new Date().toISOString());
  await ports.kv.put(ports.tables.kv, {
    ...syncMarkerKey(event.data.push_id),
    release_id: result.release_id,
    committed_at: result.committed_at,
  });
  const write = createEvent(
    'target.write',
    {
      target: target.manifest.name,
      release_id: result.release_id,
      push_id: event.data.push_id,
      skus: [...result.written],
      committed_at: result.committed_at,
    },
    { source: 'sync', id: context.idFor(0) },
  );
  return {
    status: 'ok',
    outputs: [{ stream: streams.targetWrites, event: write }],
    detail: {
      push_id: event.data.push_id,
      release_id: result.release_id,
      written: result.written.length,
      failed: result.failed.length,
      first_failures: result.failed.slice(0, 3),
    },
  };
};
