import { performance } from 'node:perf_hooks';
import { createEvent, type DataOf, parseEvent } from '../../events/index.js';
import { streams } from '../../infra/topology.js';
import { runProbes } from '../probe/run-probes.js';
import type { Ports } from '../runtime/ports.js';
import { requireTarget, targetBaseUrl } from '../runtime/require-target.js';
import type { StageCore, StageResult } from '../runtime/stage-handler.js';
import type { StoredProduct } from '../shop/product-store.js';
import { brokenFields, recordsHash, scanRecords } from '../target/damage.js';
import type { ResyncDeps } from '../target/define-target.js';
import type { Release } from '../target/releases.js';
import type { TargetRuntime } from '../target/target-runtime.js';
import { clearPendingHeal, findRelease } from '../verify/candidates.js';
import {
  claimHeal,
  type HealState,
  loadBackup,
  readHealState,
  saveBackup,
  updateHealState,
} from './heal-state.js';

/** SKUs re-synced per batch (one records write per batch). */
export const BACKFILL_BATCH = 100;
/** Repaired SKUs probed live after a heal, besides those named by captured requests. */
const REPROBE_SKUS = 5;

type Outcome = DataOf<'heal.outcome'>;

/** What a backfill pass did: the state it left and the first failures. */
interface Backfill {
  readonly state: HealState;
  readonly failures: string[];
  readonly batches: number;
}

/**
 * Re-syncs `state.skus` from their catalog items through the active release, in batches,
 * resuming after `state.backfilled` SKUs; a SKU the mapper cannot turn into a valid record is
 * counted and left as it was (never replaced by another broken record).
 */
async function backfill(
  ports: Ports,
  target: TargetRuntime,
  initial: HealState,
  incidentId: string,
  toleratesBroken: ResyncDeps['toleratesBroken'],
  prefetched: ReadonlyMap<string, unknown> = new Map(),
): Promise<Backfill> {
  const mapper = target.deployer.active()?.mapper;
  if (!mapper) throw new Error('no active release to backfill through');
  let state = initial;
  const failures: string[] = [];
  let batches = 0;
  for (let start = state.backfilled; start < state.skus.length; start += BACKFILL_BATCH) {
    const batch = state.skus.slice(start, start + BACKFILL_BATCH);
    const items = batch.every((sku) => prefetched.has(sku))
      ? prefetched
      : await target.catalogItems(batch);
    const writes: StoredProduct[] = [];
    let { repaired, failed } = state;
    for (const sku of batch) {
      const result = await target.manifest.resync(sku, {
        snapshotOf: async (wanted) => items.get(wanted),
        write: async (product) => {
          writes.push(product);
        },
        mapper,
        now: () => new Date(),
        ...(toleratesBroken ? { toleratesBroken } : {}),
      });
      if (result.ok) repaired += 1;
      else {
        failed += 1;
        if (failures.length < 5) failures.push(`${sku}: ${result.reason}`);
      }
    }
    await target.records.put(writes);
    batches += 1;
    state = await updateHealState(ports, incidentId, state, {
      backfilled: start + batch.length,
      repaired,
      failed,
    });
  }
  return { state, failures, batches };
}

/** How far before the fault's onset writes of the broken release are looked for. */
const WRITES_BEFORE_ONSET_MS = 5 * 60_000;

/**
 * The SKUs a release wrote since `sinceMs`, as the target announced its writes on
 * `target.writes` (every write is announced: it is how the validator sees it). Reading the
 * announcements costs one range read however large the catalog is, unlike a scan of every record.
 */
async function writtenBy(ports: Ports, releaseId: string, sinceMs: number): Promise<string[]> {
  const skus = new Set<string>();
  let after = `${Math.max(0, Math.floor(sinceMs))}-0`;
  for (;;) {
    const entries = await ports.bus.range(streams.targetWrites, after, 1_000);
    for (const entry of entries) {
      const parsed = parseEvent(entry.body, ['target.write']);
      if (parsed.ok && parsed.event.data.release_id === releaseId) {
        for (const sku of parsed.event.data.skus) skus.add(sku);
      }
    }
    const last = entries.at(-1);
    if (!last || entries.length < 1_000) break;
    after = last.id;
  }
  return [...skus];
}

