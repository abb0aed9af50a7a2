import { Panel } from '../../components/panel.js';
import { formatDateTime, humanize } from '../../lib/format.js';
import { keyed } from '../../lib/keyed.js';
import type { PatchSnapshot } from './incident-schema.js';

const DECISION_TONE: Record<string, string> = {
  approved: 'text-emerald-300',
  awaiting_approval: 'text-amber-300',
  rejected: 'text-red-300',
};

/** The guard's verdict on the patch, its reasons, and a person's decision when one was needed. */
export function GuardPanel({ patch }: { patch: PatchSnapshot }) {
  const { guard, approval } = patch;
  return (
    <Panel title="Guard">
      {guard ? (
        <div className="flex flex-col gap-3 text-sm">
          <p>
            Decision:{' '}
            <strong className={DECISION_TONE[guard.decision] ?? ''}>
              {humanize(guard.decision)}
            </strong>{' '}
            <span className="text-slate-400">
              by {guard.decided_by}
              {guard.decided_at && ` at ${formatDateTime(guard.decided_at)}`}
            </span>
          </p>
          {guard.reasons.length === 0 ? (
            <p className="text-slate-400">No policy held this patch.</p>
          ) : (
            <ul aria-label="Guard reasons" className="list-disc pl-5">
              {keyed(guard.reasons, (reason) => reason).map(([key, reason]) => (
                <li key={key}>{reason}</li>
              ))}
            </ul>
          )}
        </div>
      ) : (
        <p className="text-sm text-slate-400">The guard has not judged this patch yet.</p>
      )}
      {approval && (
        <p className="mt-3 text-sm">
          {approval.decision === 'approved' ? 'Approved' : 'Rejected'} by {approval.by} at{' '}
          {formatDateTime(approval.at)}
          {approval.note && <span className="text-slate-400"> — “{approval.note}”</span>}
        </p>
      )}
    </Panel>
  );
}
