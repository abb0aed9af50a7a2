import { formatDuration, formatTime, humanize } from '../../lib/format.js';
import type { IncidentStep } from './incident-schema.js';
import { stepSummary } from './step-summary.js';

const STATUS_TONE: Record<string, string> = {
  ok: 'text-emerald-300',
  failed: 'text-red-300',
  rejected: 'text-red-300',
  rolled_back: 'text-amber-300',
  awaiting_approval: 'text-amber-300',
  escalated: 'text-amber-300',
  skipped: 'text-slate-400',
};

/**
 * The incident's recorded steps, oldest first: stage, status and the duration measured around
 * the stage's work, with a bar scaled to the longest step. A list named `Timeline`.
 */
export function IncidentTimeline({ steps }: { steps: readonly IncidentStep[] }) {
  if (steps.length === 0) {
    return <p className="text-sm text-slate-400">No steps recorded yet.</p>;
  }
  const longest = Math.max(...steps.map((step) => step.duration_ms), 1);
  return (
    <ol aria-label="Timeline" className="flex flex-col gap-1.5">
      {steps.map((step) => {
        const summary = stepSummary(step.detail);
        return (
          <li
            key={step.id}
            className="grid grid-cols-[4.5rem_1fr_auto] items-center gap-x-3 gap-y-0.5 text-sm sm:grid-cols-[5rem_7rem_1fr_auto]"
          >
            <span className="font-mono font-medium text-slate-100">{step.stage}</span>
            <span className={`sm:order-none ${STATUS_TONE[step.status] ?? 'text-slate-300'}`}>
              {humanize(step.status)}
            </span>
            <span className="col-span-3 row-start-2 min-w-0 sm:col-span-1 sm:row-start-auto">
              <span
                aria-hidden="true"
                className="block h-1.5 rounded-full bg-sky-500/70"
                style={{ width: `${Math.max(2, (step.duration_ms / longest) * 100)}%` }}
              />
              {summary.length > 0 && (
                <span className="mt-0.5 block truncate text-xs text-slate-400">
                  {summary.join(' · ')}
                </span>
              )}
            </span>
            <span className="text-right font-mono tabular-nums text-slate-200">
              <span className="sr-only">took </span>
              {formatDuration(step.duration_ms)}
              <span className="block text-xs text-slate-500">
                <time dateTime={step.started_at}>{formatTime(step.started_at)}</time>
              </span>
            </span>
          </li>
        );
      })}
    </ol>
  );
}
