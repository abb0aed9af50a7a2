import type { LocalSystem } from '../infra/local/system.js';
import { topology } from '../infra/topology.js';
import { injectScenario } from './inject.js';
import {
  callApi,
  compareRecords,
  contractBreaks,
  diagnosisCorrect,
  patchMinimal,
  type RecordView,
  readRecords,
  sample,
} from './oracle.js';
import type { ExpectedOutcome, Scenario } from './types.js';

/**
 * The evaluation harness: runs each scenario against a live local system and judges it from the
 * outside. Per scenario it first records a fault-free run (the same workload with no fault in
 * it), then per repeat: reset, inject, wait for the outcome, and compare with the fault-free
 * records. The incident's status is never read to decide a pass; the diagnosis is read only to
 * score it.
 */

/** What the system did about a scenario, as seen from outside. */
export type Outcome =
  /** A release of the target went live and the damaged records are as in the fault-free run. */
  | 'healed'
  /** The fault was noticed (a signal) and nothing was patched. */
  | 'escalated'
  /** Nothing noticed, nothing patched. */
  | 'none'
  /** A release went live but the damage is still there. */
  | 'patched_unrestored';

export interface ScenarioResult {
  readonly id: string;
  readonly class: string;
  readonly expected: ExpectedOutcome;
  readonly outcome: Outcome;
  readonly pass: boolean;
  readonly repeat: number;
  /** Start of the injection to the first signal seen; `null` when none came. */
  readonly ttd_ms: number | null;
  /** Start of the injection to the damaged records first seen restored; healed runs only. */
  readonly ttr_ms: number | null;
  /** `null` for controls, which expect no diagnosis. */
  readonly diagnosis_correct: boolean | null;
  /** `null` when nothing was patched. */
  readonly patch_minimal: boolean | null;
  /** Why the run failed, one line per broken expectation; empty on a pass. */
  readonly failures: readonly string[];
}

export interface HarnessSummary {
  readonly total: number;
  readonly passed: number;
  readonly heal_success_rate: number | null;
  readonly false_heals: number;
  readonly false_alarms: number;
  readonly pass_all_repeats: boolean;
  readonly ttr_p50_ms: number | null;
  readonly ttr_p95_ms: number | null;
}

export interface HarnessOptions {
  readonly system: LocalSystem;
  readonly adminToken: string;
  readonly webhookSecret: string;
  readonly scenarios: readonly Scenario[];
  readonly repeat?: number;
  /** Called after each run, for a progress display. */
  readonly onResult?: (result: ScenarioResult) => void;
}

const POLL_MS = 20;
/** Consecutive drained polls after which a run without a heal counts as settled. */
const QUIET_POLLS = 5;
const DEFAULT_TIMEOUT_MS = 10_000;
/** SKUs outside the damaged set whose API answers are checked each run. */
const HEALTH_SAMPLE = 24;

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Runs every scenario `repeat` times; results in run order (scenario by scenario). */
export async function runHarness(options: HarnessOptions): Promise<ScenarioResult[]> {
  const repeat = options.repeat ?? 1;
  // One `updated_at` for every push of the run, so a fault run and its fault-free twin store
  // byte-identical records wherever the fault did no damage.
  const at = new Date().toISOString();
  const results: ScenarioResult[] = [];
  for (const scenario of options.scenarios) {
    const baseline = await faultFreeRun(options, scenario, at);
    for (let index = 1; index <= repeat; index++) {
      const result = await runOnce(options, scenario, baseline, at, index);
      results.push(result);
      options.onResult?.(result);
    }
  }
  await reset(options);
  return results;
}

/** Whether every stage's input stream is drained right now. */
async function isIdle(system: LocalSystem): Promise<boolean> {
  const stats = await Promise.all(
    topology.map((stage) => system.ports.bus.stats(stage.input, stage.name)),
  );
  return stats.every((s) => s.lag === 0 && s.pending === 0);
}

