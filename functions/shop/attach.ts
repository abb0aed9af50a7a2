import os from 'node:os';
import path from 'node:path';
import type { Config } from '../runtime/config.js';
import { activeReleaseKey } from '../runtime/keys.js';
import type { Ports } from '../runtime/ports.js';
import { LambdaDeployer, lambdaDeployerSettingsOf } from '../target/lambda-deployer.js';
import { PointerDeployer } from '../target/release-pointer.js';
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
 * With `SELFHEAL_LAMBDA_FUNCTION` set, releases also ship to that function (the target's sync as
 * a Lambda function of its own): an activation updates its code, publishes a version and moves
 * its alias before the pointer is recorded, and a function catching up with the pointer finds
 * the alias already serving it and uploads nothing.
 *
 * @example
 * ```ts
 * const ports = await buildPorts(config, logger, { target: (base) => attachShop(config, base) });
 * ```
 */
export function attachShop(
  config: Pick<
    Config,
    | 'SELFHEAL_SHOP_TABLE'
    | 'SELFHEAL_TARGET_ROOT'
    | 'SELFHEAL_LAMBDA_FUNCTION'
    | 'SELFHEAL_LAMBDA_ALIAS'
    | 'SELFHEAL_LAMBDA_MODULE_FILE'
    | 'SELFHEAL_LAMBDA_UPDATE_TIMEOUT_MS'
  >,
  base: Pick<Ports, 'kv' | 'tables'>,
): Promise<ShopService> {
  const pointer = {
    kv: base.kv,
    table: base.tables.kv,
    key: activeReleaseKey(shopTarget.name).pk,
  };
  // The only writable directory in Lambda.
  const releasesDir = path.join(os.tmpdir(), 'selfheal-releases');
  return createShopService({
    kv: base.kv,
    table: config.SELFHEAL_SHOP_TABLE ?? base.tables.kv,
    snapshotsTable: base.tables.snapshots,
    start: 'attach',
    pointer,
    ...(config.SELFHEAL_LAMBDA_FUNCTION
      ? {
          deployer: new PointerDeployer(
            new LambdaDeployer({
              ...lambdaDeployerSettingsOf(config),
              exportName: shopTarget.mapper.export,
              dir: releasesDir,
            }),
            pointer,
          ),
        }
      : {}),
    resolveRelease: (id) => loadCandidate(base, shopTarget.name, id),
    releasesDir,
    ...(config.SELFHEAL_TARGET_ROOT ? { repoRoot: config.SELFHEAL_TARGET_ROOT } : {}),
  });
}
