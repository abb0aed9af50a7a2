import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { applyPatch } from 'diff';
import { createEvent, type DataOf, type EventOf } from '../../events/index.js';
import { streams } from '../../infra/topology.js';
import { loadProposal } from '../guard/proposals.js';
import type { Ports } from '../runtime/ports.js';
import { requireTarget } from '../runtime/require-target.js';
import type { StageCore, StageResult } from '../runtime/stage-handler.js';
import { evenSample, scanRecords } from '../target/damage.js';
import type { TargetRequest } from '../target/define-target.js';
import { buildRelease, type Release, ReleaseBuildError } from '../target/releases.js';
import type { TargetRuntime } from '../target/target-runtime.js';
import { markPendingHeal, pendingHealAhead, saveCandidate } from './candidates.js';
import { buildSandboxHarness, runSandbox } from './sandbox/run-sandbox.js';

type Check = DataOf<'verification'>['checks'][number];

/** What an incident keeps of the signals that joined it. */
interface DiagnosisSnapshot {
  readonly signals?: ReadonlyArray<{
    readonly kind?: string;
    readonly request?: TargetRequest;
    readonly skus?: readonly string[];
  }>;
}

/** The SKUs the incident's data signals found broken, without repeats. */
function signalledSkus(diagnosis: unknown): string[] {
  const skus = new Set<string>();
  for (const signal of (diagnosis as DiagnosisSnapshot | null)?.signals ?? []) {
    if (signal.kind === 'DependencyDown') continue;
    for (const sku of signal.skus ?? []) skus.add(sku);
  }
  return [...skus].sort();
}

/**
 * The damaged SKUs, every stored SKU, and the catalog items of the damaged ones. The sensors
 * already named the damaged SKUs, so the records need not be read, only the index, and their
 * items are read beside it. Without named SKUs the records are scanned.
 */
async function damageOf(target: TargetRuntime, diagnosis: unknown) {
  const named = signalledSkus(diagnosis);
  if (named.length === 0) {
    return { ...(await scanRecords(target)), items: new Map<string, unknown>() };
  }
  const [skus, items] = await Promise.all([target.records.skus(), target.catalogItems(named)]);
  return { skus, damaged: named, items };
}

/** Damaged SKUs whose probes verification calls (each damaged record is checked either way). */
export const PROBED_SKUS = 20;

/** Where sandbox harnesses and runs live for this process. */
const sandboxDir = (ports: Ports) => path.resolve(ports.config.SELFHEAL_DATA_DIR, 'sandbox');

/** Where sandbox runs happen and how much heap they get, from the configuration. */
export const sandboxOptionsOf = (ports: Ports) => ({
  dir: sandboxDir(ports),
  maxOldSpaceMb: ports.config.SELFHEAL_VERIFY_MAX_OLD_SPACE_MB,
});

/** The harness of a target, built once per process (later calls are memoised). */
export const sandboxHarnessOf = (ports: Ports, target: TargetRuntime) =>
  buildSandboxHarness({
    repoRoot: target.repoRoot,
    module: target.manifest.sandbox,
    dir: sandboxDir(ports),
  });

/** The captured failing requests an incident holds, without repeats. */
function capturedRequests(diagnosis: unknown): TargetRequest[] {
  const seen = new Map<string, TargetRequest>();
  for (const signal of (diagnosis as DiagnosisSnapshot | null)?.signals ?? []) {
    if (signal.request) seen.set(JSON.stringify(signal.request), signal.request);
  }
  return [...seen.values()];
}

/** The id of a candidate: its base and the start of its content hash. */
const candidateId = (base: Release, hash: string) => `${base.id}-${hash.slice(0, 8)}`;

/**
 * Stage `verify`: builds the candidate release from the approved patch and proves it in a
 * sandboxed child process (Node's permission model, no writes, no child processes, no network,
 * a timeout and a heap cap): the captured failing requests and the probes for the damaged SKUs
 * are replayed against records the candidate mapped from their catalog items, the smoke cases
 * run, and a differential run over a sample of SKUs allows changes only in the diagnosed fields.
 * The verdict is stored per check; only a verified candidate is passed on to heal.
 */
