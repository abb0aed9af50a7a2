/**
 * `npm run scenarios -- [--json] [--only id,...] [--repeat N] [--embedded] [--policy file]`:
 * the evaluation harness. Starts the local system (real Redis, Postgres and DynamoDB Local in a
 * namespace of its own; `--embedded`: the embedded stores), runs the fault library through it and
 * prints one JSON object `{ scenarios, summary }`. A progress bar goes to stderr; with `--json`,
 * stdout holds only the JSON. The result is also stored in the trace store, where the dashboard's
 * Metrics view reads the latest run. Exits 1 when a scenario fails.
 *
 * The policy is the default one with the circuit breaker raised (the harness heals on purpose
 * many times an hour); `--policy` replaces it, e.g. to show the harness failing when a fault
 * class is not allowed to heal.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SingleBar } from 'cli-progress';
import { type IsolatedSystem, startIsolatedSystem } from '../bench/isolated-system.js';
import { percentile, round } from '../bench/support.js';
import { runHarness, type ScenarioResult, summarize } from './harness.js';
import { findScenario, SCENARIO_LIBRARY } from './index.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    only: { type: 'string' },
    repeat: { type: 'string', default: '1' },
    embedded: { type: 'boolean', default: false },
    policy: { type: 'string' },
  },
});
const repeat = Number(args.repeat);
if (!Number.isInteger(repeat) || repeat < 1) {
  console.error('scenarios: --repeat must be a positive integer');
  process.exit(2);
}
const wanted = args.only
  ?.split(',')
  .map((id) => id.trim())
  .filter(Boolean);
const unknown = wanted?.filter((id) => !findScenario(id)) ?? [];
if (unknown.length > 0) {
  console.error(`scenarios: no scenario ${unknown.join(', ')} (see scenarios/library)`);
  process.exit(2);
}
const scenarios = wanted
  ? SCENARIO_LIBRARY.filter((scenario) => wanted.includes(scenario.id))
  : SCENARIO_LIBRARY;

const policyDir = mkdtempSync(path.join(tmpdir(), 'scenarios-'));
const policyFile = args.policy ?? path.join(policyDir, 'policy.json');
if (!args.policy) writeFileSync(policyFile, JSON.stringify({ heals_per_hour: 100_000 }));

const p = (values: readonly number[], fraction: number) =>
  values.length === 0
    ? null
    : round(
        percentile(
          [...values].sort((a, b) => a - b),
          fraction,
        ),
        1,
      );

let isolated: IsolatedSystem | undefined;
let exitCode = 0;
const bar = new SingleBar({
  stream: process.stderr,
  format: 'scenarios [{bar}] {value}/{total} {last}',
  hideCursor: true,
  noTTYOutput: !process.stderr.isTTY,
  notTTYSchedule: 5_000,
});
try {
  isolated = await startIsolatedSystem({
    name: 'scenarios',
    embedded: args.embedded,
    env: { SELFHEAL_POLICY_FILE: policyFile },
  });
  const { system, config } = isolated;
  const startedAt = new Date().toISOString();
  bar.start(scenarios.length * repeat, 0, { last: '' });
  const results = await runHarness({
    system,
    adminToken: config.SELFHEAL_ADMIN_TOKEN,
    webhookSecret: config.SELFHEAL_WEBHOOK_SECRET,
    scenarios,
    repeat,
    onResult: (result: ScenarioResult) =>
      bar.increment({ last: `${result.id} ${result.pass ? 'pass' : 'FAIL'}` }),
  });
  bar.stop();
  const summary = summarize(results, p);
  const output = {
    scenarios: results,
    summary,
    stores: isolated.stores,
    repeat,
    targets: { pass_all_repeats: true, false_heals: 0, false_alarms: 0, ttr_p95_ms: 1000 },
  };
  await system.ports.store.recordEvaluation({
    id: randomUUID(),
    started_at: startedAt,
    finished_at: new Date().toISOString(),
    stores: isolated.stores,
    summary: { ...summary, repeat },
    scenarios: results.map((result) => ({ ...result })),
  });
  if (args.json) console.log(JSON.stringify(output));
  else {
    for (const r of results) {
      console.log(
        `${r.pass ? 'pass' : 'FAIL'} ${r.id} #${r.repeat}: ${r.outcome} (expected ${r.expected}) ttd=${r.ttd_ms ?? '-'} ttr=${r.ttr_ms ?? '-'} diagnosis=${r.diagnosis_correct ?? '-'} minimal=${r.patch_minimal ?? '-'}${r.failures.length > 0 ? `\n    ${r.failures.join('\n    ')}` : ''}`,
      );
    }
    console.log(JSON.stringify(summary, null, 2));
  }
  if (results.some((r) => !r.pass)) exitCode = 1;
} catch (error) {
  bar.stop();
  console.error(`scenarios: ${(error as Error).stack ?? String(error)}`);
  exitCode = 1;
} finally {
  await isolated?.dispose().catch(() => undefined);
  rmSync(policyDir, { recursive: true, force: true });
}
process.exit(exitCode);
