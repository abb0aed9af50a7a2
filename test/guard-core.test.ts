import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEvent, type DataOf } from '../events/index.js';
import { guardCore } from '../functions/guard/core.js';
import { parsePolicy } from '../functions/guard/policy.js';
import { loadProposal } from '../functions/guard/proposals.js';
import { buildPorts } from '../functions/runtime/build-ports.js';
import { parseConfig } from '../functions/runtime/config.js';
import { createLogger } from '../functions/runtime/logger.js';
import type { Ports } from '../functions/runtime/ports.js';
import { createShopService, type ShopService } from '../functions/shop/shop-service.js';
import { streams } from '../infra/topology.js';

const FILE = 'functions/shop/catalog-sync.ts';
let ports: Ports;
let shop: ShopService;
let dir: string;
let counter = 0;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'guard-core-'));
  const config = parseConfig({ PORT: '0', SELFHEAL_DATA_DIR: dir });
  ports = await buildPorts(config, createLogger('silent'), {
    target: async (base) => {
      shop = await createShopService({
        kv: base.kv,
        table: base.tables.kv,
        snapshotsTable: base.tables.snapshots,
        releasesDir: path.join(dir, 'releases'),
      });
      return shop;
    },
  });
  await shop.activateBuiltIn('R2');
}, 60_000);

