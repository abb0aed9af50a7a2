import { useQuery } from '@tanstack/react-query';
import { Panel } from '../../components/panel.js';
import { type StatTile, StatTiles } from '../../components/stat-tiles.js';
import { EmptyState, ErrorState, LoadingState } from '../../components/states.js';
import { formatDateTime, formatDuration, formatPercent, humanize } from '../../lib/format.js';
import { fetchLatestEvaluation } from './evaluation-api.js';
import { type ScenarioRow, scenarioRows } from './evaluation-rows.js';
import type { Evaluation } from './evaluation-schema.js';
import { EvaluationTimesChart } from './metrics-charts.js';

export const evaluationKeys = { latest: ['evaluations', 'latest'] as const };

/** A harness run takes minutes and is started by hand: look for a newer one now and then. */
const EVALUATION_REFRESH_MS = 60_000;

const ms = (value: number | null) => (value === null ? '—' : formatDuration(value));

/**
 * The latest run of the scenario evaluation harness: its headline figures, one table row per
 * scenario (passes over repeats, outcome against expectation, median TTD and TTR, why a repeat
 * failed) and a chart of the medians. Says how to record one when none is.
 */
export function EvaluationPanel() {
  const evaluation = useQuery({
    queryKey: evaluationKeys.latest,
    queryFn: ({ signal }) => fetchLatestEvaluation(signal),
    refetchInterval: EVALUATION_REFRESH_MS,
  });
  const verdict = evaluation.data ? <Verdict evaluation={evaluation.data} /> : undefined;

  return (
    <Panel title="Scenario evaluation" actions={verdict}>
      {evaluation.isPending ? (
        <LoadingState label="Loading the latest evaluation…" />
      ) : evaluation.isError ? (
        <ErrorState
          what="the latest evaluation"
          error={evaluation.error}
          onRetry={() => void evaluation.refetch()}
        />
      ) : evaluation.data === null ? (
        <EmptyState title="No evaluation recorded yet">
          Run <code className="font-mono text-slate-200">npm run scenarios</code> to inject every
          scenario against the local system; its latest run shows here.
        </EmptyState>
      ) : (
        <EvaluationBody evaluation={evaluation.data} />
      )}
    </Panel>
  );
}

function Verdict({ evaluation }: { evaluation: Evaluation }) {
  const ok = evaluation.summary.pass_all_repeats;
  return (
    <span
      className={`rounded-full px-2.5 py-0.5 text-xs font-medium ${
        ok ? 'bg-emerald-950 text-emerald-300' : 'bg-red-950 text-red-300'
      }`}
    >
      {ok ? 'Every repeat passed' : 'Some repeats failed'}
    </span>
  );
}

/** Wall-clock length of the run, from its recorded start and end. */
function runLength({ started_at, finished_at }: Evaluation): string | undefined {
  const length = Date.parse(finished_at) - Date.parse(started_at);
  return Number.isFinite(length) && length >= 0 ? formatDuration(length) : undefined;
}

/** `redis+postgres+…` with line-break opportunities after each `+`, so a narrow tile wraps there. */
function breakable(stores: string) {
  return stores.split('+').map((part, index, parts) => (
    // biome-ignore lint/suspicious/noArrayIndexKey: the parts of one fixed string, never reordered
    <span key={index}>
      {part}
      {index < parts.length - 1 && (
        <>
          +<wbr />
        </>
      )}
    </span>
  ));
}

function EvaluationBody({ evaluation }: { evaluation: Evaluation }) {
  const { summary } = evaluation;
  const rows = scenarioRows(evaluation.scenarios);
  const took = runLength(evaluation);
  const tiles: StatTile[] = [
    { label: 'Passed', value: `${summary.passed}/${summary.total}` },
    { label: 'Heal success rate', value: formatPercent(summary.heal_success_rate) },
    { label: 'False heals', value: String(summary.false_heals) },
    { label: 'False alarms', value: String(summary.false_alarms) },
    { label: 'TTR p50 / p95', value: `${ms(summary.ttr_p50_ms)} / ${ms(summary.ttr_p95_ms)}` },
    {
      label: 'Ran',
      value: (
        <time className="text-base" dateTime={evaluation.finished_at}>
          {formatDateTime(evaluation.finished_at)}
        </time>
      ),
      detail: took && `took ${took}`,
    },
    { label: 'Repeats', value: String(summary.repeat), detail: 'per scenario' },
    {
      label: 'Stores',
      value: <span className="text-base">{breakable(evaluation.stores)}</span>,
    },
  ];

  return (
    <div className="flex flex-col gap-6">
      <StatTiles tiles={tiles} className="grid-cols-2 md:grid-cols-4" />
      {rows.length === 0 ? (
        <p className="text-sm text-slate-400">This run recorded no scenarios.</p>
      ) : (
        <>
          <ScenarioTable rows={rows} repeat={summary.repeat} />
          <div>
            <h3 className="mb-2 text-sm font-medium text-slate-300">
              Median time to detect and repair per scenario
            </h3>
            <EvaluationTimesChart rows={rows} />
          </div>
        </>
      )}
    </div>
  );
}

