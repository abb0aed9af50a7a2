import type { EventOf } from '../../events/index.js';
import { type IncidentSummary, TraceStoreConflictError } from '../ports/trace-store.js';
import type { Ports } from '../runtime/ports.js';

/**
 * The fault signature that groups signals into one incident while it is open: the target, the
 * entity the mapper writes, the field, and whether the data is wrong or the target is away.
 */
export function signatureOf(signal: EventOf<'signal'>): string {
  const kind = signal.data.kind === 'DependencyDown' ? 'availability' : 'data';
  return `${signal.data.target}/record/${signal.data.field ?? '*'}/${kind}`;
}

/**
 * The open incident of a signal's signature, or a new one. Two rca workers racing on the same
 * signature meet at the store's one-open-incident-per-signature constraint: the loser joins.
 */
export async function openOrJoin(
  ports: Pick<Ports, 'store'>,
  signal: EventOf<'signal'>,
  newId: string,
): Promise<{ incident: IncidentSummary; opened: boolean }> {
  const signature = signatureOf(signal);
  const open = await ports.store.findOpenIncident(signature);
  if (open) return { incident: open, opened: false };
  const onset = signal.data.onset_at ?? signal.occurred_at;
  // A signal about a fault that was already healed when it was observed (a probe that ran just
  // before the fix went live) belongs to that incident: it must not open a new one.
  const healed = await ports.store.listIncidents({
    status: 'healed',
    target: signal.data.target,
    limit: 5,
  });
  const late = healed.find(
    (incident) =>
      incident.signature === signature &&
      incident.healed_at !== null &&
      Date.parse(onset) <= Date.parse(incident.healed_at),
  );
  if (late) return { incident: late, opened: false };
  try {
    const incident = await ports.store.createIncident({
      id: newId,
      status: 'detected',
      target: signal.data.target,
      fields: signal.data.field ? [signal.data.field] : [],
      signature,
      opened_at: new Date().toISOString(),
      onset_at: onset,
    });
    // Time to detect: fault onset (first broken write or failing response) to its signal.
    await ports.store.updateIncident(incident.id, {
      ttd_ms: Math.max(0, Date.parse(signal.occurred_at) - Date.parse(onset)),
    });
    return { incident, opened: true };
  } catch (error) {
    if (!(error instanceof TraceStoreConflictError)) throw error;
    const winner = await ports.store.findOpenIncident(signature);
    if (!winner) throw error;
    return { incident: winner, opened: false };
  }
}