export const verifyCore: StageCore<'guard.decision'> = async (event, ports, context) => {
  const target = requireTarget(ports, 'verify');
  const incidentId = event.incident_id;
  if (event.data.decision !== 'approved') {
    return {
      status: 'skipped',
      outputs: [],
      ...(incidentId ? { incident_id: incidentId } : {}),
      detail: { reason: `decision is ${event.data.decision}`, patch_id: event.data.patch_id },
    };
  }
  const stored = event.data.proposal ? undefined : await loadProposal(ports, event.data.patch_id);
  const proposal = event.data.proposal ?? stored?.proposal;
  const incidentRead = incidentId
    ? ports.store.getIncident(incidentId)
    : Promise.resolve(undefined);
  incidentRead.catch(() => undefined);

  const fail = (reason: string, extra: Record<string, unknown> = {}) =>
    finish(ports, {
      incidentId,
      patchId: event.data.patch_id,
      candidate: undefined,
      checks: [],
      reason,
      context,
      extra,
    });

  if (!proposal) return fail(`no proposal ${event.data.patch_id} to verify`);
  const base = target.release(proposal.base_release_id);
  const live = target.deployer.active()?.release;
  if (!base || !live) return fail(`base release ${proposal.base_release_id} is not available`);

  // The incident and the records are read while the candidate builds.
  const scanStarted = performance.now();
  const scanning = incidentRead.then(async (incident) => ({
    incident,
    scan: await damageOf(target, incident?.diagnosis),
    ms: performance.now() - scanStarted,
  }));
  scanning.catch(() => undefined);
  // Two faults in one push: another incident's candidate, verified on the live release, is
  // about to go live (heals run one at a time), so this one is built and judged on top of it.
  const ahead = await pendingHealAhead(ports, target, live, incidentId);
  const next = ahead ?? live;
  // Another heal went live (or is about to) since the patch was planned: the patch is carried
  // over onto that source, or refused when it does not apply there cleanly.
  let source = proposal.merged;
  let parent = base;
  if (base.id !== next.id) {
    const rebased = applyPatch(next.source, proposal.diff, { fuzzFactor: 2 });
    if (rebased === false) {
      return fail(`the patch was planned on ${base.id} and does not apply to ${next.id}`);
    }
    source = rebased;
    parent = next;
  }
  const buildStarted = performance.now();
  let candidate: Release;
  try {
    const built = await buildRelease({
      id: 'candidate',
      path: proposal.files[0] ?? target.manifest.mapper.file,
      sourceText: source,
      parent,
      repoRoot: target.repoRoot,
    });
    candidate = { ...built, id: candidateId(parent, built.hash) };
  } catch (error) {
    const message =
      error instanceof ReleaseBuildError ? error.errors.join('; ') : (error as Error).message;
    return fail(`candidate does not build: ${message}`);
  }
  const buildMs = performance.now() - buildStarted;

  const { scan, incident, ms: scanMs } = await scanning;
  const fields = event.data.fields ?? stored?.fields ?? incident?.fields ?? [];
  const sample = evenSample(scan.skus, ports.config.SELFHEAL_VERIFY_SAMPLE);
  const smokeSkus = target.manifest.smokeCases.flatMap((smoke) => smoke.skus ?? []);
  const wanted = [...new Set([...scan.damaged, ...sample, ...smokeSkus])];
  const itemsStarted = performance.now();
  const fetched = await target.catalogItems(wanted.filter((sku) => !scan.items.has(sku)));
  const itemsMs = performance.now() - itemsStarted;
  const catalog = new Map<string, unknown>();
  for (const sku of wanted) {
    const item = scan.items.get(sku) ?? fetched.get(sku);
    if (item !== undefined) catalog.set(sku, item);
  }
  const harness = await sandboxHarnessOf(ports, target);
  const affected = scan.damaged.filter((sku) => catalog.has(sku));
  const result = await runSandbox(
    {
      exportName: target.manifest.mapper.export,
      candidate: { id: candidate.id, bundle: candidate.bundle },
      live: { id: next.id, bundle: next.bundle },
      items: [...catalog].map(([sku, item]) => ({ sku, item })),
      affected,
      probed: evenSample(affected, PROBED_SKUS),
      sample: sample.filter((sku) => catalog.has(sku)),
      captured: capturedRequests(incident?.diagnosis),
      allowedFields: [...fields],
      now: new Date().toISOString(),
    },
    { ...sandboxOptionsOf(ports), harness, timeoutMs: ports.config.SELFHEAL_VERIFY_TIMEOUT_MS },
  );
  // A verified candidate is kept for heal (and marked as on its way, once kept) while the
  // verdict is written.
  const keeping = result.ok
    ? saveCandidate(ports, target.manifest.name, candidate).then(async () => {
        target.addRelease(candidate);
        if (incidentId) {
          await markPendingHeal(ports, target.manifest.name, {
            release_id: candidate.id,
            incident_id: incidentId,
          });
        }
      })
    : undefined;
  keeping?.catch(() => undefined);
  return finish(ports, {
    keeping,
    incidentId,
    patchId: event.data.patch_id,
    candidate,
    checks: result.checks,
    affected: scan.damaged,
    ...(result.error ? { reason: `sandbox ${result.error.reason}: ${result.error.message}` } : {}),
    context,
    extra: {
      build_ms: buildMs,
      scan_ms: scanMs,
      items_ms: itemsMs,
      sandbox_ms: result.duration_ms,
      sandbox_warm: result.warm,
      damaged: scan.damaged.length,
      sample: sample.length,
    },
  });
};

