import { setTimeout as sleep } from 'node:timers/promises';
import { createEvent, type EventOf } from '../../events/index.js';
import { streams } from '../../infra/topology.js';
import { syncMarkerKey } from '../runtime/keys.js';
import { requireTarget, targetBaseUrl } from '../runtime/require-target.js';
import { recordSignal } from '../runtime/signals.js';
import type { StageCore } from '../runtime/stage-handler.js';
import { runProbes, signalsOf } from './run-probes.js';

/** Longest wait for the target's sync of the same push before probing anyway. */
export const SYNC_WAIT_MS = 5_000;

/**
 * Stage `probe`: after a catalog delta, calls the target's API for the SKUs that changed (the
 * delta's samples per field) once the target has synced that push, and turns every failing,
 * slow or refused call into a signal with the request captured for replay.
 */
export const probeCore: StageCore<'catalog.delta'> = async (event, ports, context) => {
  const target = requireTarget(ports, 'probe');
  const skus = [...new Set(event.data.changes.flatMap((change) => change.sample_skus))];
  if (skus.length === 0) {
    return { status: 'skipped', outputs: [], detail: { reason: 'no changed SKUs' } };
  }

  // The sync consumes the same push in parallel: probing before it commits would test the
  // previous records. Wait for its marker, bounded, then probe whatever is live.
  const waitStarted = performance.now();
  let synced = await ports.kv.get(ports.tables.kv, syncMarkerKey(event.data.push_id));
  while (!synced && performance.now() - waitStarted < SYNC_WAIT_MS) {
    await sleep(20);
    synced = await ports.kv.get(ports.tables.kv, syncMarkerKey(event.data.push_id));
  }
  const waitedMs = performance.now() - waitStarted;

  const baseUrl = targetBaseUrl(ports);
  const { calls, findings } = await runProbes(target.manifest, skus, {
    baseUrl,
    timeoutMs: ports.config.PROBE_TIMEOUT_MS,
    now: new Date(),
  });
  const releaseId = typeof synced?.release_id === 'string' ? synced.release_id : undefined;
  const signals: EventOf<'signal'>[] = [];
  for (const data of signalsOf(target.manifest.name, findings, {
    push_id: event.data.push_id,
    ...(releaseId ? { release_id: releaseId } : {}),
  })) {
    const signal = createEvent('signal', data, {
      source: 'probe',
      id: context.idFor(signals.length),
    });
    await recordSignal(ports, signal);
    signals.push(signal);
  }
  return {
    status: 'ok',
    outputs: signals.map((signal) => ({ stream: streams.signals, event: signal })),
    detail: {
      push_id: event.data.push_id,
      skus: skus.length,
      calls,
      failures: findings.length,
      synced: Boolean(synced),
      waited_for_sync_ms: waitedMs,
    },
  };
};
