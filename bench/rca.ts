/**
 * `npm run bench:rca -- --json [--runs 50]`: diagnosis and patch for the return-policy incident,
 * warm. The incident is produced for real first (the embedded system, release R2, the nightly
 * push through the signed webhook); then the rca work (gathering the evidence: the push's delta,
 * static analysis of the mapper, the release diff; applying the rules) and the patch work (the
 * AST template, the lazy-edit merge, the unified diff) are timed `--runs` times on that real
 * signal. Prints `{ runs, rca_p50_ms, rca_p95_ms, patch_p50_ms, patch_p95_ms }`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createTwoFilesPatch } from 'diff';
import { LocalApplier } from '../functions/patch/appliers/local-applier.js';
import { planPatch } from '../functions/patch/templates.js';
import { gatherFacts } from '../functions/rca/facts.js';
import { diagnose } from '../functions/rca/rules.js';
import { parseConfig } from '../functions/runtime/config.js';
import { createLogger } from '../functions/runtime/logger.js';
import { startLocalSystem } from '../infra/local/system.js';
import { freePort } from '../test/support/runtime.js';
import { percentile, round } from './support.js';

const { values: args } = parseArgs({
  options: { json: { type: 'boolean', default: false }, runs: { type: 'string', default: '50' } },
});
const runs = Number(args.runs);
/** The fraction-th percentile of samples, in ms with two decimals. */
const p = (values: number[], fraction: number) =>
  round(
    percentile(
      [...values].sort((a, b) => a - b),
      fraction,
    ),
    2,
  );

// The fault is held for approval, so release R2 stays live while the work on its signal is
// timed: a heal going live meanwhile would change the mapper the evidence is gathered from.
const policyDir = mkdtempSync(path.join(tmpdir(), 'bench-rca-'));
const policyFile = path.join(policyDir, 'policy.json');
writeFileSync(policyFile, JSON.stringify({ autonomy: { 'dropped-field': 'propose' } }));

const config = parseConfig({
  PORT: String(await freePort()),
  LOG_LEVEL: 'silent',
  PROBE_INTERVAL_MS: '3600000',
  SELFHEAL_POLICY_FILE: policyFile,
});
const system = await startLocalSystem(config, createLogger('silent'));
try {
  const inject = await fetch(new URL('/api/scenarios/return-policy-sync/inject', system.url), {
    method: 'POST',
    headers: { authorization: `Bearer ${config.SELFHEAL_ADMIN_TOKEN}` },
  });
  if (inject.status !== 202) throw new Error(`inject answered ${inject.status}`);
  const { push_id: pushId } = (await inject.json()) as { push_id: string };
  const deadline = Date.now() + 20_000;
  let signal: Awaited<ReturnType<typeof system.ports.store.listSignals>>[number] | undefined;
  while (!signal && Date.now() < deadline) {
    const signals = await system.ports.store.listSignals({ limit: 50 });
    signal = signals.find((s) => s.kind === 'SchemaMismatch' && s.data.push_id === pushId);
    if (!signal) await new Promise((done) => setTimeout(done, 50));
  }
  if (!signal) throw new Error('the validator signal never came');
  const data = signal.data as {
    field: string;
    skus: string[];
    sku_count: number;
    samples: Array<{ sku: string; value: unknown }>;
    release_id?: string;
    push_id?: string;
  };
  const facts = {
    kind: signal.kind,
    field: data.field,
    skus: data.skus,
    sku_count: data.sku_count,
    samples: data.samples,
    ...(data.release_id ? { release_id: data.release_id } : {}),
    ...(data.push_id ? { push_id: data.push_id } : {}),
  };
  const target = system.shop;
  const source = target.deployer.active()?.release.source ?? '';
  const { file, export: exportName } = target.manifest.mapper;
  const contractOrder = Object.keys(
    (target.manifest.recordContract as unknown as { shape: object }).shape,
  );
  const applier = new LocalApplier();

  const rcaMs: number[] = [];
  const patchMs: number[] = [];
  let faultClass = '';
  let added = 0;
  for (let run = 0; run < runs + 5; run += 1) {
    const t0 = performance.now();
    const finding = diagnose(await gatherFacts(system.ports, target, facts));
    const t1 = performance.now();
    const plan = planPatch({
      fault_class: finding.fault_class,
      source,
      fileName: file,
      exportName,
      fields: {
        field: data.field,
        ...(finding.sourcePath ? { sourcePath: finding.sourcePath } : {}),
      },
      contractOrder,
    });
    if (!plan.ok) throw new Error(`no patch: ${plan.reason}`);
    const merged = await applier.apply({
      instruction: plan.instruction,
      original: source,
      snippet: plan.snippet,
      path: file,
    });
    if (!merged.ok || merged.merged !== plan.expected) throw new Error('merge failed');
    const diff = createTwoFilesPatch(`a/${file}`, `b/${file}`, source, merged.merged);
    const t2 = performance.now();
    // The first runs warm the caches and the JIT; they are not counted.
    if (run >= 5) {
      rcaMs.push(t1 - t0);
      patchMs.push(t2 - t1);
    }
    faultClass = finding.fault_class;
    added = diff.split('\n').filter((l) => l.startsWith('+') && !l.startsWith('+++')).length;
  }
  const result = {
    runs,
    fault_class: faultClass,
    lines_added: added,
    rca_p50_ms: p(rcaMs, 0.5),
    rca_p95_ms: p(rcaMs, 0.95),
    patch_p50_ms: p(patchMs, 0.5),
    patch_p95_ms: p(patchMs, 0.95),
  };
  if (args.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    process.stdout.write(
      `rca: p50 ${result.rca_p50_ms} ms, p95 ${result.rca_p95_ms} ms (target p95 <= 100)\n` +
        `patch: p50 ${result.patch_p50_ms} ms, p95 ${result.patch_p95_ms} ms (target p95 <= 150)\n` +
        `${runs} runs, ${faultClass}, ${added} line(s) added\n`,
    );
  }
} finally {
  await system.stop();
  rmSync(policyDir, { recursive: true, force: true });
}
