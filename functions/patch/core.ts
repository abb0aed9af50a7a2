import { createTwoFilesPatch } from 'diff';
import { createEvent, type EventOf } from '../../events/index.js';
import { streams } from '../../infra/topology.js';
import type { Ports } from '../runtime/ports.js';
import { requireTarget } from '../runtime/require-target.js';
import type { StageContext, StageCore, StageResult } from '../runtime/stage-handler.js';
import type { ApplyRequest } from './applier.js';
import { LocalApplier } from './appliers/local-applier.js';
import { type ApplyAttempt, createApplierChain } from './appliers/with-fallback.js';
import { llmPlannerFromConfig } from './llm/planner.js';
import { planPatch } from './templates.js';

const local = new LocalApplier();

/** Ends the incident's patch step with a recorded reason: a person takes it from here. */
async function escalate(
  ports: Ports,
  diagnosis: EventOf<'diagnosis'>,
  reason: string,
  message: string,
  extra: Record<string, unknown> = {},
): Promise<StageResult> {
  const incidentId = diagnosis.incident_id;
  if (incidentId) {
    await ports.store.updateIncident(incidentId, { status: 'escalated' });
    await ports.store.appendAudit({
      actor: 'patch',
      action: 'escalated',
      incident_id: incidentId,
      detail: { reason, message, ...extra },
    });
  }
  return {
    status: 'escalated',
    outputs: [],
    ...(incidentId ? { incident_id: incidentId } : {}),
    detail: { reason, message, ...extra },
  };
}

/** Counts the added and removed lines of a unified diff. */
const countLines = (diff: string) => {
  let added = 0;
  let removed = 0;
  for (const line of diff.split('\n')) {
    if (line.startsWith('+') && !line.startsWith('+++')) added += 1;
    else if (line.startsWith('-') && !line.startsWith('---')) removed += 1;
  }
  return { added, removed };
};

/**
 * Stage `patch`: turns a diagnosis into an edit of the target's mapper. An AST template per
 * fault class writes an update snippet (never a whole file); the LLM planner, when enabled,
 * writes one for unknown signatures. The snippet is merged by Morph when configured, else (or
 * when Morph fails) by the local lazy-edit merger. A merge that differs from what the template
 * computed from the AST is refused: only a cleanly merged patch is proposed.
 */
