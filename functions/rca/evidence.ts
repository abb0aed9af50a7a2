import type { FieldChange } from '../../events/index.js';

/** One piece of evidence, with where it came from, what was seen and how much it weighs. */
export interface Evidence {
  readonly source: 'signal' | 'catalog.delta' | 'probe' | 'static-analysis' | 'release-diff';
  readonly summary: string;
  readonly values?: unknown;
  /** How strongly this alone points at the conclusion, in [0, 1]. */
  readonly weight: number;
}

/**
 * Combines independent pieces of evidence (noisy-OR): each one that holds removes part of the
 * remaining doubt. Derived from the evidence, never assigned: no evidence is zero confidence.
 */
export const confidenceOf = (evidence: readonly Evidence[]): number =>
  Math.round((1 - evidence.reduce((doubt, e) => doubt * (1 - e.weight), 1)) * 1000) / 1000;

/** What the mapper's source says, in the terms the rules need. */
export interface MapperFacts {
  readonly file: string;
  readonly symbol: string;
  readonly start_line: number;
  readonly end_line: number;
  /** Record fields the mapper writes. */
  readonly writes: ReadonlySet<string>;
  /** True when the mapper copies the whole item (`...item`). */
  readonly spreads: boolean;
  /** Source paths read for a record field (`item.a.b` → `a.b`). */
  readsFor(field: string): readonly string[];
  /** The line of a record field's property, when it is written. */
  lineOf(field: string): number | undefined;
}

/** What changed in the mapper between the active release and its parent. */
export interface ReleaseFacts {
  readonly active_id: string;
  readonly parent_id: string | null;
  readonly removedWrites: readonly string[];
  readonly addedWrites: readonly string[];
  /** Unified diff of the mapper, parent → active. */
  readonly diff: string | null;
}

/** A sensor's observation of one field, as rca sees it. */
export interface SignalFacts {
  readonly kind: string;
  readonly field: string;
  readonly skus: readonly string[];
  readonly sku_count: number;
  readonly samples: ReadonlyArray<{ sku: string; value: unknown }>;
  readonly release_id?: string;
  readonly push_id?: string;
  readonly request?: unknown;
  readonly message?: string;
}

/** Everything rca has gathered about one fault signature. */
export interface Facts {
  readonly target: string;
  readonly field: string;
  readonly signals: readonly SignalFacts[];
  /** Field changes of the catalog pushes around the onset. */
  readonly deltas: readonly FieldChange[];
  readonly mapper: MapperFacts | undefined;
  readonly release: ReleaseFacts | undefined;
  /** The contract's enum values for the field, when it is an enum (or holds one). */
  readonly enumValues?: readonly string[];
}
