import type { FaultClass, FieldChange } from '../../events/index.js';
import { confidenceOf, type Evidence, type Facts } from './evidence.js';

/** A conclusion of one rule: the class, the evidence it rests on, and what the fix needs. */
export interface Finding {
  readonly fault_class: FaultClass;
  readonly evidence: readonly Evidence[];
  readonly confidence: number;
  /** Where the value lives upstream now, for templates that read it from a new place. */
  readonly sourcePath?: string;
  /** Where the mapper reads it today. */
  readonly oldSourcePath?: string;
  readonly expectedType?: 'number' | 'integer' | 'string' | 'boolean';
}

/** A fault signature: what it needs to see, and what it concludes. */
export interface Rule {
  readonly fault_class: FaultClass;
  /** Evidence for this class from the facts; undefined when the signature does not match. */
  match(facts: Facts): Omit<Finding, 'confidence' | 'fault_class'> | undefined;
}

const isMissing = (value: unknown) => value === null || value === undefined;
const jsonType = (value: unknown) =>
  value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;

/** Changes to the field itself or anything under it. */
const changesOf = (facts: Facts, kinds: readonly FieldChange['kind'][]) =>
  facts.deltas.filter(
    (c) =>
      kinds.includes(c.kind) && (c.field === facts.field || c.field.startsWith(`${facts.field}.`)),
  );

const dataSignals = (facts: Facts) => facts.signals.filter((s) => s.kind !== 'DependencyDown');

/** Evidence that sensors saw the field missing (null or absent) in records or responses. */
function missingEvidence(facts: Facts): Evidence[] {
  const evidence: Evidence[] = [];
  for (const signal of dataSignals(facts)) {
    const missing = signal.samples.filter((s) => isMissing(s.value)).length;
    if (signal.kind === 'SchemaMismatch' && missing > 0) {
      evidence.push({
        source: 'signal',
        summary: `${facts.field} is missing in ${signal.sku_count} record(s) written by ${signal.release_id ?? 'the active release'}`,
        values: { skus: signal.skus.slice(0, 10), samples: signal.samples },
        weight: 0.3,
      });
    } else if (signal.kind !== 'SchemaMismatch') {
      evidence.push({
        source: 'probe',
        summary: signal.message ?? `${signal.kind} on ${facts.field}`,
        values: { request: signal.request, skus: signal.skus.slice(0, 10) },
        weight: 0.15,
      });
    }
  }
  return evidence;
}

/** `a.b` moves: where the field's values went upstream. */
function movesOf(facts: Facts): Array<{ from: string; to: string; change: FieldChange }> {
  return changesOf(facts, ['moved']).flatMap((change) =>
    change.moved_to ? [{ from: change.field, to: change.moved_to, change }] : [],
  );
}

/** The new upstream path of the field, from a move of the field or of its leaves. */
function newPathOf(facts: Facts, move: { from: string; to: string }): string {
  const suffix = move.from.slice(facts.field.length); // '' or '.type'
  return suffix && move.to.endsWith(suffix) ? move.to.slice(0, -suffix.length) : move.to;
}

const mapperReads = (facts: Facts) => facts.mapper?.readsFor(facts.field) ?? [];

const readsStatedField = (facts: Facts) =>
  mapperReads(facts).some((path) => path === facts.field || path.startsWith(`${facts.field}.`));

/**
 * A field whose values reappear upstream under another path (the delta's `moved` changes) while
 * the mapper still reads the old one; `accepts` tells a rename from a move by the new path.
 */
function relocationRule(
  fault_class: 'renamed-field' | 'moved-field',
  verb: string,
  accepts: (newPath: string) => boolean,
): Rule {
  return {
    fault_class,
    match(facts) {
      const move = movesOf(facts).find((m) => accepts(newPathOf(facts, m)));
      if (!move || !readsStatedField(facts)) return undefined;
      return {
        sourcePath: newPathOf(facts, move),
        oldSourcePath: facts.field,
        evidence: [
          ...missingEvidence(facts),
          {
            source: 'catalog.delta',
            summary: `upstream ${verb} ${move.from} to ${move.to} for ${move.change.sku_count} SKU(s)`,
            values: move.change,
            weight: 0.45,
          },
          {
            source: 'static-analysis',
            summary: `${facts.mapper?.symbol} still reads item.${mapperReads(facts).join(', item.')}`,
            values: { reads: mapperReads(facts) },
            weight: 0.3,
          },
        ],
      };
    },
  };
}