export const patchCore: StageCore<'diagnosis'> = async (
  diagnosis,
  ports,
  context: StageContext,
) => {
  const target = requireTarget(ports, 'patch');
  const incidentId = diagnosis.incident_id;
  const { fault_class: faultClass, fields, fix } = diagnosis.data;
  if (faultClass === 'dependency-down') {
    return escalate(
      ports,
      diagnosis,
      'dependency-down',
      'the target is unreachable: nothing to patch',
    );
  }
  const active = target.deployer.active()?.release;
  if (!active) return escalate(ports, diagnosis, 'no-active-release', 'the target runs no release');
  const { file, export: exportName } = target.manifest.mapper;
  const field = fields[0];

  let request: ApplyRequest;
  let expected: string | undefined;
  let planner: 'template' | 'llm' = 'template';
  const llm: Record<string, unknown> = {};
  if (faultClass === 'unknown') {
    const llmPlanner = llmPlannerFromConfig(ports.config);
    if (!llmPlanner || !incidentId) {
      return escalate(
        ports,
        diagnosis,
        'no-planner',
        'no rule recognised the fault and the LLM planner is off',
      );
    }
    const planned = await llmPlanner.plan({
      incidentId,
      diagnosis: {
        fault_class: faultClass,
        fields,
        location: diagnosis.data.location,
        evidence: diagnosis.data.evidence.map(({ source, summary }) => ({ source, summary })),
      },
      path: file,
      source: active.source,
    });
    Object.assign(llm, { spent_tokens: planned.spent_tokens, usage: planned.usage });
    if (!planned.ok)
      return escalate(ports, diagnosis, `llm-${planned.reason}`, planned.message, { llm });
    planner = 'llm';
    request = {
      instruction: planned.instruction,
      original: active.source,
      snippet: planned.snippet,
      path: file,
    };
  } else {
    if (!field) return escalate(ports, diagnosis, 'no-field', 'the diagnosis names no field');
    const contract = target.manifest.recordContract as unknown as {
      shape?: Record<string, unknown>;
    };
    const plan = planPatch({
      fault_class: faultClass,
      source: active.source,
      fileName: file,
      repoRoot: target.repoRoot,
      exportName,
      fields: {
        field,
        ...(fix?.source_path ? { sourcePath: fix.source_path } : {}),
        ...(fix?.old_source_path ? { oldSourcePath: fix.old_source_path } : {}),
        ...(fix?.expected_type ? { expectedType: fix.expected_type } : {}),
      },
      ...(contract.shape ? { contractOrder: Object.keys(contract.shape) } : {}),
    });
    if (!plan.ok) return escalate(ports, diagnosis, `template-${plan.reason}`, plan.message);
    expected = plan.expected;
    request = {
      instruction: plan.instruction,
      original: active.source,
      snippet: plan.snippet,
      path: file,
    };
  }

  const chain = createApplierChain(ports.config, local);
  let { result, attempts } = await chain.apply(request);
  const allAttempts: ApplyAttempt[] = [...attempts];
  // A merge must reproduce the edit the template computed from the AST, byte for byte. When
  // Morph's merge differs, the deterministic merger gets its turn; never a guess.
  if (
    result.ok &&
    expected !== undefined &&
    result.merged !== expected &&
    result.applier !== 'local'
  ) {
    allAttempts[allAttempts.length - 1] = {
      ...(allAttempts.at(-1) as ApplyAttempt),
      ok: false,
      reason: 'differs-from-template',
    };
    result = await local.apply(request);
    allAttempts.push({
      applier: 'local',
      ok: result.ok,
      ...(result.ok ? {} : { reason: result.reason }),
      duration_ms: result.duration_ms,
    });
  }
  if (!result.ok) {
    return escalate(ports, diagnosis, `merge-${result.reason}`, result.message, {
      attempts: allAttempts,
    });
  }
  if (expected !== undefined && result.merged !== expected) {
    return escalate(
      ports,
      diagnosis,
      'merge-differs-from-template',
      'the merged file is not the planned edit',
      {
        attempts: allAttempts,
      },
    );
  }

  const diff = createTwoFilesPatch(
    `a/${file}`,
    `b/${file}`,
    active.source,
    result.merged,
    active.id,
    'candidate',
  );
  const { added, removed } = countLines(diff);
  const patchId = `patch_${context.idFor(0).slice(0, 20)}`;
  const proposal = createEvent(
    'patch.proposal',
    {
      patch_id: patchId,
      target: target.manifest.name,
      files: [file],
      diff,
      added,
      removed,
      applier: result.applier,
      merged: result.merged,
      base_release_id: active.id,
      attempts: allAttempts,
    },
    { source: 'patch', id: context.idFor(1), ...(incidentId ? { incidentId } : {}) },
  );
  if (incidentId) {
    await ports.store.recordPatch({
      id: patchId,
      incident_id: incidentId,
      diagnosis_id: diagnosis.id,
      diff,
      files: [file],
      applier: result.applier,
      created_at: new Date().toISOString(),
    });
    await ports.store.updateIncident(incidentId, {
      status: 'patched',
      patch: {
        id: patchId,
        diff,
        files: [file],
        applier: result.applier,
        added,
        removed,
        planner,
        attempts: allAttempts,
      },
    });
    await ports.store.appendAudit({
      actor: 'patch',
      action: 'patch.proposed',
      incident_id: incidentId,
      detail: {
        patch_id: patchId,
        applier: result.applier,
        planner,
        added,
        removed,
        base: active.id,
      },
    });
  }
  return {
    status: 'ok',
    outputs: [{ stream: streams.patches, event: proposal }],
    ...(incidentId ? { incident_id: incidentId } : {}),
    detail: {
      patch_id: patchId,
      applier: result.applier,
      planner,
      added,
      removed,
      ...(planner === 'llm' ? { llm } : {}),
    },
  };
};
