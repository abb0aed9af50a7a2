import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDynamoClients,
  type DynamoClients,
} from '../functions/adapters/kv/dynamodb-client.js';
import { createDynamoKv } from '../functions/adapters/kv/dynamodb-kv.js';
import {
  type EmbeddedDynalite,
  startDynalite,
} from '../functions/adapters/kv/embedded-dynalite.js';
import { ensureTables, tableNames } from '../functions/adapters/kv/tables.js';
import { validateRecord } from '../functions/shop/contract.js';
import {
  buildShopRelease,
  SHOP_MAPPER_FILE,
  SHOP_RELEASE_SOURCES,
  SHOP_REPO_ROOT,
} from '../functions/shop/releases.js';
import { FLAGSHIP_SKU, seedCatalog } from '../functions/shop/seed.js';
import { LocalDeployer } from '../functions/target/local-deployer.js';
import {
  buildRelease,
  type Release,
  ReleaseBuildError,
  ReleaseInputError,
  sha256,
} from '../functions/target/releases.js';
import { uniqueName } from './support/services.js';

const SYNCED_AT = '2025-02-10T11:00:00.000Z';
const item = seedCatalog({ count: 1 })[0];
const EXPORT = 'toProductRecord';

let r1: Release;
let r2: Release;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'releases-'));
  r1 = await buildShopRelease('R1');
  r2 = await buildShopRelease('R2', { parent: r1 });
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A deployer with its own bundle directory, so tests never share loaded state. */
const newDeployer = (options: { dir?: string } = {}) =>
  new LocalDeployer({
    exportName: EXPORT,
    dir: options.dir ?? mkdtempSync(path.join(dir, 'deployer-')),
  });

/** A release of arbitrary mapper source, built like any candidate. */
const releaseOf = (id: string, sourceText: string, parent?: Release) =>
  buildRelease({
    id,
    path: SHOP_MAPPER_FILE,
    sourceText,
    repoRoot: SHOP_REPO_ROOT,
    ...(parent ? { parent } : {}),
  });