/** The rule set, most specific first; the first that matches with any evidence wins. */
export const rules: readonly Rule[] = [
  {
    // Probes time out or get 5xx, and no record evidence says the data is wrong.
    fault_class: 'dependency-down',
    match(facts) {
      const down = facts.signals.filter((s) => s.kind === 'DependencyDown');
      if (down.length === 0 || dataSignals(facts).length > 0) return undefined;
      return {
        evidence: down.map((signal) => ({
          source: 'probe' as const,
          summary: signal.message ?? 'the target did not answer',
          values: { request: signal.request, skus: signal.skus.slice(0, 10) },
          weight: 0.5,
        })),
      };
    },
  },
  // The field's values arrive under another top-level name; the mapper still reads the old.
  relocationRule('renamed-field', 'renamed', (path) => !path.includes('.')),
  // The values moved into (or out of) a nested object; the mapper reads the old path.
  relocationRule('moved-field', 'moved', (path) => path.includes('.')),
  {
    // The value arrives with another JSON type than the contract wants.
    fault_class: 'type-drift',
    match(facts) {
      const retyped = changesOf(facts, ['type_changed']);
      const wrongTyped = dataSignals(facts).flatMap((s) =>
        s.samples.filter((sample) => !isMissing(sample.value)),
      );
      if (retyped.length === 0 || wrongTyped.length === 0) return undefined;
      const before = retyped[0]?.samples[0]?.old;
      const expectedType =
        typeof before === 'number'
          ? Number.isInteger(before)
            ? ('integer' as const)
            : ('number' as const)
          : typeof before === 'boolean'
            ? ('boolean' as const)
            : ('string' as const);
      return {
        expectedType,
        sourcePath: facts.field,
        evidence: [
          {
            source: 'signal',
            summary: `${facts.field} arrives as ${jsonType(wrongTyped[0]?.value)} in records`,
            values: { samples: wrongTyped.slice(0, 5) },
            weight: 0.35,
          },
          ...retyped.map((change) => ({
            source: 'catalog.delta' as const,
            summary: `upstream changed the type of ${change.field} for ${change.sku_count} SKU(s)`,
            values: change,
            weight: 0.4,
          })),
          ...(readsStatedField(facts)
            ? [
                {
                  source: 'static-analysis' as const,
                  summary: `${facts.mapper?.symbol} copies item.${facts.field} without coercion`,
                  values: { reads: mapperReads(facts) },
                  weight: 0.2,
                },
              ]
            : []),
        ],
      };
    },
  },
  {
    // A value outside the contract's enum arrives upstream and is copied as is.
    fault_class: 'enum-drift',
    match(facts) {
      const allowed = facts.enumValues;
      if (!allowed || allowed.length === 0) return undefined;
      const changed = changesOf(facts, ['changed']).filter((change) =>
        change.samples.some((s) => typeof s.new === 'string' && !allowed.includes(s.new)),
      );
      const outside = dataSignals(facts).flatMap((s) =>
        s.samples.filter((sample) => JSON.stringify(sample.value ?? null).match(/"[^"]*"/)),
      );
      if (changed.length === 0 || outside.length === 0) return undefined;
      return {
        sourcePath: facts.field,
        evidence: [
          {
            source: 'signal',
            summary: `${facts.field} holds a value outside ${allowed.join(' | ')}`,
            values: { samples: outside.slice(0, 5) },
            weight: 0.35,
          },
          ...changed.map((change) => ({
            source: 'catalog.delta' as const,
            summary: `upstream sends new values for ${change.field} on ${change.sku_count} SKU(s)`,
            values: change,
            weight: 0.4,
          })),
        ],
      };
    },
  },
  {
    // The contract needs the field; the upstream still sends it; the mapper does not write it.
    fault_class: 'dropped-field',
    match(facts) {
      const { mapper } = facts;
      if (!mapper || mapper.spreads || mapper.writes.has(facts.field)) return undefined;
      const missing = missingEvidence(facts);
      if (missing.length === 0) return undefined;
      const upstreamStillSends =
        changesOf(facts, ['removed', 'moved']).length === 0 &&
        facts.deltas.some((c) => c.field === facts.field || c.field.startsWith(`${facts.field}.`));
      const evidence: Evidence[] = [
        ...missing,
        {
          source: 'static-analysis',
          summary: `${mapper.symbol} (${mapper.file}:${mapper.start_line}-${mapper.end_line}) never writes ${facts.field}`,
          values: { writes: [...mapper.writes] },
          weight: 0.4,
        },
      ];
      if (facts.release?.removedWrites.includes(facts.field)) {
        evidence.push({
          source: 'release-diff',
          summary: `release ${facts.release.active_id} removed the ${facts.field} mapping that ${facts.release.parent_id} had`,
          values: { diff: facts.release.diff },
          weight: 0.4,
        });
      }
      if (upstreamStillSends) {
        evidence.push({
          source: 'catalog.delta',
          summary: `upstream still sends ${facts.field} (its values changed in the push)`,
          values: changesOf(facts, ['changed', 'added', 'type_changed']),
          weight: 0.2,
        });
      }
      return { sourcePath: facts.field, evidence };
    },
  },
];

/** Applies the rules in order; `unknown` with whatever evidence there is when none matches. */
export function diagnose(facts: Facts): Finding {
  for (const rule of rules) {
    const matched = rule.match(facts);
    if (matched && matched.evidence.length > 0) {
      return {
        ...matched,
        fault_class: rule.fault_class,
        confidence: confidenceOf(matched.evidence),
      };
    }
  }
  const evidence = missingEvidence(facts);
  return { fault_class: 'unknown', evidence, confidence: confidenceOf(evidence) };
}
