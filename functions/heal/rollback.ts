import type { Ports } from '../runtime/ports.js';
import type { TargetRuntime } from '../target/target-runtime.js';
import { restoreTarget } from './core.js';
import { readHealState, updateHealState } from './heal-state.js';

export type ManualRollback =
  | {
      readonly ok: true;
      readonly release_id: string;
      readonly release_hash: string;
      readonly records_hash: string;
      readonly restored: number;
    }
  | { readonly ok: false; readonly status: 404 | 409 | 500; readonly message: string };

/**
 * Rolls a healed incident back by hand: the release that was live before the heal becomes
 * active again and the records the backfill replaced get their old bytes back, proven by content
 * hashes. Refused when the incident is not healed or a later release has replaced its own.
 */
export async function rollbackHealedIncident(
  ports: Ports,
  target: TargetRuntime,
  incidentId: string,
  actor: string,
): Promise<ManualRollback> {
  const incident = await ports.store.getIncident(incidentId);
  if (!incident) return { ok: false, status: 404, message: `no incident ${incidentId}` };
  if (incident.status !== 'healed') {
    return {
      ok: false,
      status: 409,
      message: `incident ${incidentId} is ${incident.status}; only a healed incident rolls back`,
    };
  }
  const state = await readHealState(ports, incidentId);
  if (!state) return { ok: false, status: 409, message: `no heal record for ${incidentId}` };
  const live = target.deployer.active()?.release;
  if (live?.id !== state.release_id) {
    return {
      ok: false,
      status: 409,
      message: `release ${live?.id ?? 'none'} is live, not ${state.release_id} this heal shipped`,
    };
  }
  const restored = await restoreTarget(ports, target, state, incidentId);
  await ports.store.appendAudit({
    actor,
    action: 'heal.rolled_back',
    incident_id: incidentId,
    detail: {
      manual: true,
      release: state.previous_release_id,
      byte_identical: restored.ok,
      release_hash: restored.release_hash,
      records_hash: restored.records_hash,
    },
  });
  if (!restored.ok) {
    await ports.store.updateIncident(incidentId, { status: 'failed' });
    return { ok: false, status: 500, message: restored.message ?? 'rollback did not restore' };
  }
  await updateHealState(ports, incidentId, state, { phase: 'rolled_back' });
  await ports.store.updateIncident(incidentId, { status: 'rolled_back' });
  await ports.store.setActiveRelease(target.manifest.name, state.previous_release_id);
  return {
    ok: true,
    release_id: state.previous_release_id,
    release_hash: restored.release_hash,
    records_hash: restored.records_hash,
    restored: state.skus.length,
  };
}
