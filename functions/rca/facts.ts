import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { FieldChange } from '../../events/index.js';
import { deltaKey, recentDeltasKey } from '../runtime/keys.js';

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
  // probe), the recent pushes: the rules only look at changes of the signal's own field.
  let pushIds: string[] = signal.push_id ? [signal.push_id] : [];
  if (pushIds.length === 0) {
    const recent = await ports.kv.get(ports.tables.kv, recentDeltasKey());
    const since = Date.now() - RECENT_WINDOW_MS;
    pushIds = (
      Array.isArray(recent?.pushes)
        ? (recent.pushes as Array<{ push_id?: unknown; at?: unknown }>)
        : []
    )
      .filter((p) => typeof p.push_id === 'string' && Date.parse(String(p.at)) >= since)
      .map((p) => p.push_id as string);
  }
  // Newest first: the latest push that touched the field is the likeliest cause.
  let deltas: FieldChange[] = [];
  const touches = (change: FieldChange) =>
    change.field === signal.field || change.field.startsWith(`${signal.field}.`);
  for (const pushId of pushIds) {
    const stored =
      pushId === signal.push_id
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
