import { seedCatalog } from './seed.js';

/** A catalog push body as the upstream feed sends it to `/webhooks/catalog`. */
export interface CatalogPushBody {
  readonly catalog_version: string;
  readonly pushed_at: string;
  readonly items: ReadonlyArray<Record<string, unknown>>;
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