afterAll(async () => {
  await ports?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A proposal on R2 whose merged file is `edit(R2 source)`. */
function proposalOf(edit: (source: string) => string, files = [FILE]): DataOf<'patch.proposal'> {
  const base = shop.release('R2');
  if (!base) throw new Error('no R2');
  const merged = edit(base.source);
  const diff = createTwoFilesPatch(`a/${files[0]}`, `b/${files[0]}`, base.source, merged);
  return {
    patch_id: `patch_guard_${++counter}`,
    target: 'demo-shop',
    files,
    diff,
    added: 1,
    removed: 0,
    applier: 'local',
    merged,
    base_release_id: 'R2',
    attempts: [],
  };
}

const theFix = (source: string) =>
  source.replace(
    '    synced_at: syncedAt,',
    '    return_policy: item.return_policy,\n    synced_at: syncedAt,',
  );

/** An incident as rca and patch leave it, with the given class and evidence. */
async function incidentOf(faultClass: string, confidence: number, skuCount = 10) {
  const id = `inc_guard_${++counter}`;
  await ports.store.createIncident({
    id,
    status: 'patched',
    fault_class: faultClass,
    target: 'demo-shop',
    fields: ['return_policy'],
    signature: `guard-test/${id}`,
    opened_at: new Date().toISOString(),
  });
  await ports.store.updateIncident(id, {
    diagnosis: { confidence, signals: [{ kind: 'SchemaMismatch', sku_count: skuCount }] },
    patch: { id: 'p', diff: '', files: [FILE], applier: 'local' },
  });
  return id;
}

async function judge(proposal: DataOf<'patch.proposal'>, incidentId: string, policy: unknown = {}) {
  const event = createEvent('patch.proposal', proposal, {
    source: 'patch',
    id: `evt_${++counter}`,
    incidentId,
  });
  const result = await guardCore(
    event,
    { ...ports, policy: parsePolicy(policy, 'test') },
    { idFor: (index) => `evt_out_${counter}_${index}` },
  );
  const incident = await ports.store.getIncident(incidentId);
  return { result, incident, guard: (incident?.patch as { guard?: unknown })?.guard };
}

describe('Guard stage', () => {
  it('approves a fit dropped-field fix at high confidence and sends it on whole', async () => {
    const proposal = proposalOf(theFix);
    const id = await incidentOf('dropped-field', 0.9);
    const { result, incident } = await judge(proposal, id);

    expect(result.status).toBe('ok');
    expect(result.outputs).toHaveLength(1);
    expect(result.outputs[0]?.stream).toBe(streams.approved);
    expect(result.outputs[0]?.event).toMatchObject({
      type: 'guard.decision',
      data: { decision: 'approved', reasons: [], proposal, fields: ['return_policy'] },
    });
    expect(incident?.status).toBe('patched');
    expect((await loadProposal(ports, proposal.patch_id))?.proposal).toEqual(proposal);
    const audit = await ports.store.listAudit({ incident_id: id, limit: 5 });
    expect(audit[0]).toMatchObject({ actor: 'guard', action: 'guard.approved' });
  });

  it('rejects an unfit patch with every reason and sends nothing on', async () => {
    const proposal = proposalOf((source) =>
      theFix(
        `import { execSync } from 'node:child_process';\n${source}`.replace(
          '    synced_at: syncedAt,',
          "    synced_at: execSync('date').toString(),\n    extra: eval('1'),",
        ),
      ),
    );
    const id = await incidentOf('dropped-field', 0.9);
    const { result, incident, guard } = await judge(proposal, id);

    expect(result.status).toBe('rejected');
    expect(result.outputs).toEqual([]);
    expect(incident?.status).toBe('rejected');
    const reasons = (guard as { reasons: string[] }).reasons;
    expect(reasons.some((r) => r.startsWith('forbidden-module:'))).toBe(true);
    expect(reasons.some((r) => r.startsWith('forbidden-construct:'))).toBe(true);
    expect(reasons.some((r) => r.startsWith('too-many-lines:') || r.startsWith('weakens'))).toBe(
      false,
    );
  });

  it('rejects a patch that edits the contract, whatever the confidence', async () => {
    const proposal = proposalOf(theFix, ['functions/shop/contract.ts']);
    const id = await incidentOf('dropped-field', 1);
    const { result, guard } = await judge(proposal, id);

    expect(result.status).toBe('rejected');
    expect((guard as { reasons: string[] }).reasons.join('\n')).toMatch(/^protected-file:/m);
  });

  it('rejects a patch that does not type-check, with the line', async () => {
    const proposal = proposalOf((source) =>
      source.replace(
        '    synced_at: syncedAt,',
        '    return_policy: item.title,\n    synced_at: syncedAt,',
      ),
    );
    const id = await incidentOf('dropped-field', 0.9);
    const { result, guard } = await judge(proposal, id);

    expect(result.status).toBe('rejected');
    expect((guard as { reasons: string[] }).reasons.join('\n')).toMatch(
      /^type-error: functions\/shop\/catalog-sync\.ts:\d+:\d+/m,
    );
  });

  it.each([
    ['a class the policy only proposes', 'enum-drift', 0.9, {}, /^policy: enum-drift/],
    ['a confidence below the threshold', 'dropped-field', 0.3, {}, /^confidence: 0\.30/],
    [
      'a freeze window',
      'dropped-field',
      0.9,
      {
        freeze_windows: [
          {
            from: new Date(Date.now() - 60_000).toISOString(),
            to: new Date(Date.now() + 3_600_000).toISOString(),
            reason: 'peak sale',
          },
        ],
      },
      /^freeze: .*peak sale/,
    ],
    [
      'a blast radius above the limit',
      'dropped-field',
      0.9,
      { max_backfill_skus: 5 },
      /^blast-radius: 10 SKUs/,
    ],
  ])(
    'holds a fit patch for a person on %s',
    async (_name, faultClass, confidence, policy, reason) => {
      const id = await incidentOf(faultClass, confidence);
      const { result, incident, guard } = await judge(proposalOf(theFix), id, policy);

      expect(result.status).toBe('awaiting_approval');
      expect(result.outputs).toEqual([]);
      expect(incident?.status).toBe('awaiting_approval');
      expect((guard as { reasons: string[] }).reasons.join('\n')).toMatch(
        new RegExp(reason.source, 'm'),
      );
    },
  );

  it('never patches an observe-only class', async () => {
    const id = await incidentOf('dependency-down', 1);
    const { result, guard } = await judge(proposalOf(theFix), id);

    expect(result.status).toBe('rejected');
    expect((guard as { reasons: string[] }).reasons[0]).toMatch(/observe-only/);
  });
});
