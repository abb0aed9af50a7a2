import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { FieldChange } from '../../events/index.js';
import { deltaKey, recentDeltasKey, recentSyncsKey } from '../runtime/keys.js';
import { recentPushes } from '../runtime/recent-pushes.js';

/** How far back the pushes of a signal without a push id are looked for. */
const RECENT_WINDOW_MS = 10 * 60_000;

import type { Ports } from '../runtime/ports.js';
import type { TargetRuntime } from '../target/target-runtime.js';
import type { Facts, MapperFacts, ReleaseFacts, SignalFacts } from './evidence.js';
import { analyzeMapper, type MapperAnalysis } from './mapper-analysis.js';
import { compareMappers } from './release-diff.js';

const mapperFactsOf = (analysis: MapperAnalysis, file: string): MapperFacts => {
  const byField = new Map(analysis.properties.map((p) => [p.field, p]));
  return {
    file,
    symbol: analysis.name,
    start_line: analysis.start_line,
    end_line: analysis.end_line,
    writes: new Set(analysis.writes),
    spreads: analysis.copiesAll,
    readsFor: (field) => byField.get(field)?.reads ?? [],
    lineOf: (field) => byField.get(field)?.line,
  };
};

/** Enum values the record contract allows at a field (or anywhere under it), if any. */
function enumValuesOf(target: TargetRuntime, field: string): string[] | undefined {
  const schema = target.manifest.recordContract as unknown as { shape?: Record<string, z.ZodType> };
  const fieldSchema = schema.shape?.[field];
  if (!fieldSchema) return undefined;
  const values: string[] = [];
  const walk = (node: unknown) => {
    if (typeof node !== 'object' || node === null) return;
    const { enum: allowed } = node as { enum?: unknown };
    if (Array.isArray(allowed))
      values.push(...allowed.filter((v): v is string => typeof v === 'string'));
    for (const child of Object.values(node)) walk(child);
  };
  walk(z.toJSONSchema(fieldSchema, { unrepresentable: 'any' }));
  return values.length > 0 ? values : undefined;
}

/** Longest wait for the ingest stage to record the delta of a signal's push. */
export const DELTA_WAIT_MS = 3_000;

/**
 * The delta of a push, waiting for it a little: ingest and the sync consume the same push in
 * parallel, so the validator's signal can arrive before the delta is recorded.
 */
async function waitForDelta(ports: Pick<Ports, 'kv' | 'tables'>, pushId: string) {
  const started = performance.now();
  let stored = await ports.kv.get(ports.tables.kv, deltaKey(pushId));
  while (!stored && performance.now() - started < DELTA_WAIT_MS) {
    await sleep(20);
    stored = await ports.kv.get(ports.tables.kv, deltaKey(pushId));
  }
  return stored;
}

/**
 * Gathers what rca needs about one signal's field: the field changes of the push that carried
 * it, the active release's mapper read with the TypeScript compiler API, and what that release
 * changed in the mapper against its parent.
 */
export async function gatherFacts(
  ports: Pick<Ports, 'kv' | 'tables'>,
  target: TargetRuntime,
  signal: SignalFacts,
): Promise<Facts> {
  // The push that carried the signal; for a signal without one (the target's API, a scheduled
  // probe), the recent pushes: the rules only look at changes of the signal's own field. A push
  // already synced but whose delta is not recorded yet is waited for like a signal's own: the
  // failure may well be its doing, and an older push's delta would tell another story.
  let pushIds: string[] = signal.push_id ? [signal.push_id] : [];
  const awaited = new Set(pushIds);
  if (pushIds.length === 0) {
    const since = Date.now() - RECENT_WINDOW_MS;
    const [recorded, synced] = await Promise.all([
      recentPushes(ports, recentDeltasKey(), since),
      recentPushes(ports, recentSyncsKey(), since),
    ]);
    const withDelta = new Set(recorded.map((push) => push.push_id));
    const latest = new Map<string, number>();
    for (const push of [...recorded, ...synced]) {
      latest.set(push.push_id, Math.max(latest.get(push.push_id) ?? 0, Date.parse(push.at)));
    }
    pushIds = [...latest].sort((a, b) => b[1] - a[1]).map(([pushId]) => pushId);
    for (const pushId of pushIds) if (!withDelta.has(pushId)) awaited.add(pushId);
  }
  // Newest first: the latest push that touched the field is the likeliest cause.
  let deltas: FieldChange[] = [];
  const touches = (change: FieldChange) =>
    change.field === signal.field || change.field.startsWith(`${signal.field}.`);
  for (const pushId of pushIds) {
    const stored = awaited.has(pushId)
      ? await waitForDelta(ports, pushId)
      : await ports.kv.get(ports.tables.kv, deltaKey(pushId));
    const changes = Array.isArray(stored?.changes) ? (stored.changes as FieldChange[]) : [];
    if (signal.push_id || changes.some(touches)) {
      deltas = changes;
      break;
    }
  }

  const active = target.deployer.active()?.release;
  const { file, export: exportName } = target.manifest.mapper;
  let mapper: MapperFacts | undefined;
  let release: ReleaseFacts | undefined;
  if (active) {
    const analysed = analyzeMapper(active.source, { fileName: file, exportName });
    if (analysed.ok) {
      mapper = mapperFactsOf(analysed.analysis, file);
      const parent = active.parent_id ? target.release(active.parent_id) : undefined;
      const parentAnalysis = parent
        ? analyzeMapper(parent.source, { fileName: file, exportName })
        : undefined;
      if (parent && parentAnalysis?.ok) {
        const changes = compareMappers(
          { source: parent.source, analysis: parentAnalysis.analysis },
          { source: active.source, analysis: analysed.analysis },
        );
        release = {
          active_id: active.id,
          parent_id: parent.id,
          removedWrites: changes.removedWrites,
          addedWrites: changes.addedWrites,
          diff: active.diff,
        };
      } else {
        release = {
          active_id: active.id,
          parent_id: active.parent_id,
          removedWrites: [],
          addedWrites: [],
          diff: active.diff,
        };
      }
    }
  }
  const enumValues = enumValuesOf(target, signal.field);
  return {
    target: target.manifest.name,
    field: signal.field,
    signals: [signal],
    deltas,
    mapper,
    release,
    ...(enumValues ? { enumValues } : {}),
  };
}
