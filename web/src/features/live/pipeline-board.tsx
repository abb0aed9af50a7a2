import { formatDuration, formatTime, humanize } from '../../lib/format.js';
import { hrefFor } from '../../lib/hash-route.js';
import type { IncidentStatus } from '../incidents/incident-schema.js';
import { PIPELINE, type PipelineStage, STAGE_LABELS } from '../incidents/pipeline.js';

/** The last step the stream reported for a stage. */
export interface StageActivity {
  readonly at: string;
  readonly status: string;
  readonly durationMs: number;
  /** Client clock when the frame arrived: replays the highlight for every new frame. */
  readonly seen: number;
}

export interface BoardIncident {
  readonly id: string;
  readonly status: IncidentStatus;
  readonly stage: PipelineStage;
}

/**
 * The pipeline, sensors → rca → patch → guard → verify → heal, with the incidents standing at
 * each stage and the stage's last step as the stream reported it. A list named `Pipeline`.
 */
export function PipelineBoard({
  incidents,
  activity,
}: {
  incidents: readonly BoardIncident[];
  activity: Partial<Record<PipelineStage, StageActivity>>;
}) {
  return (
    <ol aria-label="Pipeline" className="grid grid-cols-2 gap-2 sm:grid-cols-3 lg:grid-cols-6">
      {PIPELINE.map((stage, index) => {
        const here = incidents.filter((incident) => incident.stage === stage);
        const last = activity[stage];
        return (
          <li
            key={stage}
            aria-label={`${stage}: ${here.length} ${here.length === 1 ? 'incident' : 'incidents'}`}
            className="relative flex min-h-28 flex-col gap-2 rounded-lg border border-slate-800 bg-slate-900/60 p-3"
          >
            {last && (
              <span
                key={last.seen}
                aria-hidden="true"
                className="stage-flash pointer-events-none absolute inset-0 rounded-lg"
              />
            )}
            <div className="flex items-baseline justify-between gap-2">
              <span className="font-mono font-semibold">{stage}</span>
              <span aria-hidden="true" className="hidden text-slate-600 lg:inline">
                {index < PIPELINE.length - 1 ? '→' : ''}
              </span>
            </div>
            <span className="text-xs text-slate-500">{STAGE_LABELS[stage]}</span>
            <ul className="flex flex-wrap gap-1">
              {here.map((incident) => (
                <li key={incident.id}>
                  <a
                    href={hrefFor({ page: 'incident', id: incident.id })}
                    title={`${incident.id}: ${humanize(incident.status)}`}
                    className={`block rounded px-1.5 py-0.5 font-mono text-xs ${
                      incident.status === 'healed'
                        ? 'bg-emerald-900/70 text-emerald-200'
                        : 'bg-red-900/60 text-red-200'
                    }`}
                  >
                    {incident.status === 'healed' ? '✅' : '❌'} {incident.id.slice(-6)}
                  </a>
                </li>
              ))}
            </ul>
            {last && (
              <span className="mt-auto text-xs text-slate-400">
                {humanize(last.status)} · {formatDuration(last.durationMs)} ·{' '}
                <time dateTime={last.at}>{formatTime(last.at)}</time>
              </span>
            )}
          </li>
        );
      })}
    </ol>
  );
}
