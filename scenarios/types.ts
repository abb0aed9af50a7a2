import type { CatalogItem } from '../functions/shop/catalog.js';
import type { ShopReleaseId } from '../functions/shop/releases.js';

/** The fault classes a scenario can carry; `none` is a no-fault control. */
export type ScenarioClass =
  | 'dropped-field'
  | 'renamed-field'
  | 'moved-field'
  | 'type-drift'
  | 'enum-drift'
  | 'dependency-down'
  | 'multiple'
  | 'none';

/**
 * What a correct system does about the scenario, judged from outside:
 * - `healed`: the invariant is restored with no person involved;
 * - `escalated`: the fault is noticed and left to a person (nothing patched);
 * - `none`: a control; nothing is noticed and nothing is patched.
 */
export type ExpectedOutcome = 'healed' | 'escalated' | 'none';

/** A fault the harness can also observe: which field, and of which class. */
export interface ExpectedDiagnosis {
  readonly fault_class: Exclude<ScenarioClass, 'multiple' | 'none'>;
  /** The contract field at fault (top-level), or `undefined` for a dependency. */
  readonly field?: string;
}

/** One catalog push of the workload, in the documented (fault-free) shape. */
export interface WorkloadPush {
  /** Items as a correct upstream would send them; `updated_at` is stamped by the harness. */
  readonly items: readonly CatalogItem[];
  /**
   * The fault the upstream puts into the push: applied to each item before it is signed and
   * sent. The fault-free run of the scenario sends `items` unchanged.
   */
  readonly fault?: (item: CatalogItem) => Record<string, unknown>;
}

/** A customer call during the run: a returns eligibility check, as a shopper's browser sends. */
export interface CustomerCall {
  readonly order_id: string;
  readonly sku: string;
}

/**
 * One scenario of the fault library. Its parts split in two: what the system is exposed to
 * (`release`, `dependency`, `pushes`, `calls`) and what only the harness knows (`expected`,
 * `diagnoses`, `affected`). The second half is never given to the system.
 */
export interface Scenario {
  readonly id: string;
  /** A short title for lists and buttons. */
  readonly name: string;
  /** One or two sentences a platform engineer understands: what broke and why it matters. */
  readonly description: string;
  readonly class: ScenarioClass;
  readonly expected: ExpectedOutcome;
  /** The faults in it, for scoring the diagnosis; empty for controls. */
  readonly diagnoses: readonly ExpectedDiagnosis[];
  /** A release of the target's own code made live before the workload (a code fault). */
  readonly release?: Exclude<ShopReleaseId, 'R1'>;
  /** A dependency of the target taken down for the run (its API stops answering the probes). */
  readonly dependency?: 'down';
  /** The workload: pushes sent in order through the signed webhook. */
  pushes(): readonly WorkloadPush[];
  /** Customer calls made once the pushes are accepted. */
  readonly calls?: readonly CustomerCall[];
  /** SKUs whose records the fault damages: the invariant is checked on them first. */
  affected(): readonly string[];
  /** How long the outcome may take before the scenario fails (default 10 s). */
  readonly timeoutMs?: number;
}

/** Declares a scenario with its types checked; the identity function. */
export const defineScenario = <const S extends Scenario>(scenario: S): S => scenario;
