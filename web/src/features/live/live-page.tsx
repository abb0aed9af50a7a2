import { useState } from 'react';
import { EmptyState, ErrorState, LoadingState } from '../../components/states.js';
import { hrefFor } from '../../lib/hash-route.js';
import { IncidentCard } from '../incidents/incident-card.js';
import { useIncidentDetails, useIncidents } from '../incidents/incident-queries.js';
import { incidentStage, type PipelineStage, pipelineStageOf } from '../incidents/pipeline.js';
import {
  useIncidentInvalidation,
  useRefreshIncidents,
} from '../incidents/use-incident-invalidation.js';
import { StreamStatusIndicator } from '../stream/stream-status.js';
import { useTraceStream } from '../stream/use-trace-stream.js';
import { type BoardIncident, PipelineBoard, type StageActivity } from './pipeline-board.js';

/**
 * The home page: the pipeline with incidents moving through it as trace steps arrive, and one
 * card per recent incident. Each frame that names an incident refetches that incident's reads;
 * while the stream is down, reads poll instead.
 */
export function LivePage() {
  const [activity, setActivity] = useState<Partial<Record<PipelineStage, StageActivity>>>({});
  const invalidate = useIncidentInvalidation();
  const refresh = useRefreshIncidents();
  const stream = useTraceStream({
    onReconnect: refresh,
    onEvent: (event) => {
      if (event.type === 'trace.step') {
        const stage = pipelineStageOf(event.data.stage);
        if (stage) {
          setActivity((previous) => ({
            ...previous,
            [stage]: {
              at: event.data.ended_at,
              status: event.data.status,
              durationMs: event.data.duration_ms,
              seen: Date.now(),
            },
          }));
        }
      }
      if (event.incident_id) invalidate(event.incident_id);
    },
  });
  const poll = stream.status !== 'connected';
  const list = useIncidents({ poll });
  const summaries = list.data ?? [];
  const details = useIncidentDetails(summaries, { poll });

  const board: BoardIncident[] = summaries.map((summary, index) => {
    const detail = details[index]?.data;
    const status = detail?.status ?? summary.status;
    return { id: summary.id, status, stage: incidentStage(status, detail?.steps) };
  });

  return (
    <div className="flex flex-col gap-6">
      <div className="flex flex-col justify-between gap-3 sm:flex-row sm:items-start">
        <div>
          <h1 className="text-2xl font-semibold tracking-tight">Live</h1>
          <p className="text-sm text-slate-400">
            Every step of every stage, as it happens, with the time it took.
          </p>
        </div>
        <StreamStatusIndicator stream={stream} />
      </div>

      <PipelineBoard incidents={board} activity={activity} />

      <section aria-labelledby="incidents-title" className="flex flex-col gap-3">
        <h2 id="incidents-title" className="text-lg font-medium">
          Incidents
        </h2>
        {list.isPending ? (
          <LoadingState label="Loading incidents…" />
        ) : list.isError ? (
          <ErrorState what="incidents" error={list.error} onRetry={() => void list.refetch()} />
        ) : summaries.length === 0 ? (
          <EmptyState title="No incidents yet">
            The target is healthy as far as the sensors can tell.{' '}
            <a className="text-sky-300 hover:underline" href={hrefFor({ page: 'scenarios' })}>
              Inject a fault
            </a>{' '}
            and watch it move through the pipeline.
          </EmptyState>
        ) : (
          <div className="grid grid-cols-1 gap-4 xl:grid-cols-2">
            {summaries.map((summary, index) => {
              const detail = details[index];
              return detail ? (
                <IncidentCard key={summary.id} summary={summary} detail={detail} />
              ) : null;
            })}
          </div>
        )}
      </section>
    </div>
  );
}
