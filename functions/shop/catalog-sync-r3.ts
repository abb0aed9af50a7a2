import type { CatalogItem } from './catalog.js';
import type { ProductRecord } from './contract.js';

/**
 * Maps one upstream catalog item to the product record the shop stores.
 *
 * Kept deliberately plain, one property per line and type-only imports: the healing system reads
 * this file with the TypeScript compiler API, patches it with AST templates and bundles it alone
 * into a release.
 *
 * @param item - a feed item, already parsed by the sync
 * @param syncedAt - ISO 8601 time of the sync, passed in so the mapping stays deterministic
 */
export function toProductRecord(item: CatalogItem, syncedAt: string): ProductRecord {
  // Prices are shown in the storefront's currency now; the record keeps only the amount.
  return {
    sku: item.sku,
    title: item.title,
    price: item.price,
    category: item.category,
    stock: item.stock,
    return_policy: item.return_policy,
    updated_at: item.updated_at,
    synced_at: syncedAt,
  } as ProductRecord;
}
