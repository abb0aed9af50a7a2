import type { ReactNode } from 'react';
import { Panel } from '../../components/panel.js';
import { EmptyState, ErrorState, LoadingState } from '../../components/states.js';
import { formatDateTime, formatDuration } from '../../lib/format.js';
import { hrefFor } from '../../lib/hash-route.js';
import { HttpError } from '../../lib/http-error.js';
import { useAuditEntries } from '../audit/audit-queries.js';
import { AuditTable } from '../audit/audit-table.js';
import { StreamStatusIndicator } from '../stream/stream-status.js';
import { useTraceStream } from '../stream/use-trace-stream.js';
import { DiagnosisPanel } from './diagnosis-panel.js';
import { DiffView } from './diff-view.js';
import { EvidencePanel } from './evidence-panel.js';
import { GuardPanel } from './guard-panel.js';
import { IncidentActions } from './incident-actions.js';
import { useIncident, useReleases } from './incident-queries.js';
import {
  BackfillSnapshotSchema,
  DiagnosisSnapshotSchema,
  type Incident,
  PatchSnapshotSchema,
  readSnapshot,
  VerificationSnapshotSchema,
} from './incident-schema.js';
import { HealedIn, IncidentStatusBadge } from './incident-status.js';
import { IncidentTimeline } from './incident-timeline.js';
import { useIncidentInvalidation, useRefreshIncidents } from './use-incident-invalidation.js';
import { BackfillPanel, VerificationPanel } from './verification-panel.js';

/**
 * One incident, whole: timeline, evidence, diagnosis, the patch diff, the guard's decision,
 * verification, backfill and the audit entries, with the actions a person may take. Follows
 * the stream filtered to this incident and refetches on each of its frames.
 */
export function IncidentPage({ id }: { id: string }) {
  const invalidate = useIncidentInvalidation();
  const refresh = useRefreshIncidents();
  const stream = useTraceStream({
    onReconnect: refresh,
    incidentId: id,
    onEvent: (event) => {
      if (event.incident_id === id) invalidate(id);
    },
  });
  const query = useIncident(id, { poll: stream.status !== 'connected' });

  return (
    <div className="flex flex-col gap-6">
      <a href={hrefFor({ page: 'live' })} className="text-sm text-sky-300 hover:underline">
        ← Live
      </a>
      {query.isPending ? (
        <LoadingState label="Loading incident…" />
      ) : query.isError ? (
        query.error instanceof HttpError && query.error.status === 404 ? (
          <EmptyState title={`No incident ${id}`}>
            It may belong to a runtime that restarted with an empty store.{' '}
            <a className="text-sky-300 hover:underline" href={hrefFor({ page: 'live' })}>
              See the current incidents
            </a>
            .
          </EmptyState>
        ) : (
          <ErrorState
            what="the incident"
            error={query.error}
            onRetry={() => void query.refetch()}
          />
        )
      ) : (
        <IncidentDetails incident={query.data} stream={<StreamStatusIndicator stream={stream} />} />
      )}
    </div>
  );
}

