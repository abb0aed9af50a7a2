import type { CatalogItem, ReturnPolicy } from './catalog.js';

/** Categories of the seed catalog; `clearance` holds the flagship SKU-1001. */
export const SEED_CATEGORIES = [
  'clearance',
  'apparel',
  'footwear',
  'electronics',
  'home',
  'outdoor',
] as const;
export type SeedCategory = (typeof SEED_CATEGORIES)[number];

/** The SKU of the flagship scenario: a clearance item with a standard return policy. */
export const FLAGSHIP_SKU = 'SKU-1001';

/** Fixed defaults, so every test and benchmark sees the same catalog. */
export const SEED_DEFAULTS = {
  count: 600,
  seed: 20_250_131,
  baseTime: '2025-01-31T02:00:00.000Z',
} as const;

export interface SeedCatalogOptions {
  /** Number of items; SKUs run `SKU-1001`, `SKU-1002`, … (default 600, at least 1). */
  readonly count?: number;
  /** PRNG seed; the same seed gives the same catalog. */
  readonly seed?: number;
  /** `updated_at` values lie within the 30 days before this time. */
  readonly baseTime?: string | Date;
}

/**
 * A small deterministic PRNG (mulberry32): good enough spread for fixtures, and unlike
 * `Math.random` it repeats from a seed.
 */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const NOUNS: Record<SeedCategory, readonly string[]> = {
  clearance: ['Canvas Tote', 'Desk Lamp', 'Travel Mug', 'Wool Scarf', 'Phone Stand'],
  apparel: ['Linen Shirt', 'Denim Jacket', 'Merino Sweater', 'Rain Shell', 'Chino Shorts'],
  footwear: ['Trail Runner', 'Leather Boot', 'Canvas Sneaker', 'Wool Slipper', 'Sandal'],
  electronics: ['Headphones', 'USB-C Hub', 'Smart Plug', 'E-Reader', 'Power Bank'],
  home: ['Cast Iron Pan', 'Linen Duvet', 'Glass Carafe', 'Oak Shelf', 'Table Lamp'],
  outdoor: ['Camp Stove', 'Daypack', 'Trekking Poles', 'Hammock', 'Headlamp'],
};
const ADJECTIVES = ['Classic', 'Everyday', 'Compact', 'Premium', 'Recycled', 'Field', 'Studio'];

/**
 * Generates the demo shop's seed catalog: `count` items across {@link SEED_CATEGORIES}, with
 * {@link FLAGSHIP_SKU} always in `clearance` with a standard 30-day return policy. Pure and
 * deterministic: the same options give deeply equal output.
 *
 * @example
 * ```ts
 * const items = seedCatalog();
 * items[0]?.sku; // 'SKU-1001'
 * ```
 */
export function seedCatalog(options: SeedCatalogOptions = {}): CatalogItem[] {
  const count = Math.max(1, Math.floor(options.count ?? SEED_DEFAULTS.count));
  const random = createRandom(options.seed ?? SEED_DEFAULTS.seed);
  const base = new Date(options.baseTime ?? SEED_DEFAULTS.baseTime).getTime();
  if (Number.isNaN(base)) throw new RangeError(`invalid baseTime: ${String(options.baseTime)}`);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T;

  const items: CatalogItem[] = [];
  for (let index = 0; index < count; index++) {
    const sku = `SKU-${1001 + index}`;
    // Round-robin keeps every category populated even for small counts.
    const category: SeedCategory =
      sku === FLAGSHIP_SKU
        ? 'clearance'
        : (SEED_CATEGORIES[index % SEED_CATEGORIES.length] ?? 'clearance');
    const policy: ReturnPolicy =
      sku === FLAGSHIP_SKU ? { type: 'standard', window_days: 30 } : policyFor(category, random());
    const minutesAgo = Math.floor(random() * 30 * 24 * 60);
    items.push({
      sku,
      title: `${pick(ADJECTIVES)} ${pick(NOUNS[category])}`,
      price: Math.round((5 + random() * 495) * 100) / 100,
      currency: random() < 0.8 ? 'USD' : 'EUR',
      category,
      stock: Math.floor(random() * 250),
      return_policy: policy,
      updated_at: new Date(base - minutesAgo * 60_000).toISOString(),
    });
  }
  return items;
}

/** Clearance is mostly final sale; everything else is mostly standard, some extended. */
function policyFor(category: string, roll: number): ReturnPolicy {
  if (category === 'clearance') {
    return roll < 0.6
      ? { type: 'final_sale', window_days: 0 }
      : { type: 'standard', window_days: 30 };
  }
  if (roll < 0.2) return { type: 'extended', window_days: 90 };
  if (roll < 0.25) return { type: 'final_sale', window_days: 0 };
  return { type: 'standard', window_days: 30 };
}
