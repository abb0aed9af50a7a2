import type { UseQueryResult } from '@tanstack/react-query';
import { ErrorState, LoadingState } from '../../components/states.js';
import { formatDateTime, formatDuration } from '../../lib/format.js';
import { hrefFor } from '../../lib/hash-route.js';
import type { Incident, IncidentSummary } from './incident-schema.js';
import { HealedIn, IncidentStatusBadge } from './incident-status.js';
import { IncidentTimeline } from './incident-timeline.js';

/**
 * One incident on the live view: status (❌ → ✅), `Healed in … s`, and its timeline, refreshed
 * whenever the stream reports a step of it. An article named `Incident <id> <fault class>`.
 */
export function IncidentCard({
  summary,
  detail,
}: {
  summary: IncidentSummary;
  detail: UseQueryResult<Incident>;
}) {
  const incident = detail.data ?? summary;
  const faultClass = incident.fault_class ?? 'undiagnosed';

  return (
    <article
      aria-label={`Incident ${incident.id} ${faultClass}`}
      className="flex min-w-0 flex-col gap-3 rounded-xl border border-slate-800 bg-slate-900/60 p-4"
    >
      <header className="flex flex-wrap items-start justify-between gap-2">
        <div className="min-w-0">
          <h3 className="truncate font-mono text-sm">
            <a
              className="text-sky-300 hover:underline"
              href={hrefFor({ page: 'incident', id: incident.id })}
            >
              {incident.id}
            </a>
          </h3>
          <p className="text-sm text-slate-300">
            {faultClass}
            {incident.fields.length > 0 && (
              <span className="text-slate-400"> · {incident.fields.join(', ')}</span>
            )}
            <span className="text-slate-500"> · {incident.target}</span>
          </p>
        </div>
        <IncidentStatusBadge status={incident.status} />
      </header>
      <HealedIn status={incident.status} ttrMs={incident.ttr_ms} className="text-lg" />
      <p className="text-xs text-slate-400">
        opened {formatDateTime(incident.opened_at)}
        {incident.ttd_ms !== null && <> · detected in {formatDuration(incident.ttd_ms)}</>}
      </p>
      {detail.data ? (
        <IncidentTimeline steps={detail.data.steps} />
      ) : detail.isError ? (
        <ErrorState
          what="the timeline"
          error={detail.error}
          onRetry={() => void detail.refetch()}
        />
      ) : (
        <LoadingState label="Loading timeline…" />
      )}
    </article>
  );
}
