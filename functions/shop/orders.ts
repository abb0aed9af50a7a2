import type { CatalogItem } from './catalog.js';
import { createRandom, FLAGSHIP_SKU, seedCatalog } from './seed.js';

/** One line of an order. */
export interface OrderItem {
  readonly sku: string;
  readonly quantity: number;
}

/** An order of the demo shop's fixture. */
export interface Order {
  readonly order_id: string;
  /** ISO 8601; return windows are counted from here. */
  readonly placed_at: string;
  readonly items: readonly OrderItem[];
}

/** The order of the flagship scenario: it holds {@link FLAGSHIP_SKU}. */
export const FLAGSHIP_ORDER_ID = '8734';

/** How long before `now` the flagship order was placed: well inside a 30-day window. */
export const FLAGSHIP_ORDER_AGE_DAYS = 5;

const DAY_MS = 86_400_000;

export interface SeedOrdersOptions {
  /** Order dates are placed relative to this time, so windows stay meaningful in a live demo. */
  readonly now: Date;
  /** Catalog the orders draw SKUs from (default: {@link seedCatalog}'s default catalog). */
  readonly catalog?: readonly CatalogItem[];
  /** Orders besides the flagship one (default 40). */
  readonly count?: number;
  readonly seed?: number;
}

let defaultCatalog: readonly CatalogItem[] | undefined;

/**
 * The orders fixture: order {@link FLAGSHIP_ORDER_ID} with {@link FLAGSHIP_SKU}, placed
 * {@link FLAGSHIP_ORDER_AGE_DAYS} days before `now`, and `count` other orders spread across the
 * catalog's categories, placed 0 to 120 days before `now` (so some windows have closed).
 * Order ids and contents depend on the seed only; dates depend on `now` too.
 *
 * @example
 * ```ts
 * const orders = seedOrders({ now: new Date() });
 * findOrder(orders, '8734')?.items; // [{ sku: 'SKU-1001', quantity: 1 }]
 * ```
 */
export function seedOrders(options: SeedOrdersOptions): Order[] {
  defaultCatalog ??= seedCatalog();
  const catalog = options.catalog ?? defaultCatalog;
  const count = Math.max(0, Math.floor(options.count ?? 40));
  const random = createRandom(options.seed ?? 8734);
  const now = options.now.getTime();

  const byCategory = new Map<string, string[]>();
  for (const item of catalog) {
    const skus = byCategory.get(item.category) ?? [];
    skus.push(item.sku);
    byCategory.set(item.category, skus);
  }
  const categories = [...byCategory.keys()].sort();
  const allSkus = catalog.map((item) => item.sku);
  const pick = (values: readonly string[]): string | undefined =>
    values[Math.floor(random() * values.length)];

  const orders: Order[] = [
    {
      order_id: FLAGSHIP_ORDER_ID,
      placed_at: new Date(now - FLAGSHIP_ORDER_AGE_DAYS * DAY_MS).toISOString(),
      items: [{ sku: FLAGSHIP_SKU, quantity: 1 }],
    },
  ];
  let nextId = 8701;
  for (let index = 0; index < count; index++) {
    if (String(nextId) === FLAGSHIP_ORDER_ID) nextId++;
    // Each order leads with a SKU from the next category in turn, so every category is ordered.
    const category = categories[index % Math.max(1, categories.length)];
    const lead = pick(byCategory.get(category ?? '') ?? allSkus);
    const skus = new Set(lead ? [lead] : []);
    const extra = Math.floor(random() * 3);
    for (let line = 0; line < extra; line++) {
      const sku = pick(allSkus);
      if (sku) skus.add(sku);
    }
    const ageMs = Math.floor(random() * 120 * DAY_MS);
    orders.push({
      order_id: String(nextId++),
      placed_at: new Date(now - ageMs).toISOString(),
      items: [...skus].map((sku) => ({ sku, quantity: 1 + Math.floor(random() * 3) })),
    });
  }
  return orders;
}

/** The order with this id, if any. */
export function findOrder(orders: readonly Order[], orderId: string): Order | undefined {
  return orders.find((order) => order.order_id === orderId);
}

/** Orders with at least one line for `sku`, in fixture order (the flagship order first). */
export function ordersContaining(orders: readonly Order[], sku: string): Order[] {
  return orders.filter((order) => order.items.some((item) => item.sku === sku));
}
