import { Panel } from '../../components/panel.js';
import { formatDuration } from '../../lib/format.js';
import type { BackfillSnapshot, VerificationSnapshot } from './incident-schema.js';

/** Each check the sandbox ran on the candidate release: counts, duration, first failures. */
export function VerificationPanel({ verification }: { verification: VerificationSnapshot }) {
  return (
    <Panel title="Verification">
      <div className="flex flex-col gap-3 text-sm">
        <p>
          <strong className={verification.ok ? 'text-emerald-300' : 'text-red-300'}>
            {verification.ok ? 'Passed' : 'Failed'}
          </strong>{' '}
          <span className="text-slate-400">
            candidate <span className="font-mono">{verification.candidate_release_id}</span>
            {verification.base_release_id && (
              <>
                {' '}
                on <span className="font-mono">{verification.base_release_id}</span>
              </>
            )}
          </span>
        </p>
        {verification.reason && <p className="text-red-300">{verification.reason}</p>}
        <div className="overflow-x-auto">
          <table className="w-full min-w-[28rem] text-left">
            <caption className="sr-only">Verification checks</caption>
            <thead className="text-slate-500">
              <tr>
                <th scope="col" className="py-1 font-normal">
                  check
                </th>
                <th scope="col" className="py-1 font-normal">
                  result
                </th>
                <th scope="col" className="py-1 text-right font-normal">
                  passed
                </th>
                <th scope="col" className="py-1 text-right font-normal">
                  failed
                </th>
                <th scope="col" className="py-1 text-right font-normal">
                  duration
                </th>
              </tr>
            </thead>
            <tbody>
              {verification.checks.map((check) => (
                <tr key={check.name} className="border-t border-slate-800 align-top">
                  <th scope="row" className="py-1 text-left font-mono font-normal">
                    {check.name}
                  </th>
                  <td className="py-1">
                    <span className={check.ok ? 'text-emerald-300' : 'text-red-300'}>
                      {check.ok ? 'ok' : 'failed'}
                    </span>
                    {check.first_failures.length > 0 && (
                      <ul className="mt-1 list-disc pl-4 text-xs text-red-200">
                        {check.first_failures.map((failure) => (
                          <li key={failure}>{failure}</li>
                        ))}
                      </ul>
                    )}
                  </td>
                  <td className="py-1 text-right font-mono">{check.passed}</td>
                  <td className="py-1 text-right font-mono">{check.failed}</td>
                  <td className="py-1 text-right font-mono">{formatDuration(check.duration_ms)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {verification.affected_skus && verification.affected_skus.length > 0 && (
          <p className="text-slate-400">
            Damaged records found when verifying: {verification.affected_skus.length}
          </p>
        )}
      </div>
    </Panel>
  );
}

/** Records the heal repaired through the new release, and those it could not. */
export function BackfillPanel({ backfill }: { backfill: BackfillSnapshot | undefined }) {
  return (
    <Panel title="Backfill">
      {backfill ? (
        <dl className="grid grid-cols-2 gap-3 text-sm">
          <div>
            <dt className="text-xs uppercase tracking-wide text-slate-500">Repaired</dt>
            <dd className="mt-1 font-mono text-2xl text-emerald-300">{backfill.repaired}</dd>
          </div>
          <div>
            <dt className="text-xs uppercase tracking-wide text-slate-500">Failed</dt>
            <dd
              className={`mt-1 font-mono text-2xl ${backfill.failed ? 'text-red-300' : 'text-slate-300'}`}
            >
              {backfill.failed ?? 0}
            </dd>
          </div>
        </dl>
      ) : (
        <p className="text-sm text-slate-400">No records were backfilled (the heal has not run).</p>
      )}
    </Panel>
  );
}