/** Waits until every stage's input stream is drained, twice in a row. */
export async function waitIdle(system: LocalSystem, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  while (quiet < 2) {
    if (Date.now() > deadline) return false;
    quiet = (await isIdle(system)) ? quiet + 1 : 0;
    await sleep(50);
  }
  return true;
}

async function reset(options: HarnessOptions): Promise<void> {
  const { system } = options;
  await waitIdle(system, 30_000);
  const response = await fetch(new URL('/api/scenarios/reset', system.url), {
    method: 'POST',
    headers: { authorization: `Bearer ${options.adminToken}` },
  });
  if (response.status !== 200) throw new Error(`reset answered ${response.status}`);
}

/** The records after the scenario's workload with no fault in it. */
async function faultFreeRun(
  options: HarnessOptions,
  scenario: Scenario,
  at: string,
): Promise<RecordView> {
  const { system } = options;
  await reset(options);
  await injectScenario(scenario, {
    shop: system.shop,
    baseUrl: system.url,
    webhookSecret: options.webhookSecret,
    at,
    faultFree: true,
  });
  await waitIdle(system, scenario.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  return readRecords(system.shop);
}

async function runOnce(
  options: HarnessOptions,
  scenario: Scenario,
  baseline: RecordView,
  at: string,
  repeat: number,
): Promise<ScenarioResult> {
  const { system } = options;
  const { shop, ports } = system;
  const timeoutMs = scenario.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  await reset(options);
  const signalsBefore = new Set((await ports.store.listSignals({ limit: 500 })).map((s) => s.id));
  const incidentsBefore = new Set(
    (await ports.store.listIncidents({ limit: 500 })).map((i) => i.id),
  );
  const affected = scenario.affected();

  let started = performance.now();
  await injectScenario(scenario, {
    shop,
    baseUrl: system.url,
    webhookSecret: options.webhookSecret,
    at,
    onFaultStart: () => {
      started = performance.now();
    },
  });
  const injected = shop.deployer.active()?.release.id;

  const newSignals = async () =>
    (await ports.store.listSignals({ limit: 500 })).filter((s) => !signalsBefore.has(s.id));
  const restored = async () => {
    if (affected.length === 0) return false;
    const now = await readRecords(shop, affected);
    const diff = compareRecords(baseline, now, affected);
    return diff.differing.length + diff.missing.length + diff.extra.length === 0;
  };

  // Watch until the outcome settles: restored (a heal) or the pipeline idle with the fault
  // noticed (or, for a control, simply idle).
  let ttd: number | null = null;
  let ttr: number | null = null;
  let quiet = 0;
  const deadline = started + timeoutMs;
  while (performance.now() < deadline) {
    if (ttd === null && (await newSignals()).length > 0) ttd = performance.now() - started;
    if (ttr === null && shop.deployer.active()?.release.id !== injected && (await restored())) {
      ttr = performance.now() - started;
    }
    if (ttr !== null) break;
    // Settled without a heal: the pipeline stayed drained for a few polls after the fault was
    // noticed (or, for a control, after the workload went through).
    quiet = (await isIdle(system)) ? quiet + 1 : 0;
    if (quiet >= QUIET_POLLS && (scenario.expected === 'none' || ttd !== null)) break;
    await sleep(POLL_MS);
  }
  await waitIdle(system, Math.max(1_000, deadline - performance.now()));
  if (ttd === null && (await newSignals()).length > 0) ttd = performance.now() - started;
  // An outage ends with the run, so the health checks below see the shop as customers will.
  shop.setAvailable(true);

  const failures: string[] = [];
  const active = shop.deployer.active()?.release.id;
  const patched = active !== injected;
  const records = await readRecords(shop);
  const damaged = new Set(affected);
  const affectedDiff = compareRecords(baseline, records, affected);
  const invariant =
    affected.length > 0 &&
    affectedDiff.differing.length + affectedDiff.missing.length === 0 &&
    (await contractBreaks(shop, affected)).length === 0;
  const outcome: Outcome = patched
    ? invariant
      ? 'healed'
      : 'patched_unrestored'
    : ttd !== null
      ? 'escalated'
      : 'none';
  if (outcome !== scenario.expected) {
    failures.push(`outcome ${outcome}, expected ${scenario.expected}`);
  }
  if (scenario.expected === 'healed' && !invariant) {
    const sku = [...affectedDiff.differing, ...affectedDiff.missing][0];
    failures.push(
      sku === undefined
        ? 'the damaged records break the contract'
        : `damage left: ${sku} is ${records.get(sku) ?? 'missing'}, fault-free ${baseline.get(sku)}`,
    );
  }

  // Global health: no record outside the damage differs from the fault-free run (for a heal,
  // none at all), and the API answers within contract.
  const elsewhere = [...new Set([...baseline.keys(), ...records.keys()])].filter(
    (sku) => scenario.expected === 'healed' || !damaged.has(sku),
  );
  const global = compareRecords(baseline, records, elsewhere);
  const changed = global.differing.length + global.missing.length + global.extra.length;
  if (changed > 0) {
    failures.push(
      `${changed} record(s) differ from the fault-free run (first: ${[...global.differing, ...global.missing, ...global.extra].slice(0, 3).join(', ')})`,
    );
  }
  const checked = [
    ...(scenario.expected === 'healed' ? sample(affected, HEALTH_SAMPLE) : []),
    ...sample([...baseline.keys()].filter((sku) => !damaged.has(sku)).sort(), HEALTH_SAMPLE),
  ];
  const apiFailures = await callApi(shop, system.url, checked);
  if (apiFailures.length > 0) {
    const first = apiFailures[0];
    failures.push(
      `${apiFailures.length} API call(s) failed (first: ${first?.probe} ${first?.sku} → ${first?.status} ${first?.reason})`,
    );
  }

  const incidents = (await ports.store.listIncidents({ limit: 500 })).filter(
    (i) => !incidentsBefore.has(i.id),
  );
  // The patches as proposed (read only to score them, like the diagnosis).
  const diffs = incidents.flatMap((i) => {
    const diff = (i.patch as { diff?: unknown } | null)?.diff;
    return typeof diff === 'string' ? [diff] : [];
  });
  const fields = scenario.diagnoses.flatMap((d) => (d.field ? [d.field] : []));
  return {
    id: scenario.id,
    class: scenario.class,
    expected: scenario.expected,
    outcome,
    pass: failures.length === 0,
    repeat,
    ttd_ms: ttd === null ? null : Math.round(ttd),
    ttr_ms: outcome === 'healed' && ttr !== null ? Math.round(ttr) : null,
    diagnosis_correct:
      scenario.expected === 'none' ? null : diagnosisCorrect(scenario.diagnoses, incidents),
    patch_minimal:
      patched && diffs.length > 0 ? diffs.every((diff) => patchMinimal(diff, fields)) : null,
    failures,
  };
}

/** The harness's scores over all runs. */
export function summarize(
  results: readonly ScenarioResult[],
  percentile: (values: readonly number[], fraction: number) => number | null,
): HarnessSummary {
  const toHeal = results.filter((r) => r.expected === 'healed');
  const ttrs = results.flatMap((r) =>
    r.outcome === 'healed' && r.ttr_ms !== null ? [r.ttr_ms] : [],
  );
  const byScenario = new Map<string, boolean>();
  for (const r of results) byScenario.set(r.id, (byScenario.get(r.id) ?? true) && r.pass);
  return {
    total: results.length,
    passed: results.filter((r) => r.pass).length,
    heal_success_rate:
      toHeal.length === 0
        ? null
        : toHeal.filter((r) => r.outcome === 'healed' && r.pass).length / toHeal.length,
    false_heals: results.filter(
      (r) => r.expected !== 'healed' && r.outcome !== 'escalated' && r.outcome !== 'none',
    ).length,
    false_alarms: results.filter((r) => r.expected === 'none' && r.ttd_ms !== null).length,
    pass_all_repeats: [...byScenario.values()].every(Boolean),
    ttr_p50_ms: percentile(ttrs, 0.5),
    ttr_p95_ms: percentile(ttrs, 0.95),
  };
}
