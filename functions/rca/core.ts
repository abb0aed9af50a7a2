import { createEvent, type EventOf } from '../../events/index.js';
import { streams } from '../../infra/topology.js';
import { isClosedIncidentStatus } from '../ports/trace-store.js';
import { requireTarget } from '../runtime/require-target.js';
import type { StageCore } from '../runtime/stage-handler.js';
import { confidenceOf, type Evidence, type SignalFacts } from './evidence.js';
import { gatherFacts } from './facts.js';
import { earlierOnset, openOrJoin } from './incidents.js';
import { diagnose } from './rules.js';

const signalFactsOf = (signal: EventOf<'signal'>): SignalFacts => ({
  kind: signal.data.kind,
  field: signal.data.field ?? '*',
  skus: signal.data.skus,
  sku_count: signal.data.sku_count,
  samples: signal.data.samples,
  ...(signal.data.release_id ? { release_id: signal.data.release_id } : {}),
  ...(signal.data.push_id ? { push_id: signal.data.push_id } : {}),
  ...(signal.data.request ? { request: signal.data.request } : {}),
  ...(signal.data.message ? { message: signal.data.message } : {}),
});

/** What an incident keeps of each signal that joined it: enough to replay and to explain. */
const joinedOf = (signal: EventOf<'signal'>) => ({
  id: signal.id,
  kind: signal.data.kind,
  source: signal.source,
  occurred_at: signal.occurred_at,
  sku_count: signal.data.sku_count,
  /** The SKUs it found broken: what verification replays and heal repairs first. */
  skus: signal.data.skus,
  ...(signal.data.request ? { request: signal.data.request } : {}),
  ...(signal.data.response ? { response: signal.data.response } : {}),
});

interface IncidentDiagnosis {
  readonly evidence?: Evidence[];
  readonly signals?: ReturnType<typeof joinedOf>[];
  readonly [key: string]: unknown;
}

/**
 * Stage `rca`: groups signals into one incident per fault signature and, for a new incident,
 * joins the evidence (the signal, the catalog delta of its push, static analysis of the
 * target's mapper, the release history) into a fault class, a location and a confidence
 * derived from the evidence. A signal that joins an open incident adds its evidence to it.
 */
export const rcaCore: StageCore<'signal'> = async (signal, ports, context) => {
  const target = requireTarget(ports, 'rca');
  if (signal.data.target !== target.manifest.name) {
    // Nothing here can diagnose or patch a target this process does not run.
    await ports.store.appendAudit({
      actor: 'rca',
      action: 'signal.unroutable',
      detail: { signal: signal.id, target: signal.data.target },
    });
    return {
      status: 'escalated',
      outputs: [],
      detail: { reason: 'unknown-target', target: signal.data.target, signal: signal.id },
    };
  }
  const { incident, opened } = await openOrJoin(
    ports,
    signal,
    `inc_${context.idFor(0).slice(0, 20)}`,
  );

  if (!opened && isClosedIncidentStatus(incident.status)) {
    await ports.store.appendAudit({
      actor: 'rca',
      action: 'signal.late',
      incident_id: incident.id,
      detail: { signal: signal.id, kind: signal.data.kind, status: incident.status },
    });
    return {
      status: 'skipped',
      outputs: [],
      incident_id: incident.id,
      detail: {
        reason: `observed before the incident ended ${incident.status}`,
        signal: signal.id,
      },
    };
  }

  if (!opened) {
    const previous = (incident.diagnosis ?? {}) as IncidentDiagnosis;
    const signals = [...(previous.signals ?? []), joinedOf(signal)];
    // Later sensors confirm (or widen) the diagnosis: their evidence joins, and the confidence
    // is derived again from everything the incident now holds.
    const evidence: Evidence[] = [
      ...(previous.evidence ?? []),
      {
        source: signal.data.kind === 'SchemaMismatch' ? 'signal' : 'probe',
        summary:
          signal.data.message ?? `${signal.data.kind} on ${signal.data.field ?? 'the target'}`,
        values: {
          skus: signal.data.skus.slice(0, 10),
          ...(signal.data.request ? { request: signal.data.request } : {}),
          ...(signal.data.response ? { response: signal.data.response } : {}),
        },
        weight: signal.data.kind === 'SchemaMismatch' ? 0.3 : 0.15,
      },
    ];
    await ports.store.updateIncident(incident.id, {
      diagnosis: { ...previous, signals, evidence, confidence: confidenceOf(evidence) },
      ...earlierOnset(incident, signal),
    });
    await ports.store.appendAudit({
      actor: 'rca',
      action: 'signal.joined',
      incident_id: incident.id,
      detail: { signal: signal.id, kind: signal.data.kind },
    });
    return {
      status: 'ok',
      outputs: [],
      incident_id: incident.id,
      detail: { joined: true, signal: signal.id, kind: signal.data.kind },
    };
  }

  await ports.store.appendAudit({
    actor: 'rca',
    action: 'signal.accepted',
    incident_id: incident.id,
    detail: { signal: signal.id, kind: signal.data.kind, field: signal.data.field ?? null },
  });
  const facts = await gatherFacts(ports, target, signalFactsOf(signal));
  const finding = diagnose(facts);
  const location = facts.mapper
    ? {
        file: facts.mapper.file,
        symbol: facts.mapper.symbol,
        start_line: facts.mapper.start_line,
        end_line: facts.mapper.end_line,
      }
    : undefined;
  const fix = {
    ...(finding.sourcePath ? { source_path: finding.sourcePath } : {}),
    ...(finding.oldSourcePath ? { old_source_path: finding.oldSourcePath } : {}),
    ...(finding.expectedType ? { expected_type: finding.expectedType } : {}),
  };
  const diagnosis = createEvent(
    'diagnosis',
    {
      target: target.manifest.name,
      fault_class: finding.fault_class,
      fields: facts.field === '*' ? [] : [facts.field],
      ...(location ? { location } : {}),
      evidence: finding.evidence.map((e) => ({ ...e })),
      confidence: finding.confidence,
      fix,
    },
    { source: 'rca', id: context.idFor(1), incidentId: incident.id },
  );
  const createdAt = new Date().toISOString();
  await ports.store.recordDiagnosis({
    id: diagnosis.id,
    incident_id: incident.id,
    fault_class: finding.fault_class,
    confidence: finding.confidence,
    location: location ?? null,
    evidence: { items: diagnosis.data.evidence, fix },
    created_at: createdAt,
  });
  await ports.store.updateIncident(incident.id, {
    status: 'diagnosed',
    fault_class: finding.fault_class,
    diagnosis: {
      fault_class: finding.fault_class,
      confidence: finding.confidence,
      location: location ?? null,
      evidence: diagnosis.data.evidence,
      fix,
      release: facts.release
        ? { active: facts.release.active_id, parent: facts.release.parent_id }
        : null,
      signals: [joinedOf(signal)],
    },
  });
  await ports.store.appendAudit({
    actor: 'rca',
    action: 'diagnosis',
    incident_id: incident.id,
    detail: { fault_class: finding.fault_class, confidence: finding.confidence, signal: signal.id },
  });
  return {
    status: 'ok',
    outputs: [{ stream: streams.diagnoses, event: diagnosis }],
    incident_id: incident.id,
    detail: {
      fault_class: finding.fault_class,
      confidence: finding.confidence,
      evidence: finding.evidence.length,
    },
  };
};