/** SKUs a captured request names (`body.sku`), for the live re-probe. */
function capturedSkus(diagnosis: unknown): string[] {
  const signals =
    (diagnosis as { signals?: Array<{ request?: { body?: unknown } }> } | null)?.signals ?? [];
  const skus = signals
    .map((signal) => (signal.request?.body as { sku?: unknown } | undefined)?.sku)
    .filter((sku): sku is string => typeof sku === 'string');
  return [...new Set(skus)];
}

/**
 * Puts the target back as it was before the heal: the records it replaced (and deletes those
 * it created) and the previous release, then proves it by content hashes.
 */
export async function restoreTarget(
  ports: Ports,
  target: TargetRuntime,
  state: HealState,
  incidentId: string,
): Promise<{ ok: boolean; release_hash: string; records_hash: string; message?: string }> {
  const backup = await loadBackup(ports, incidentId, state);
  await target.records.restore(backup);
  const previous = await findRelease(ports, target, state.previous_release_id);
  if (!previous) {
    return {
      ok: false,
      release_hash: target.deployer.active()?.release.hash ?? '',
      records_hash: '',
      message: `previous release ${state.previous_release_id} is gone`,
    };
  }
  const activation = await target.deployer.activate(previous);
  const after = await target.records.snapshot(state.skus);
  const releaseHash = target.deployer.active()?.release.hash ?? '';
  const recordsAfter = recordsHash(after.products);
  const ok =
    activation.ok &&
    releaseHash === state.previous_release_hash &&
    recordsAfter === state.records_hash_before;
  return {
    ok,
    release_hash: releaseHash,
    records_hash: recordsAfter,
    ...(ok ? {} : { message: 'target differs from its state before the heal' }),
  };
}

/**
 * Stage `heal`: ships a verified release and repairs the data. Once per incident (a claim in the
 * key-value store turns a second verified patch into a no-op), it saves the damaged records,
 * activates the candidate through the deployer, backfills the damaged records through it in
 * batches (resumable: progress is kept per batch), re-validates the repaired records and probes
 * the target live. If any of that fails it rolls back the release and the records, and proves the
 * target is byte-identical to before by content hashes.
 */