describe('Target: releases', () => {
  it('addresses a release by the SHA-256 of its bundle', () => {
    expect(r1.hash).toBe(sha256(r1.bundle));
    expect(r1.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives the same hash to the same source, from a file or as text', async () => {
    const again = await buildShopRelease('R1');
    const fromText = await releaseOf('R1-text', r1.source);

    expect(again.hash).toBe(r1.hash);
    expect(fromText.hash).toBe(r1.hash);
  });

  it('gives a different hash to different code', () => {
    expect(r2.hash).not.toBe(r1.hash);
  });

  it('bundles the mapper into one module with no imports left', () => {
    expect(r1.bundle).toContain('function toProductRecord(');
    expect(r1.bundle).toMatch(/export\s*\{\s*toProductRecord\s*\}/);
    expect(r1.bundle).not.toMatch(/^\s*import\s/m);
  });

  it('keeps the source it was built from and the path it stands for', () => {
    const r2Source = readFileSync(path.join(SHOP_REPO_ROOT, SHOP_RELEASE_SOURCES.R2), 'utf8');

    expect(r2.source).toBe(r2Source);
    expect(r2.path).toBe('functions/shop/catalog-sync.ts');
  });

  it('links a release to its parent and diffs its source against the parent source', () => {
    expect(r1).toMatchObject({ id: 'R1', parent_id: null, diff: null });
    expect(r2.parent_id).toBe('R1');
    expect(r2.diff).toContain('--- a/functions/shop/catalog-sync.ts');
    expect(r2.diff).toContain('+++ b/functions/shop/catalog-sync.ts');
    expect(r2.diff).toMatch(/^-\s+return_policy: item\.return_policy,$/m);
    expect(r2.diff).not.toMatch(/^\+.*return_policy/m);
  });

  it('refuses a source that does not compile, saying where', async () => {
    const error = await releaseOf('broken', 'export function toProductRecord( {').catch(
      (caught: unknown) => caught,
    );

    expect(error).toBeInstanceOf(ReleaseBuildError);
    expect((error as ReleaseBuildError).errors[0]).toMatch(
      /^functions\/shop\/catalog-sync\.ts:1:\d+: /,
    );
  });

  it('needs exactly one of a source file and a source text', async () => {
    await expect(
      buildRelease({ id: 'neither', path: SHOP_MAPPER_FILE, repoRoot: SHOP_REPO_ROOT }),
    ).rejects.toBeInstanceOf(ReleaseInputError);
  });
});

describe('Target: local deployer', () => {
  it('activates a release and serves its mapper', async () => {
    const deployer = newDeployer();

    const result = await deployer.activate(r1);

    expect(result).toMatchObject({ ok: true, changed: true, previous: null });
    expect(deployer.active()?.release.hash).toBe(r1.hash);
    expect(validateRecord(deployer.active()?.mapper(item, SYNCED_AT)).ok).toBe(true);
  });

  it('keeps each bundle on disk under its hash', async () => {
    const deployer = newDeployer();

    await deployer.activate(r1);

    expect(readFileSync(deployer.fileOf(r1.hash), 'utf8')).toBe(r1.bundle);
    expect(path.basename(deployer.fileOf(r1.hash))).toBe(`${r1.hash}.mjs`);
  });

  it('swaps the mapper in the running process when a new release is activated', async () => {
    const deployer = newDeployer();
    await deployer.activate(r1);
    const before = deployer.active()?.mapper;

    const result = await deployer.activate(r2);

    const record = deployer.active()?.mapper(item, SYNCED_AT);
    expect(result).toMatchObject({
      ok: true,
      changed: true,
      release: { id: 'R2' },
      previous: { id: 'R1' },
    });
    expect(deployer.active()?.mapper).not.toBe(before);
    expect(record).toMatchObject({ sku: item?.sku });
    expect(validateRecord(record)).toMatchObject({
      ok: false,
      issues: [{ field: 'return_policy' }],
    });
  });

  it('treats activating the active hash again as a no-op', async () => {
    const deployer = newDeployer();
    await deployer.activate(r1);
    await deployer.activate(r2);

    const again = await deployer.activate(await buildShopRelease('R2', { parent: r1 }));

    expect(again).toMatchObject({ ok: true, changed: false, release: { hash: r2.hash } });
    expect(deployer.list().map((release) => release.id)).toEqual(['R1', 'R2']);
    const rolledBack = await deployer.rollback();
    expect(rolledBack).toMatchObject({ ok: true, release: { id: 'R1' } });
  });

  it('refuses a bundle without the mapper export and keeps the active release', async () => {
    const deployer = newDeployer();
    await deployer.activate(r1);
    const renamed = await releaseOf('R3', r1.source.replace('toProductRecord', 'toRecord'), r1);

    const result = await deployer.activate(renamed);

    expect(result).toMatchObject({ ok: false, reason: 'export_missing', release: { id: 'R3' } });
    expect(deployer.active()?.release.id).toBe('R1');
    expect(validateRecord(deployer.active()?.mapper(item, SYNCED_AT)).ok).toBe(true);
    expect(deployer.list().map((release) => release.id)).toEqual(['R1']);
  });

  it('refuses a bundle that fails to load and keeps the active release', async () => {
    const deployer = newDeployer();
    await deployer.activate(r1);
    const bundle = 'throw new Error("boom at import");\nexport function toProductRecord() {}\n';
    const throwing: Release = { ...r1, id: 'R4', bundle, hash: sha256(bundle) };

    const result = await deployer.activate(throwing);

    expect(result).toMatchObject({
      ok: false,
      reason: 'import_failed',
      message: expect.stringContaining('boom'),
    });
    expect(deployer.active()?.release.id).toBe('R1');
  });

  it('refuses a release whose bundle does not match its hash', async () => {
    const deployer = newDeployer();
    const tampered: Release = { ...r1, id: 'R5', bundle: `${r1.bundle}\n// edited` };

    const result = await deployer.activate(tampered);

    expect(result).toMatchObject({ ok: false, reason: 'hash_mismatch' });
    expect(deployer.active()).toBeUndefined();
  });

  it('rolls back to the previous release and its mapper', async () => {
    const deployer = newDeployer();
    await deployer.activate(r1);
    const r1Mapper = deployer.active()?.mapper;
    await deployer.activate(r2);

    const result = await deployer.rollback();

    expect(result).toMatchObject({
      ok: true,
      changed: true,
      release: { id: 'R1' },
      previous: { id: 'R2' },
    });
    expect(deployer.active()?.mapper).toBe(r1Mapper);
    expect(validateRecord(deployer.active()?.mapper(item, SYNCED_AT)).ok).toBe(true);
  });

  it('knows when it made a release active: on activation and on rollback, not on adoption', async () => {
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const deployer = new LocalDeployer({
      exportName: EXPORT,
      dir: mkdtempSync(path.join(dir, 'deployer-')),
      now: () => new Date(clock),
    });
    await deployer.activate(r1);
    expect(deployer.active()?.activated_at).toBe('2026-01-01T00:00:00.000Z');
    clock += 60_000;
    await deployer.activate(r2);
    expect(deployer.active()?.activated_at).toBe('2026-01-01T00:01:00.000Z');
    clock += 60_000;
    await deployer.rollback();
    expect(deployer.active()).toMatchObject({
      release: { id: 'R1' },
      activated_at: '2026-01-01T00:02:00.000Z',
    });

    // Another process activated it: when is not known here.
    const follower = newDeployer();
    expect((await follower.adopt(r2)).ok).toBe(true);
    expect(follower.active()?.release.id).toBe('R2');
    expect(follower.active()?.activated_at).toBeUndefined();
  });

  it('has nothing to roll back to after rolling back to the first release', async () => {
    const deployer = newDeployer();
    await deployer.activate(r1);
    await deployer.activate(r2);
    await deployer.rollback();

    const result = await deployer.rollback();

    expect(result).toEqual({ ok: false, reason: 'nothing_to_roll_back' });
    expect(deployer.active()?.release.id).toBe('R1');
  });

  it('runs concurrent activations one at a time', async () => {
    const deployer = newDeployer();

    const results = await Promise.all([deployer.activate(r1), deployer.activate(r2)]);

    expect(results.map((result) => result.ok && result.changed)).toEqual([true, true]);
    expect(deployer.active()?.release.id).toBe('R2');
    expect((await deployer.rollback()).ok).toBe(true);
    expect(deployer.active()?.release.id).toBe('R1');
  });

  it('reuses a bundle another deployer already wrote to the same directory', async () => {
    const shared = mkdtempSync(path.join(dir, 'shared-'));
    await newDeployer({ dir: shared }).activate(r1);
    const second = newDeployer({ dir: shared });

    const result = await second.activate(r1);

    expect(result).toMatchObject({ ok: true, changed: true });
    expect(second.active()?.mapper(item, SYNCED_AT)).toMatchObject({ sku: FLAGSHIP_SKU });
  });

  describe('with the pointer persisted through the KeyValue port (dynalite)', () => {
    let dynalite: EmbeddedDynalite | undefined;
    let clients: DynamoClients | undefined;
    const names = tableNames(uniqueName('releases'));

    beforeAll(async () => {
      dynalite = await startDynalite();
      clients = createDynamoClients({ endpoint: dynalite.endpoint });
      await ensureTables(clients.client, names);
    });
    afterAll(async () => {
      clients?.client.destroy();
      await dynalite?.stop();
    });

    it('records the active release and follows a rollback', async () => {
      if (!clients) throw new Error('dynalite not started');
      const kv = createDynamoKv(clients.doc, { transactions: 'emulated' });
      const pointer = { kv, table: names.kv, key: 'release#demo-shop' };
      const at = new Date('2025-02-10T12:00:00.000Z');
      const deployer = new LocalDeployer({
        exportName: EXPORT,
        dir: mkdtempSync(path.join(dir, 'pointer-')),
        pointer,
        now: () => at,
      });
      await deployer.activate(r1);
      await deployer.activate(r2);
      const afterActivation = await deployer.persistedPointer();

      await deployer.rollback();

      expect(afterActivation).toEqual({
        release_id: 'R2',
        hash: r2.hash,
        parent_id: 'R1',
        activated_at: at.toISOString(),
      });
      expect(await deployer.persistedPointer()).toMatchObject({ release_id: 'R1', hash: r1.hash });
      expect(await kv.get(names.kv, { pk: 'release#demo-shop' })).toMatchObject({
        release_id: 'R1',
      });
    });
  });
});
