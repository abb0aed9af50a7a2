import os from 'node:os';
import path from 'node:path';
import type { Config } from '../runtime/config.js';
import { activeReleaseKey } from '../runtime/keys.js';
import type { Ports } from '../runtime/ports.js';
import { loadCandidate } from '../verify/candidates.js';
import { shopTarget } from './manifest.js';
import { createShopService, type ShopService } from './shop-service.js';

/**
 * The demo shop as a function that did not start it finds it: its records in the shop table, its
 * active release named by the pointer in the kv table (a verified candidate loaded from there
 * too), nothing reset. Every stage function of the AWS pipeline attaches this way at its cold
 * start, so a heal activated in one function is the release the others run from their next
 * batch on.
 *
 * @example
 * ```ts
 * const ports = await buildPorts(config, logger, { target: (base) => attachShop(config, base) });
 * ```
 */
export function attachShop(
  config: Pick<Config, 'SELFHEAL_SHOP_TABLE' | 'SELFHEAL_TARGET_ROOT'>,
  base: Pick<Ports, 'kv' | 'tables'>,
): Promise<ShopService> {
  return createShopService({
    kv: base.kv,
    table: config.SELFHEAL_SHOP_TABLE ?? base.tables.kv,
    snapshotsTable: base.tables.snapshots,
    start: 'attach',
    pointer: { kv: base.kv, table: base.tables.kv, key: activeReleaseKey(shopTarget.name).pk },
    resolveRelease: (id) => loadCandidate(base, shopTarget.name, id),
    // The only writable directory in Lambda.
    releasesDir: path.join(os.tmpdir(), 'selfheal-releases'),
    ...(config.SELFHEAL_TARGET_ROOT ? { repoRoot: config.SELFHEAL_TARGET_ROOT } : {}),
  });
}