export const healCore: StageCore<'verification'> = async (event, ports, context) => {
  const target = requireTarget(ports, 'heal');
  const incidentId = event.incident_id;
  if (!event.data.ok || !incidentId) {
    return {
      status: 'skipped',
      outputs: [],
      ...(incidentId ? { incident_id: incidentId } : {}),
      detail: { reason: event.data.ok ? 'no incident' : 'verification failed' },
    };
  }
  const timings: Record<string, number> = {};
  const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await work();
    } finally {
      timings[name] = performance.now() - t0;
    }
  };

  const candidate = await findRelease(ports, target, event.data.candidate_release_id);
  const active = target.deployer.active();
  const live = active?.release;
  const end = async (status: Outcome['status'], outcome: Omit<Outcome, 'status'>, extra = {}) => {
    // Whatever the outcome, this candidate is no longer on its way to going live.
    await clearPendingHeal(ports, target.manifest.name, outcome.release_id);
    return conclude(ports, incidentId, status, outcome, context, { ...extra, timings });
  };
  if (!candidate || !live) {
    return end('failed', {
      release_id: event.data.candidate_release_id,
      previous_release_id: live?.id ?? 'none',
      backfill: { repaired: 0, failed: 0 },
      reason: candidate ? 'the target runs no release' : 'candidate release not found',
    });
  }

  // Another heal went live after this candidate was verified (two faults in one push): it was
  // built on a release that is no longer live, so it goes back to verify, which carries the
  // patch over onto the live release and checks it again. Nothing is claimed or changed here.
  const base = event.data.base_release_id;
  if (
    base &&
    base !== live.id &&
    candidate.id !== live.id &&
    (await readHealState(ports, incidentId)) === undefined
  ) {
    await ports.store.appendAudit({
      actor: 'heal',
      action: 'heal.reverify',
      incident_id: incidentId,
      detail: { candidate: candidate.id, verified_on: base, live: live.id },
    });
    return {
      status: 'skipped',
      incident_id: incidentId,
      outputs: [
        {
          stream: streams.approved,
          event: createEvent(
            'guard.decision',
            {
              patch_id: event.data.patch_id,
              decision: 'approved',
              reasons: [`verified on ${base}, but ${live.id} went live since: verify again`],
              decided_by: 'heal',
            },
            { source: 'heal', id: context.idFor(0), incidentId },
          ),
        },
      ],
      detail: { reason: 'live release moved since verification', verified_on: base, live: live.id },
    };
  }

  // The damaged SKUs verification found; a second scan after activation adds any written since.
  const damaged =
    event.data.affected_skus ?? (await timed('scan', () => scanRecords(target))).damaged;
  // The catalog items the backfill maps are read while the heal is claimed and the records are
  // backed up (a resumed heal reads any it lacks batch by batch).
  const itemsRead = timed('items', () => target.catalogItems(damaged));
  itemsRead.catch(() => undefined);
  const claim = await claimHeal(ports, incidentId, {
    event_id: event.id,
    release_id: candidate.id,
    previous_release_id: live.id,
    previous_release_hash: live.hash,
    skus: damaged,
  });
  if (claim.kind === 'taken') {
    await ports.store.appendAudit({
      actor: 'heal',
      action: 'heal.duplicate',
      incident_id: incidentId,
      detail: { verification: event.id, claimed_by: claim.state.event_id },
    });
    return {
      status: 'skipped',
      outputs: [],
      incident_id: incidentId,
      detail: { reason: 'this incident is already being healed', claimed_by: claim.state.event_id },
    };
  }
  let state = claim.state;
  if (state.previous_release_id !== live.id && state.release_id !== live.id) {
    return end('failed', {
      release_id: candidate.id,
      previous_release_id: live.id,
      backfill: { repaired: 0, failed: 0 },
      reason: `live release changed to ${live.id} since the heal began`,
    });
  }
  if (event.data.base_release_id && event.data.base_release_id !== state.previous_release_id) {
    return end('failed', {
      release_id: candidate.id,
      previous_release_id: live.id,
      backfill: { repaired: 0, failed: 0 },
      reason: `verified against ${event.data.base_release_id}, but ${live.id} is live`,
    });
  }
  if (state.skus.length > ports.policy.max_backfill_skus && !claim.resumed) {
    return end('failed', {
      release_id: candidate.id,
      previous_release_id: live.id,
      backfill: { repaired: 0, failed: 0 },
      reason: `backfill of ${state.skus.length} SKUs exceeds the policy's ${ports.policy.max_backfill_skus}`,
    });
  }

  // The backup must be durable before a record is overwritten, not before the pointer swaps:
  // both run at once. A refused activation changes nothing, so the backup is simply unused.
  const backingUp =
    state.records_hash_before === undefined
      ? timed('backup', () => saveBackup(ports, target, incidentId, state))
      : Promise.resolve(state);
  const [backedUp, activation, items] = await Promise.all([
    backingUp,
    timed('activate', () => target.deployer.activate(candidate)),
    itemsRead,
  ]);
  state = backedUp;
  if (!activation.ok) {
    return end('failed', {
      release_id: candidate.id,
      previous_release_id: state.previous_release_id,
      backfill: { repaired: 0, failed: 0 },
      reason: `activation refused: ${activation.reason}: ${activation.message}`,
    });
  }
  // Audit appends are serialized by the store; they run beside the work they record.
  const audits: Promise<unknown>[] = [
    ports.store.appendAudit({
      actor: 'heal',
      action: 'release.activated',
      incident_id: incidentId,
      detail: {
        release: candidate.id,
        hash: candidate.hash,
        previous: state.previous_release_id,
        previous_hash: state.previous_release_hash,
      },
    }),
  ];

  // Two faults in one push: a record this fix repaired may still break in a field another open
  // fault owns. Tolerated only when that field is not this incident's and the record broke
  // there before the heal too (read from the backup, only when it happens).
  const incidentRead = ports.store.getIncident(incidentId);
  incidentRead.catch(() => undefined);
  let before: Promise<Map<string, string[]>> | undefined;
  const toleratesBroken = async (sku: string, fields: readonly string[]) => {
    const owned = new Set((await incidentRead)?.fields ?? []);
    if (owned.size === 0 || fields.some((f) => f === '' || owned.has(f))) return false;
    before ??= loadBackup(ports, incidentId, state).then(
      (snapshot) =>
        new Map(
          snapshot.products.map((p) => [
            p.sku,
            brokenFields(target.manifest.recordContract, p.record),
          ]),
        ),
    );
    const broken = (await before).get(sku) ?? [];
    return fields.every((f) => broken.includes(f));
  };

  let problem: string | undefined;
  let filled: Backfill = { state, failures: [], batches: 0 };
  try {
    // Everything the broken release wrote is damaged, also what it wrote after verification
    // looked (the fix was not live yet): found from the target's write announcements, beside the
    // backfill, then saved and repaired too.
    const [first, { written, incident }] = await Promise.all([
      timed('backfill', () => backfill(ports, target, state, incidentId, toleratesBroken, items)),
      timed('writes', async () => {
        const incident = await incidentRead;
        const onset = Date.parse(incident?.onset_at ?? incident?.opened_at ?? '') || Date.now();
        // A release writes nothing before it goes live: what it wrote in an earlier spell as
        // the live release was dealt with by whatever replaced it then (a heal's backfill, a
        // reset), so its writes count from its latest activation, when this process saw it.
        const activatedAt =
          active?.release.id === state.previous_release_id
            ? Date.parse(active.activated_at ?? '')
            : Number.NaN;
        const window = onset - WRITES_BEFORE_ONSET_MS;
        const since = Number.isNaN(activatedAt) ? window : Math.max(window, activatedAt);
        return { incident, written: await writtenBy(ports, state.previous_release_id, since) };
      }),
    ]);
    filled = first;
    const known = new Set(first.state.skus);
    const more = written.filter((sku) => !known.has(sku));
    if (first.state.skus.length + more.length > ports.policy.max_backfill_skus) {
      throw new Error(
        `${more.length} more damaged SKUs found after activation exceed the policy's ${ports.policy.max_backfill_skus}`,
      );
    }
    if (more.length > 0) {
      state = await timed('later_backup', () =>
        saveBackup(ports, target, incidentId, first.state, more),
      );
      before = undefined;
      const second = await timed('later_backfill', () =>
        backfill(ports, target, state, incidentId, toleratesBroken),
      );
      filled = {
        state: second.state,
        failures: [...first.failures, ...second.failures],
        batches: first.batches + second.batches,
      };
    }
    state = filled.state;
    audits.push(
      ports.store.appendAudit({
        actor: 'heal',
        action: 'backfill.completed',
        incident_id: incidentId,
        detail: {
          skus: state.skus.length,
          repaired: state.repaired,
          failed: state.failed,
          batches: filled.batches,
          found_in_writes: more.length,
        },
      }),
    );
    if (state.failed > 0) {
      problem = `backfill failed for ${state.failed} SKUs (${filled.failures.join(', ')})`;
    }
    if (!problem) {
      // The repaired records read back, and the target probed live, at once.
      const skus = [
        ...new Set([...capturedSkus(incident?.diagnosis), ...state.skus.slice(0, REPROBE_SKUS)]),
      ];
      const [after, probed] = await Promise.all([
        timed('revalidate', () => target.records.getMany(state.skus)),
        timed('reprobe', () =>
          runProbes(target.manifest, skus, {
            baseUrl: targetBaseUrl(ports),
            timeoutMs: ports.config.PROBE_TIMEOUT_MS,
            now: new Date(),
          }),
        ),
      ]);
      const invalid: string[] = [];
      for (const product of after) {
        const fields = brokenFields(target.manifest.recordContract, product.record);
        if (fields.length > 0 && !(await toleratesBroken(product.sku, fields))) {
          invalid.push(product.sku);
        }
      }
      let finding: (typeof probed.findings)[number] | undefined;
      for (const found of probed.findings) {
        if (!(found.field && (await toleratesBroken(found.sku, [found.field])))) {
          finding = found;
          break;
        }
      }
      if (invalid.length > 0 || after.length !== state.skus.length) {
        problem = `${invalid.length + state.skus.length - after.length} repaired records still break the contract`;
      } else if (finding) {
        problem = `live probe ${finding.probe} for ${finding.sku} failed: ${finding.reason}`;
      }
    }
  } catch (error) {
    problem = `heal failed: ${error instanceof Error ? error.message : String(error)}`;
  }

  // Healed (or not) now: the bookkeeping below is not part of the time to repair.
  const healedAt = new Date().toISOString();
  await Promise.all(audits);
  if (problem) {
    const restored = await timed('rollback', () => restoreTarget(ports, target, state, incidentId));
    await ports.store.appendAudit({
      actor: 'heal',
      action: 'rollback.completed',
      incident_id: incidentId,
      detail: {
        reason: problem,
        release: state.previous_release_id,
        byte_identical: restored.ok,
        release_hash: restored.release_hash,
        records_hash: restored.records_hash,
      },
    });
    return end(
      restored.ok ? 'rolled_back' : 'failed',
      {
        release_id: candidate.id,
        previous_release_id: state.previous_release_id,
        backfill: { repaired: 0, failed: filled.state.failed },
        reason: restored.ok ? problem : `${problem}; rollback: ${restored.message}`,
      },
      { byte_identical: restored.ok },
    );
  }

  await Promise.all([
    updateHealState(ports, incidentId, state, { phase: 'healed' }),
    recordReleases(ports, target, candidate),
  ]);
  return end('healed', {
    release_id: candidate.id,
    previous_release_id: state.previous_release_id,
    backfill: { repaired: state.repaired, failed: state.failed },
    healed_at: healedAt,
  });
};

