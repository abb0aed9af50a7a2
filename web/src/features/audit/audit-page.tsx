import { useState } from 'react';
import { Panel } from '../../components/panel.js';
import { EmptyState, ErrorState, LoadingState } from '../../components/states.js';
import { humanize } from '../../lib/format.js';
import { useAuditEntries, useAuditVerification } from './audit-queries.js';
import type { AuditChainReport } from './audit-schema.js';
import { AuditTable } from './audit-table.js';

const LIMITS = [50, 200, 500] as const;

/** The append-only, hash-chained audit log and whether its chain still holds. */
export function AuditPage() {
  const [limit, setLimit] = useState<number>(LIMITS[0]);
  const entries = useAuditEntries(limit);
  const verification = useAuditVerification();

  return (
    <div className="flex flex-col gap-6">
      <div className="flex flex-col justify-between gap-3 sm:flex-row sm:items-start">
        <div>
          <h1 className="text-2xl font-semibold tracking-tight">Audit</h1>
          <p className="text-sm text-slate-400">
            Every action, by whom, each entry hashing the one before it.
          </p>
        </div>
        {verification.isPending ? (
          <LoadingState label="Verifying the chain…" />
        ) : verification.isError ? (
          <ErrorState
            what="the chain verification"
            error={verification.error}
            onRetry={() => void verification.refetch()}
          />
        ) : (
          <ChainStatus report={verification.data} onVerify={() => void verification.refetch()} />
        )}
      </div>
      <Panel
        title="Entries"
        actions={
          <label className="flex items-center gap-2 text-sm text-slate-400">
            Show
            <select
              value={limit}
              onChange={(event) => setLimit(Number(event.target.value))}
              className="rounded-md border border-slate-700 bg-slate-950 px-2 py-1 text-slate-200"
            >
              {LIMITS.map((value) => (
                <option key={value} value={value}>
                  {value}
                </option>
              ))}
            </select>
            newest
          </label>
        }
      >
        {entries.isPending ? (
          <LoadingState label="Loading audit entries…" />
        ) : entries.isError ? (
          <ErrorState
            what="audit entries"
            error={entries.error}
            onRetry={() => void entries.refetch()}
          />
        ) : entries.data.length === 0 ? (
          <EmptyState title="The audit log is empty">
            Entries appear as soon as the system or a person acts.
          </EmptyState>
        ) : (
          <AuditTable entries={entries.data} />
        )}
      </Panel>
    </div>
  );
}

function ChainStatus({ report, onVerify }: { report: AuditChainReport; onVerify: () => void }) {
  return (
    <div className="flex items-center gap-2">
      {report.ok ? (
        <p
          role="status"
          aria-label="Audit chain"
          className="rounded-md border border-emerald-800 bg-emerald-950/60 px-3 py-1.5 text-sm text-emerald-200"
        >
          ✅ Chain verified: {report.entries} {report.entries === 1 ? 'entry' : 'entries'}
        </p>
      ) : (
        <p
          role="alert"
          aria-label="Audit chain"
          className="rounded-md border border-red-800 bg-red-950/60 px-3 py-1.5 text-sm text-red-200"
        >
          ❌ Chain broken
          {report.first_broken &&
            ` at entry ${report.first_broken.seq} (${humanize(report.first_broken.reason)})`}
          , {report.entries} entries read
        </p>
      )}
      <button
        type="button"
        onClick={onVerify}
        className="rounded-md border border-slate-700 px-2 py-1 text-sm text-slate-200 hover:bg-slate-800"
      >
        Verify again
      </button>
    </div>
  );
}
