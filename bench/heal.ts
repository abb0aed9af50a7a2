/**
 * `npm run bench:heal -- --json [--runs 30] [--embedded]`: the whole loop, end to end, on the
 * return-policy fault. Each run resets the demo shop, injects `return-policy-sync` through the
 * real signed webhook and waits, without touching anything else, for the incident to close.
 * Every figure comes from the incident as the pipeline recorded it: `ttd_ms` (fault onset to
 * first signal) and `ttr_ms` (onset to healed), and the measured duration of each stage's step.
 * As a same-run cross-check the benchmark also times, on its own clock, from the inject request
 * to seeing the incident healed.
 *
 * Runs against real Redis, Postgres and DynamoDB Local (started from the npm package);
 * `--embedded` uses the embedded stores instead. The circuit breaker is raised for the run
 * (a policy file in a temporary directory) since the benchmark heals on purpose many times an
 * hour; every other policy rule is the default.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Incident, IncidentSummary } from '../functions/ports/trace-store.js';
import type { LocalSystem } from '../infra/local/system.js';
import { type IsolatedSystem, startIsolatedSystem } from './isolated-system.js';
import { percentile, round } from './support.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    runs: { type: 'string', default: '30' },
    embedded: { type: 'boolean', default: false },
  },
});
const runs = Number(args.runs);
if (!Number.isInteger(runs) || runs < 1) {
  console.error('bench:heal: --runs must be a positive integer');
  process.exit(1);
}
const p = (values: readonly number[], fraction: number) =>
  round(
    percentile(
      [...values].sort((a, b) => a - b),
      fraction,
    ),
    1,
  );

const policyDir = mkdtempSync(path.join(tmpdir(), 'bench-heal-'));
const policyFile = path.join(policyDir, 'policy.json');
writeFileSync(policyFile, JSON.stringify({ heals_per_hour: 100_000 }));

const CLOSED = new Set(['healed', 'rolled_back', 'failed', 'escalated', 'rejected']);
const WAITING = new Set(['awaiting_approval', 'verification_failed']);

async function admin(system: LocalSystem, route: string): Promise<Response> {
  return fetch(new URL(route, system.url), {
    method: 'POST',
    headers: { authorization: `Bearer ${system.ports.config.SELFHEAL_ADMIN_TOKEN}` },
  });
}

/** Injects the fault and waits for the incident it opens to close (or to need a person). */
async function oneRun(system: LocalSystem, known: Set<string>) {
  const reset = await admin(system, '/api/scenarios/reset');
  if (reset.status !== 200) throw new Error(`reset answered ${reset.status}`);
  const started = performance.now();
  const inject = await admin(system, '/api/scenarios/return-policy-sync/inject');
  if (inject.status !== 202) throw new Error(`inject answered ${inject.status}`);
  const deadline = Date.now() + 30_000;
  let incident: IncidentSummary | undefined;
  while (Date.now() < deadline) {
    const incidents = await system.ports.store.listIncidents({ limit: 5 });
    incident = incidents.find((i) => !known.has(i.id) && i.fields.includes('return_policy'));
    if (incident && (CLOSED.has(incident.status) || WAITING.has(incident.status))) break;
    await new Promise((done) => setTimeout(done, 10));
  }
  const wall = performance.now() - started;
  if (!incident) throw new Error('no incident opened within 30 s');
  known.add(incident.id);
  const full = await system.ports.store.getIncident(incident.id);
  return { incident: full ?? incident, wall };
}

let isolated: IsolatedSystem | undefined;
let exitCode = 0;
try {
  isolated = await startIsolatedSystem({
    name: 'bench:heal',
    embedded: args.embedded,
    env: { SELFHEAL_POLICY_FILE: policyFile },
  });
  const { system } = isolated;
  const known = new Set<string>();
  const ttd: number[] = [];
  const ttr: number[] = [];
  const walls: number[] = [];
  const stages = new Map<string, number[]>();
  const outcomes: Record<string, number> = {};
  for (let run = 0; run < runs; run++) {
    const { incident, wall } = await oneRun(system, known);
    outcomes[incident.status] = (outcomes[incident.status] ?? 0) + 1;
    if (incident.ttd_ms !== null) ttd.push(incident.ttd_ms);
    if (incident.status === 'healed' && incident.ttr_ms !== null) {
      ttr.push(incident.ttr_ms);
      walls.push(wall);
    }
    for (const step of (incident as Partial<Incident>).steps ?? []) {
      stages.set(step.stage, [...(stages.get(step.stage) ?? []), step.duration_ms]);
    }
    if (!args.json) {
      for (const step of (incident as Partial<Incident>).steps ?? []) {
        const d = step.detail as Record<string, unknown>;
        if (step.stage === 'verify' || step.stage === 'heal') {
          const { timings, build_ms, sandbox_ms, sandbox_warm, scan_ms, items_ms, checks } = d;
          console.log(
            `  ${step.stage} ${step.duration_ms.toFixed(0)} ms`,
            JSON.stringify({
              timings,
              build_ms,
              sandbox_ms,
              sandbox_warm,
              scan_ms,
              items_ms,
              checks,
            }),
          );
        }
      }
      const steps = ((incident as Partial<Incident>).steps ?? []).filter((step) =>
        ['validator', 'rca', 'patch', 'guard', 'verify', 'heal'].includes(step.stage),
      );
      console.log(
        '  steps',
        steps
          .map(
            (step) =>
              `${step.stage}@${step.started_at.slice(17, 23)}+${step.duration_ms.toFixed(0)}`,
          )
          .join(' '),
        'onset',
        incident.onset_at?.slice(17, 23),
        'healed',
        incident.healed_at?.slice(17, 23),
      );
      console.log(
        `run ${run + 1}: ${incident.status} ttd=${incident.ttd_ms ?? '-'} ms ttr=${incident.ttr_ms ?? '-'} ms`,
      );
    }
  }
  const result = {
    runs,
    healed: outcomes.healed ?? 0,
    outcomes,
    stores: isolated.stores,
    ttd_p50_ms: p(ttd, 0.5),
    ttd_p95_ms: p(ttd, 0.95),
    ttr_p50_ms: p(ttr, 0.5),
    ttr_p95_ms: p(ttr, 0.95),
    inject_to_healed_p50_ms: p(walls, 0.5),
    stages: Object.fromEntries(
      [...stages].map(([stage, durations]) => [stage, { p50_ms: p(durations, 0.5) }]),
    ),
    targets: { ttr_p50_ms: 500, ttr_p95_ms: 1000, ttd_p95_ms: 200 },
  };
  console.log(args.json ? JSON.stringify(result) : JSON.stringify(result, null, 2));
  if (result.healed !== runs) exitCode = 1;
} catch (error) {
  console.error(`bench:heal: ${(error as Error).message}`);
  exitCode = 1;
} finally {
  await isolated?.dispose().catch(() => undefined);
  rmSync(policyDir, { recursive: true, force: true });
}
process.exit(exitCode);
