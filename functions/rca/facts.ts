import type { FieldChange } from '../../events/index.js';
import { deltaKey } from '../runtime/keys.js';
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
  const schema = target.manifest.recordContract as unknown as {
    shape?: Record<string, { toJSONSchema?: () => unknown }>;
  };
  const fieldSchema = schema.shape?.[field];
  if (!fieldSchema?.toJSONSchema) return undefined;
  const values: string[] = [];
  const walk = (node: unknown) => {
    if (typeof node !== 'object' || node === null) return;
    const { enum: allowed } = node as { enum?: unknown };
    if (Array.isArray(allowed))
      values.push(...allowed.filter((v): v is string => typeof v === 'string'));
    for (const child of Object.values(node)) walk(child);
  };
  walk(fieldSchema.toJSONSchema());
  return values.length > 0 ? values : undefined;
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
  let deltas: FieldChange[] = [];
  if (signal.push_id) {
    const stored = await ports.kv.get(ports.tables.kv, deltaKey(signal.push_id));
    if (Array.isArray(stored?.changes)) deltas = stored.changes as FieldChange[];
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