const outcomeText = (row: ScenarioRow) =>
  row.outcomes.length === 1 && row.outcomes[0]
    ? humanize(row.outcomes[0].outcome)
    : row.outcomes.map(({ outcome, count }) => `${humanize(outcome)} ×${count}`).join(', ');

const repeatsText = (repeats: readonly number[]) =>
  `${repeats.length === 1 ? 'repeat' : 'repeats'} ${repeats.join(', ')}`;

function ScenarioTable({ rows, repeat }: { rows: readonly ScenarioRow[]; repeat: number }) {
  const th = 'py-2 pr-3 font-normal';
  return (
    <div className="overflow-x-auto">
      <table className="w-full min-w-[48rem] text-left text-sm">
        <caption className="mb-2 text-left text-slate-400">
          Scenarios: passes over {repeat} {repeat === 1 ? 'repeat' : 'repeats'}, outcome against
          expectation, median times
        </caption>
        <thead className="text-slate-500">
          <tr>
            <th scope="col" className={th}>
              Scenario
            </th>
            <th scope="col" className={th}>
              Passes
            </th>
            <th scope="col" className={th}>
              Outcome
            </th>
            <th scope="col" className={th}>
              Expected
            </th>
            <th scope="col" className={`${th} text-right`}>
              <abbr title="Time to detect, median over repeats">TTD</abbr>
            </th>
            <th scope="col" className={`${th} text-right`}>
              <abbr title="Time to repair, median over repeats">TTR</abbr>
            </th>
            <th scope="col" className="py-2 font-normal">
              Failures
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => {
            const allPassed = row.passes === row.runs;
            const asExpected = row.outcomes.every(({ outcome }) => outcome === row.expected);
            return (
              <tr key={row.id} className="border-t border-slate-800 align-top">
                <th scope="row" className="py-2 pr-3 text-left font-normal">
                  <span className="block font-mono text-slate-200">{row.id}</span>
                  <span className="block text-xs text-slate-500">{row.class}</span>
                </th>
                <td
                  className={`whitespace-nowrap py-2 pr-3 font-mono ${
                    allPassed ? 'text-emerald-300' : 'text-red-300'
                  }`}
                >
                  {row.passes}/{row.runs}
                </td>
                <td className={`py-2 pr-3 ${asExpected ? 'text-slate-200' : 'text-amber-300'}`}>
                  {outcomeText(row)}
                </td>
                <td className="py-2 pr-3 text-slate-400">{humanize(row.expected)}</td>
                <td className="whitespace-nowrap py-2 pr-3 text-right font-mono">
                  {ms(row.ttd_median_ms)}
                </td>
                <td className="whitespace-nowrap py-2 pr-3 text-right font-mono">
                  {ms(row.ttr_median_ms)}
                </td>
                <td className="py-2 text-slate-300">
                  {row.failures.length === 0 ? (
                    <span className="text-slate-500">—</span>
                  ) : (
                    <details className="max-w-sm">
                      <summary className="cursor-pointer text-red-300 hover:underline">
                        Why {row.runs - row.passes === 1 ? 'a repeat' : 'repeats'} failed
                      </summary>
                      <ul className="mt-1 flex list-disc flex-col gap-1 pl-4 text-xs">
                        {row.failures.map(({ reason, repeats }) => (
                          <li key={reason}>
                            {reason}{' '}
                            <span className="text-slate-500">({repeatsText(repeats)})</span>
                          </li>
                        ))}
                      </ul>
                    </details>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
