import { healedIn, humanize } from '../../lib/format.js';
import type { IncidentStatus } from './incident-schema.js';

const TONE: Record<IncidentStatus, string> = {
  detected: 'border-red-800 bg-red-950/60 text-red-200',
  diagnosed: 'border-red-800 bg-red-950/60 text-red-200',
  patched: 'border-red-800 bg-red-950/60 text-red-200',
  awaiting_approval: 'border-amber-700 bg-amber-950/60 text-amber-200',
  rejected: 'border-slate-700 bg-slate-800 text-slate-300',
  verified: 'border-sky-800 bg-sky-950/60 text-sky-200',
  verification_failed: 'border-red-800 bg-red-950/60 text-red-200',
  healed: 'border-emerald-700 bg-emerald-950/60 text-emerald-200',
  rolled_back: 'border-amber-700 bg-amber-950/60 text-amber-200',
  failed: 'border-red-800 bg-red-950/60 text-red-200',
  escalated: 'border-amber-700 bg-amber-950/60 text-amber-200',
};

/**
 * The incident's status: ✅ once healed, ❌ while the target is still broken (or broken again).
 * Named `Status: <status>` (e.g. `Status: awaiting approval`) for assistive tech and tests.
 */
export function IncidentStatusBadge({ status }: { status: IncidentStatus }) {
  const label = humanize(status);
  return (
    <span
      role="status"
      aria-label={`Status: ${label}`}
      className={`inline-flex items-center gap-1.5 rounded-full border px-2.5 py-0.5 text-sm font-medium ${TONE[status]}`}
    >
      <span aria-hidden="true">{status === 'healed' ? '✅' : '❌'}</span>
      {label}
    </span>
  );
}

/**
 * `Healed in 0.42 s`, from the incident's measured time to repair; nothing for an incident that
 * is not (or no longer) healed.
 */
export function HealedIn({
  status,
  ttrMs,
  className = '',
}: {
  status: IncidentStatus;
  ttrMs: number | null;
  className?: string;
}) {
  if (status !== 'healed' || ttrMs === null) return null;
  return (
    <p className={`font-semibold text-emerald-300 ${className}`}>
      <span aria-hidden="true">❌ → ✅ </span>
      <span>{healedIn(ttrMs)}</span>
    </p>
  );
}
