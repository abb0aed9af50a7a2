import { createEvent, type DataOf } from '../../events/index.js';
import { streams } from '../../infra/topology.js';
import type { IncidentSummary } from '../ports/trace-store.js';
import type { Ports } from '../runtime/ports.js';
import { requireTarget } from '../runtime/require-target.js';
import type { StageCore } from '../runtime/stage-handler.js';
import type { TargetRuntime } from '../target/target-runtime.js';
import { checkCompiles, checkDiff, type GuardReason } from './checks.js';
import { autonomyFor, freezeAt } from './policy.js';
import { saveProposal } from './proposals.js';
import { sharedTypeChecker } from './typecheck.js';

export type GuardVerdict = 'approved' | 'awaiting_approval' | 'rejected';

/** What the incident keeps of its diagnosis that the guard reads. */
interface DiagnosisSnapshot {
  readonly confidence?: number;
  readonly signals?: ReadonlyArray<{ readonly sku_count?: number }>;
}

const text = (reason: GuardReason) => `${reason.code}: ${reason.message}`;

/** Heals (activations) of a target in the last hour, healed or later rolled back. */
async function healsInLastHour(ports: Ports, target: string, now: Date): Promise<number> {
  const since = now.getTime() - 3_600_000;
  const limit = ports.policy.heals_per_hour + 1;
  const [healed, rolledBack] = await Promise.all([
    ports.store.listIncidents({ status: 'healed', target, limit }),
    ports.store.listIncidents({ status: 'rolled_back', target, limit }),
  ]);
  return [...healed, ...rolledBack].filter(
    (incident) => incident.healed_at !== null && Date.parse(incident.healed_at) >= since,
  ).length;
}

/**
 * Everything that makes a patch unfit to ship, whatever the policy's tier: checks on the diff
 * (paths, protected files, size, forbidden constructs in added lines, weakened checks), then,
 * only for a diff that passed them, the build and the type check of the patched file.
 */
export async function unfitReasons(
  target: TargetRuntime,
  proposal: DataOf<'patch.proposal'>,
  ports: Pick<Ports, 'policy'>,
): Promise<GuardReason[]> {
  const base = target.release(proposal.base_release_id);
  if (!base) {
    return [
      {
        code: 'diff-mismatch',
        message: `base release ${proposal.base_release_id} is unknown to ${target.manifest.name}`,
      },
    ];
  }
  const reasons = checkDiff({
    proposal,
    baseSource: base.source,
    manifest: target.manifest,
    policy: ports.policy,
  });
  if (reasons.length > 0) return reasons;
  const [file] = proposal.files as [string];
  const [compiles, types] = await Promise.all([
    checkCompiles({ path: file, source: proposal.merged, repoRoot: target.repoRoot }),
    sharedTypeChecker(target.repoRoot).check(file, proposal.merged),
  ]);
  return [...compiles, ...types];
}

/**
 * Why a fit patch still waits for a person: the fault class's tier, a confidence below the
 * auto threshold, a freeze window, an open circuit breaker, a blast radius above the limit.
 */
async function holdReasons(
  ports: Ports,
  incident: IncidentSummary | undefined,
  now: Date,
  recentHeals: Promise<number>,
): Promise<{ observe: boolean; holds: string[] }> {
  const policy = ports.policy;
  const faultClass = incident?.fault_class ?? 'unknown';
  const tier = autonomyFor(policy, faultClass as Parameters<typeof autonomyFor>[1]);
  if (tier === 'observe') return { observe: true, holds: [] };
  const holds: string[] = [];
  if (tier === 'propose') holds.push(`policy: ${faultClass} patches need a person's approval`);
  const diagnosis = (incident?.diagnosis ?? {}) as DiagnosisSnapshot;
  const confidence = diagnosis.confidence ?? 0;
  if (tier === 'auto' && confidence < policy.min_confidence_for_auto) {
    holds.push(
      `confidence: ${confidence.toFixed(2)} is below the ${policy.min_confidence_for_auto} auto threshold`,
    );
  }
  const freeze = freezeAt(policy, now);
  if (freeze.frozen) holds.push(`freeze: ${freeze.reason}`);
  if (incident) {
    const heals = await recentHeals;
    if (heals >= policy.heals_per_hour) {
      holds.push(
        `circuit-breaker: ${heals} heals of ${incident.target} in the last hour (limit ${policy.heals_per_hour})`,
      );
    }
  }
  const blast = Math.max(0, ...(diagnosis.signals ?? []).map((s) => s.sku_count ?? 0));
  if (blast > policy.max_backfill_skus) {
    holds.push(
      `blast-radius: ${blast} SKUs affected, an auto backfill may touch ${policy.max_backfill_skus}`,
    );
  }
  return { observe: false, holds };
}

/**
 * Stage `guard`: judges a patch proposal against the policy. A patch that is unfit (see
 * {@link unfitReasons}) is rejected and never built; a fit one is approved for verification, or
 * waits for a person when the policy holds it. Every verdict lists all its reasons, is written
 * to the audit chain, and the proposal is kept so an approval can send it on later.
 */
export const guardCore: StageCore<'patch.proposal'> = async (event, ports, context) => {
  const target = requireTarget(ports, 'guard');
  const proposal = event.data;
  const incidentId = event.incident_id;
  const now = new Date();
  // The incident and the target's recent heals are read while the patch is checked.
  const recentHeals = healsInLastHour(ports, target.manifest.name, now);
  recentHeals.catch(() => undefined);
  const [incident, unfitFound] = await Promise.all([
    incidentId ? ports.store.getIncident(incidentId) : undefined,
    unfitReasons(target, proposal, ports),
  ]);
  const unfit = unfitFound.map(text);
  let verdict: GuardVerdict;
  let reasons: string[];
  if (unfit.length > 0) {
    verdict = 'rejected';
    reasons = unfit;
  } else {
    const { observe, holds } = await holdReasons(ports, incident, now, recentHeals);
    if (observe) {
      verdict = 'rejected';
      reasons = [`policy: ${incident?.fault_class ?? 'unknown'} is observe-only, never patched`];
    } else {
      verdict = holds.length > 0 ? 'awaiting_approval' : 'approved';
      reasons = holds;
    }
  }

  const fields = incident?.fields ?? [];
  if (incidentId) {
    const guard = {
      decision: verdict,
      reasons,
      decided_by: 'guard',
      decided_at: now.toISOString(),
    };
    // Independent writes, at once; the verdict is published only once all three are durable.
    await Promise.all([
      saveProposal(ports, { incident_id: incidentId, proposal, fields }),
      ports.store.updateIncident(incidentId, {
        ...(verdict === 'approved' ? {} : { status: verdict }),
        patch: { ...((incident?.patch as object | null) ?? {}), guard },
      }),
      ports.store.appendAudit({
        actor: 'guard',
        action: `guard.${verdict}`,
        incident_id: incidentId,
        detail: { patch_id: proposal.patch_id, reasons },
      }),
    ]);
  }
  const outputs =
    verdict === 'approved'
      ? [
          {
            stream: streams.approved,
            event: createEvent(
              'guard.decision',
              {
                patch_id: proposal.patch_id,
                decision: verdict,
                reasons,
                decided_by: 'guard',
                proposal,
                fields,
              },
              { source: 'guard', id: context.idFor(0), ...(incidentId ? { incidentId } : {}) },
            ),
          },
        ]
      : [];
  return {
    status: verdict === 'approved' ? 'ok' : verdict,
    outputs,
    ...(incidentId ? { incident_id: incidentId } : {}),
    detail: { patch_id: proposal.patch_id, decision: verdict, reasons },
  };
};
