import { fileURLToPath } from 'node:url';
import { buildRelease, type Release } from '../target/releases.js';
import { SHOP_MAPPER_FILE } from './mapper-file.js';

export { SHOP_MAPPER_FILE };

/**
 * Where each named release's source is kept, repository-relative.
 *
 * - `R1` is the live mapper file, correct.
 * - `R2` is a refactor that reorders the record literal and drops `return_policy`; the
 *   `as ProductRecord` it added is what let the omission type-check. Its source is a real
 *   TypeScript file beside R1, not a string, so `tsc` keeps checking it against the same types,
 *   and its import specifiers match R1's byte for byte, so the R1 → R2 diff shows only the
 *   refactor. It is never imported by the shop: it only ever runs as a release bundle.
 * - `R3` is another refactor, from R1, that stops copying `currency` ("prices are shown in the
 *   storefront's currency"), with the same `as ProductRecord` hiding the omission. Like R2 it
 *   exists only to be injected as a fault of the target's own code.
 */
export const SHOP_RELEASE_SOURCES = {
  R1: SHOP_MAPPER_FILE,
  R2: 'functions/shop/catalog-sync-r2.ts',
  R3: 'functions/shop/catalog-sync-r3.ts',
} as const;
export type ShopReleaseId = keyof typeof SHOP_RELEASE_SOURCES;

/** The repository root, found from this module's location (the shop runs from the source tree). */
export const SHOP_REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Builds one of the shop's named releases from its source, as if it were the mapper file.
 *
 * @example
 * ```ts
 * const r1 = await buildShopRelease('R1');
 * const r2 = await buildShopRelease('R2', { parent: r1 });
 * ```
 */
export function buildShopRelease(
  id: ShopReleaseId,
  options: { readonly parent?: Release; readonly repoRoot?: string } = {},
): Promise<Release> {
  return buildRelease({
    id,
    path: SHOP_MAPPER_FILE,
    sourceFile: SHOP_RELEASE_SOURCES[id],
    repoRoot: options.repoRoot ?? SHOP_REPO_ROOT,
    ...(options.parent ? { parent: options.parent } : {}),
  });
}