function IncidentDetails({ incident, stream }: { incident: Incident; stream: ReactNode }) {
  const diagnosis = readSnapshot(DiagnosisSnapshotSchema, incident.diagnosis);
  const patch = readSnapshot(PatchSnapshotSchema, incident.patch);
  const verification = readSnapshot(VerificationSnapshotSchema, incident.verification);
  const backfill = readSnapshot(BackfillSnapshotSchema, incident.backfill);
  const audit = useAuditEntries(200, incident.id);

  return (
    <>
      <header className="flex flex-col gap-3">
        <div className="flex flex-col justify-between gap-3 sm:flex-row sm:items-start">
          <div className="min-w-0">
            <h1 className="break-all font-mono text-xl font-semibold sm:text-2xl">{incident.id}</h1>
            <p className="text-slate-300">
              {incident.fault_class ?? 'undiagnosed'}
              {incident.fields.length > 0 && ` · ${incident.fields.join(', ')}`}
              <span className="text-slate-500"> · {incident.target}</span>
            </p>
          </div>
          {stream}
        </div>
        <div className="flex flex-wrap items-center gap-4">
          <IncidentStatusBadge status={incident.status} />
          <HealedIn status={incident.status} ttrMs={incident.ttr_ms} className="text-xl" />
        </div>
        <p className="text-sm text-slate-400">
          opened {formatDateTime(incident.opened_at)}
          {incident.ttd_ms !== null && <> · detected in {formatDuration(incident.ttd_ms)}</>}
          {incident.healed_at && <> · healed {formatDateTime(incident.healed_at)}</>}
        </p>
        <IncidentActions incident={incident} />
      </header>

      <Panel title="Timeline">
        <IncidentTimeline steps={incident.steps} />
      </Panel>

      <div className="grid grid-cols-1 gap-6 xl:grid-cols-2">
        {diagnosis.ok ? (
          diagnosis.value ? (
            <DiagnosisPanel diagnosis={diagnosis.value} fields={incident.fields} />
          ) : (
            <Panel title="Diagnosis">
              <p className="text-sm text-slate-400">Not diagnosed yet.</p>
            </Panel>
          )
        ) : (
          <Unreadable title="Diagnosis" reason={diagnosis.reason} />
        )}
        {patch.ok ? (
          patch.value ? (
            <GuardPanel patch={patch.value} />
          ) : (
            <Panel title="Guard">
              <p className="text-sm text-slate-400">Nothing to judge yet: no patch.</p>
            </Panel>
          )
        ) : (
          <Unreadable title="Guard" reason={patch.reason} />
        )}
      </div>

      {diagnosis.ok && diagnosis.value && <EvidencePanel diagnosis={diagnosis.value} />}

      {patch.ok ? (
        patch.value ? (
          <Panel
            title="Patch"
            actions={
              <span className="text-sm text-slate-400">
                {patch.value.files.join(', ')} · {patch.value.planner ?? 'planner?'} +{' '}
                {patch.value.applier}
                {patch.value.added !== undefined &&
                  ` · +${patch.value.added} −${patch.value.removed ?? 0}`}
              </span>
            }
          >
            <DiffView diff={patch.value.diff} />
          </Panel>
        ) : (
          <Panel title="Patch">
            <p className="text-sm text-slate-400">No patch written yet.</p>
          </Panel>
        )
      ) : (
        <Unreadable title="Patch" reason={patch.reason} />
      )}

      <div className="grid grid-cols-1 gap-6 xl:grid-cols-[2fr_1fr]">
        {verification.ok ? (
          verification.value ? (
            <VerificationPanel verification={verification.value} />
          ) : (
            <Panel title="Verification">
              <p className="text-sm text-slate-400">Not verified yet.</p>
            </Panel>
          )
        ) : (
          <Unreadable title="Verification" reason={verification.reason} />
        )}
        {backfill.ok ? (
          <BackfillPanel backfill={backfill.value} />
        ) : (
          <Unreadable title="Backfill" reason={backfill.reason} />
        )}
      </div>

      <ReleasePanel />

      <Panel title="Audit">
        {audit.isPending ? (
          <LoadingState label="Loading audit entries…" />
        ) : audit.isError ? (
          <ErrorState
            what="audit entries"
            error={audit.error}
            onRetry={() => void audit.refetch()}
          />
        ) : audit.data.length === 0 ? (
          <p className="text-sm text-slate-400">No audit entries for this incident.</p>
        ) : (
          <AuditTable entries={audit.data} showIncident={false} />
        )}
      </Panel>
    </>
  );
}

function Unreadable({ title, reason }: { title: string; reason: string }) {
  return (
    <Panel title={title}>
      <p role="alert" className="text-sm text-amber-200">
        The server sent this section in an unexpected shape ({reason}).
      </p>
    </Panel>
  );
}

/**
 * The target's releases, oldest first, with the live one marked: where a heal or rollback left
 * the target. Hidden when this runtime runs no target.
 */
function ReleasePanel() {
  const releases = useReleases();
  if (releases.isPending || releases.isError) return null;
  const ordered = [...releases.data.releases].reverse();
  return (
    <Panel title={`Releases of ${releases.data.target}`}>
      {ordered.length === 0 ? (
        <p className="text-sm text-slate-400">No releases recorded.</p>
      ) : (
        <ol aria-label="Releases" className="flex flex-wrap items-center gap-2 text-sm">
          {ordered.map((release) => (
            <li
              key={release.id}
              className={`rounded-md border px-2 py-1 font-mono ${
                release.active
                  ? 'border-emerald-700 bg-emerald-950/60 text-emerald-200'
                  : 'border-slate-700 text-slate-300'
              }`}
              title={`hash ${release.hash}${release.parent_id ? `, parent ${release.parent_id}` : ''}`}
            >
              {release.id}
              {release.active && <span className="ml-1 font-sans text-xs">(live)</span>}
            </li>
          ))}
        </ol>
      )}
    </Panel>
  );
}
