import { seedCatalog } from './seed.js';

/** A catalog push body as the upstream feed sends it to `/webhooks/catalog`. */
export interface CatalogPushBody {
  readonly catalog_version: string;
  readonly pushed_at: string;
  readonly items: ReadonlyArray<Record<string, unknown>>;
}

/**
 * The nightly push of the `return-policy-sync` scenario: every clearance item becomes final
 * sale (no returns), stamped `now`. The push itself is correct; what breaks is the release of
 * the sync that drops the field.
 */
export function returnPolicyNightlyPush(now: Date): CatalogPushBody {
  const at = now.toISOString();
  const items = seedCatalog()
    .filter((item) => item.category === 'clearance')
    .map((item) => ({
      ...item,
      return_policy: { type: 'final_sale', window_days: 0 },
      updated_at: at,
    }));
  return { catalog_version: `nightly-${at.slice(0, 10)}-${now.getTime()}`, pushed_at: at, items };
}

/** A clean push: prices of one category move by a few percent, nothing else changes. */
export function priceChangePush(now: Date, category = 'electronics'): CatalogPushBody {
  const at = now.toISOString();
  const items = seedCatalog()
    .filter((item) => item.category === category)
    .map((item, index) => ({
      ...item,
      price: Math.round(item.price * (index % 2 === 0 ? 1.05 : 0.97) * 100) / 100,
      updated_at: at,
    }));
  return { catalog_version: `prices-${now.getTime()}`, pushed_at: at, items };
}

/** A fault the demo can inject, as the dashboard lists it. */
export interface ScenarioInfo {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  /** The fault class the system should diagnose. */
  readonly fault_class: string;
}

/** The demo's fault library. */
export const SCENARIOS: readonly ScenarioInfo[] = [
  {
    id: 'return-policy-sync',
    name: 'Return policy dropped by a sync refactor',
    description:
      'Release R2 of the catalog sync, a refactor, stops mapping return_policy; the nightly push then makes every clearance item final sale. Records get no return policy and the returns eligibility check fails.',
    fault_class: 'dropped-field',
  },
];
