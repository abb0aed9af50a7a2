import type { EventOf } from '../../events/index.js';
import {
  type IncidentSummary,
  isClosedIncidentStatus,
  TraceStoreConflictError,
} from '../ports/trace-store.js';
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
 * The newest closed incident of `signature` that was closed after `onset`: a signal about a
 * fault observed before its incident ended (a probe that ran just before the fix went live, a
 * failing call in flight while a person rejected the patch) belongs to that incident and must
 * not open a new one. Closed means healed (at `healed_at`) or any other closed status (at its
 * last audit entry).
 */
async function closedBefore(
  ports: Pick<Ports, 'store'>,
  target: string,
  signature: string,
  onset: number,
): Promise<IncidentSummary | undefined> {
  const recent = await ports.store.listIncidents({ target, limit: 10 });
  const newest = recent.find((incident) => incident.signature === signature);
  if (!newest || !isClosedIncidentStatus(newest.status)) return undefined;
  let closedAt: number | undefined;
  if (newest.healed_at) closedAt = Date.parse(newest.healed_at);
  else {
    const [last] = await ports.store.listAudit({ incident_id: newest.id, limit: 1 });
    if (last) closedAt = Date.parse(last.at);
  }
  return closedAt !== undefined && onset <= closedAt ? newest : undefined;
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
  const late = await closedBefore(ports, signal.data.target, signature, Date.parse(onset));
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

/**
 * What a joining signal changes in its incident's timing: a signal whose fault onset is earlier
 * than the incident's (the validator's commit of the first broken record, joining an incident a
 * probe opened when it saw a failing response a little later) moves the onset back to it, and
 * the time to detect is measured again from there to the first signal. Nothing when it is not
 * earlier.
 *
 * @example
 * // A probe opened the incident at 12:00:00.050 (its own onset, ttd 0); the validator's signal
 * // names a commit at 12:00:00.020: the onset moves there and the ttd becomes 30 ms.
 * earlierOnset({ onset_at: '2026-01-01T12:00:00.050Z', ttd_ms: 0 }, validatorSignal);
 */
export function earlierOnset(
  incident: Pick<IncidentSummary, 'onset_at' | 'ttd_ms'>,
  signal: EventOf<'signal'>,
): { onset_at: string; ttd_ms: number } | undefined {
  const onset = signal.data.onset_at ?? signal.occurred_at;
  const current = Date.parse(incident.onset_at ?? '');
  const candidate = Date.parse(onset);
  if (Number.isNaN(current) || Number.isNaN(candidate) || candidate >= current) return undefined;
  const detected = current + (incident.ttd_ms ?? 0);
  return { onset_at: onset, ttd_ms: Math.max(0, detected - candidate) };
}