/** Records the activated release (and its parent, when the store has not seen it) as active. */
async function recordReleases(ports: Ports, target: TargetRuntime, release: Release) {
  const name = target.manifest.name;
  const parent = release.parent_id ? target.release(release.parent_id) : undefined;
  const now = new Date().toISOString();
  if (parent) {
    await ports.store.recordRelease({
      id: parent.id,
      target: name,
      parent_id: parent.parent_id,
      hash: parent.hash,
      diff: parent.diff,
      created_at: now,
    });
  }
  await ports.store.recordRelease({
    id: release.id,
    target: name,
    parent_id: release.parent_id,
    hash: release.hash,
    diff: release.diff,
    created_at: now,
  });
  await ports.store.setActiveRelease(name, release.id);
}

/** Writes the outcome to the incident and the audit chain, and publishes it. */
async function conclude(
  ports: Ports,
  incidentId: string,
  status: Outcome['status'],
  outcome: Omit<Outcome, 'status'>,
  context: Parameters<StageCore<'verification'>>[2],
  extra: Record<string, unknown>,
): Promise<StageResult> {
  const data: Outcome = { status, ...outcome };
  const incident = await ports.store.getIncident(incidentId);
  const onset = incident?.onset_at ? Date.parse(incident.onset_at) : undefined;
  const healedAt = outcome.healed_at;
  await ports.store.updateIncident(incidentId, {
    status,
    backfill: { ...outcome.backfill, ...(outcome.reason ? { reason: outcome.reason } : {}) },
    ...(healedAt
      ? {
          healed_at: healedAt,
          ...(onset !== undefined ? { ttr_ms: Math.max(0, Date.parse(healedAt) - onset) } : {}),
        }
      : {}),
  });
  await ports.store.appendAudit({
    actor: 'heal',
    action: `heal.${status}`,
    incident_id: incidentId,
    detail: {
      release: outcome.release_id,
      previous: outcome.previous_release_id,
      backfill: outcome.backfill,
      ...(outcome.reason ? { reason: outcome.reason } : {}),
    },
  });
  const event = createEvent('heal.outcome', data, {
    source: 'heal',
    id: context.idFor(0),
    incidentId,
  });
  return {
    status: status === 'healed' ? 'ok' : status,
    outputs: [{ stream: streams.outcomes, event }],
    incident_id: incidentId,
    detail: { ...data, ...extra },
  };
}