interface Finish {
  /** Keeping the verified candidate for heal: the verdict is published only once it is kept. */
  readonly keeping?: Promise<void> | undefined;
  readonly incidentId: string | undefined;
  readonly patchId: string;
  readonly candidate: Release | undefined;
  readonly checks: readonly Check[];
  readonly affected?: readonly string[];
  readonly reason?: string;
  readonly context: Parameters<StageCore<'guard.decision'>>[2];
  readonly extra: Record<string, unknown>;
}

/** Stores the verdict, moves the incident on and passes a verified candidate to heal. */
async function finish(ports: Ports, f: Finish): Promise<StageResult> {
  const ok = f.reason === undefined && f.checks.length > 0 && f.checks.every((c) => c.ok);
  const reason = ok ? undefined : (f.reason ?? failedChecks(f.checks));
  const verification: DataOf<'verification'> = {
    patch_id: f.patchId,
    candidate_release_id: f.candidate?.id ?? 'none',
    ok,
    checks: [...f.checks],
    ...(f.candidate?.parent_id ? { base_release_id: f.candidate.parent_id } : {}),
    ...(ok && f.affected ? { affected_skus: [...f.affected] } : {}),
    ...(reason ? { reason } : {}),
  };
  if (!f.incidentId) await f.keeping;
  else {
    // Independent writes, at once: the verdict waits on none of them.
    await Promise.all([
      f.keeping,
      ports.store.recordVerification({
        id: `ver_${f.context.idFor(0).slice(0, 20)}`,
        incident_id: f.incidentId,
        patch_id: f.patchId,
        release_id: f.candidate?.id ?? null,
        passed: ok,
        checks: f.checks.map((check) => ({
          name: check.name,
          passed: check.ok,
          duration_ms: check.duration_ms,
          detail: {
            passed: check.passed,
            failed: check.failed,
            first_failures: check.first_failures,
          },
        })),
        created_at: new Date().toISOString(),
      }),
      ports.store.updateIncident(f.incidentId, {
        status: ok ? 'verified' : 'verification_failed',
        verification,
      }),
      ports.store.appendAudit({
        actor: 'verify',
        action: ok ? 'verification.passed' : 'verification.failed',
        incident_id: f.incidentId,
        detail: {
          patch_id: f.patchId,
          candidate: f.candidate?.id ?? null,
          hash: f.candidate?.hash ?? null,
          checks: f.checks.map(({ name, ok: passed, passed: n, failed }) => ({
            name,
            ok: passed,
            passed: n,
            failed,
          })),
          ...(reason ? { reason } : {}),
        },
      }),
    ]);
  }
  const event: EventOf<'verification'> = createEvent('verification', verification, {
    source: 'verify',
    id: f.context.idFor(1),
    ...(f.incidentId ? { incidentId: f.incidentId } : {}),
  });
  return {
    status: ok ? 'ok' : 'failed',
    outputs: ok ? [{ stream: streams.verified, event }] : [],
    ...(f.incidentId ? { incident_id: f.incidentId } : {}),
    detail: {
      patch_id: f.patchId,
      candidate: f.candidate?.id ?? null,
      ok,
      checks: f.checks.map(({ name, ok: passed, passed: n, failed, duration_ms }) => ({
        name,
        ok: passed,
        passed: n,
        failed,
        duration_ms,
      })),
      ...(reason ? { reason } : {}),
      ...f.extra,
    },
  };
}

const failedChecks = (checks: readonly Check[]) =>
  checks.length === 0
    ? 'no check ran'
    : checks
        .filter((check) => !check.ok)
        .map((check) => `${check.name}: ${check.first_failures[0] ?? `${check.failed} failed`}`)
        .join('; ');
