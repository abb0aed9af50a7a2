import type { EvaluationOutcome, ExpectedOutcome, ScenarioRun } from './evaluation-schema.js';

/** A scenario's repeats folded into one line of the evaluation table. */
export interface ScenarioRow {
  readonly id: string;
  readonly class: string;
  readonly expected: ExpectedOutcome;
  readonly runs: number;
  readonly passes: number;
  /** Each outcome seen, with how many repeats ended in it, most frequent first. */
  readonly outcomes: readonly { readonly outcome: EvaluationOutcome; readonly count: number }[];
  /** Median over the repeats that measured one; `null` when none did. */
  readonly ttd_median_ms: number | null;
  readonly ttr_median_ms: number | null;
  /** Why failed repeats failed, each line once, with the repeats it applies to. */
  readonly failures: readonly { readonly reason: string; readonly repeats: readonly number[] }[];
}

/**
 * The median of the measured values, skipping `null` (a run that measured nothing).
 *
 * @example
 * median([30, null, 10, 20]); // 20
 * median([null]); // null
 */
export function median(values: readonly (number | null)[]): number | null {
  const measured = values.filter((value): value is number => value !== null).sort((a, b) => a - b);
  if (measured.length === 0) return null;
  const middle = Math.floor(measured.length / 2);
  const upper = measured[middle] ?? 0;
  return measured.length % 2 === 1 ? upper : ((measured[middle - 1] ?? upper) + upper) / 2;
}

/**
 * One row per scenario, in the order the harness first ran them: passes over repeats, median
 * TTD and TTR, the outcomes seen and the reasons of any failure.
 */
export function scenarioRows(runs: readonly ScenarioRun[]): ScenarioRow[] {
  const byId = new Map<string, ScenarioRun[]>();
  for (const run of runs) byId.set(run.id, [...(byId.get(run.id) ?? []), run]);

  return [...byId.values()].flatMap((group) => {
    const [first] = group;
    if (!first) return [];
    const outcomes = new Map<EvaluationOutcome, number>();
    const failures = new Map<string, number[]>();
    for (const run of group) {
      outcomes.set(run.outcome, (outcomes.get(run.outcome) ?? 0) + 1);
      if (run.pass) continue;
      for (const reason of run.failures.length > 0 ? run.failures : ['no reason recorded']) {
        failures.set(reason, [...(failures.get(reason) ?? []), run.repeat]);
      }
    }
    return [
      {
        id: first.id,
        class: first.class,
        expected: first.expected,
        runs: group.length,
        passes: group.filter((run) => run.pass).length,
        outcomes: [...outcomes]
          .map(([outcome, count]) => ({ outcome, count }))
          .sort((a, b) => b.count - a.count),
        ttd_median_ms: median(group.map((run) => run.ttd_ms)),
        ttr_median_ms: median(group.map((run) => run.ttr_ms)),
        failures: [...failures].map(([reason, repeats]) => ({ reason, repeats })),
      },
    ];
  });
}
