import { useQueryClient } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { errorMessage } from '../../lib/error-message.js';
import { CANCELLED, useAdminAction } from '../admin/use-admin-action.js';
import { auditKeys } from '../audit/audit-queries.js';
import { type IncidentAction, patchDownloadUrl, sendIncidentAction } from './incident-api.js';
import { incidentKeys, releaseKeys } from './incident-queries.js';
import type { IncidentSummary } from './incident-schema.js';

const DONE: Record<IncidentAction, string> = {
  approve: 'Approved: the patch goes to verification.',
  reject: 'Rejected: the patch will not ship.',
  rollback: 'Rolled back: the previous release and the records are restored.',
};

const BUTTON =
  'rounded-md px-3 py-1.5 text-sm font-medium disabled:cursor-not-allowed disabled:opacity-50';

/**
 * What a person can do with an incident: approve or reject a held patch (only while it is
 * `awaiting_approval`), roll back a heal (only once `healed`), and download the fix. Admin
 * actions ask for the token once per session.
 */
export function IncidentActions({ incident }: { incident: IncidentSummary }) {
  const queryClient = useQueryClient();
  const noteId = useId();
  const [note, setNote] = useState('');
  const [done, setDone] = useState<string | undefined>();

  const action = useAdminAction(
    (token, kind: IncidentAction) =>
      sendIncidentAction(incident.id, kind, token, {
        by: 'dashboard',
        ...(note.trim() ? { note: note.trim() } : {}),
      }),
    {
      onSuccess: (_result, kind) => {
        setDone(DONE[kind]);
        setNote('');
        void queryClient.invalidateQueries({ queryKey: incidentKeys.all });
        void queryClient.invalidateQueries({ queryKey: auditKeys.all });
        void queryClient.invalidateQueries({ queryKey: releaseKeys.all });
      },
    },
  );

  const run = (kind: IncidentAction) => {
    setDone(undefined);
    action.mutate(kind);
  };
  const awaiting = incident.status === 'awaiting_approval';
  const healed = incident.status === 'healed';
  const hasPatch = incident.patch !== null && incident.patch !== undefined;
  const busy = action.isPending;

  return (
    <div className="flex flex-col gap-3">
      <div className="flex flex-wrap items-end gap-2">
        {(awaiting || healed) && (
          <div className="flex min-w-48 flex-1 flex-col gap-1">
            <label htmlFor={noteId} className="text-xs text-slate-400">
              Note (optional, kept in the audit log)
            </label>
            <input
              id={noteId}
              value={note}
              maxLength={1_000}
              onChange={(event) => setNote(event.target.value)}
              className="rounded-md border border-slate-700 bg-slate-950 px-2 py-1.5 text-sm"
            />
          </div>
        )}
        {awaiting && (
          <>
            <button
              type="button"
              disabled={busy}
              onClick={() => run('approve')}
              className={`${BUTTON} bg-emerald-600 text-white hover:bg-emerald-500`}
            >
              Approve
            </button>
            <button
              type="button"
              disabled={busy}
              onClick={() => run('reject')}
              className={`${BUTTON} border border-red-700 text-red-200 hover:bg-red-950`}
            >
              Reject
            </button>
          </>
        )}
        {healed && (
          <button
            type="button"
            disabled={busy}
            onClick={() => run('rollback')}
            className={`${BUTTON} border border-amber-700 text-amber-200 hover:bg-amber-950`}
          >
            Rollback
          </button>
        )}
        {hasPatch && (
          <a
            href={patchDownloadUrl(incident.id)}
            download={`${incident.id}.patch`}
            className={`${BUTTON} border border-slate-700 text-slate-200 hover:bg-slate-800`}
          >
            Download patch
          </a>
        )}
      </div>
      {busy && <p className="text-sm text-slate-400">Sending…</p>}
      {action.isError && (
        <p role="alert" className="rounded-md bg-red-950/60 px-3 py-2 text-sm text-red-200">
          {errorMessage(action.error)}
        </p>
      )}
      {done && action.data !== CANCELLED && !action.isError && (
        <p role="status" className="text-sm text-emerald-300">
          {done}
        </p>
      )}
    </div>
  );
}
