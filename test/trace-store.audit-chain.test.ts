import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  auditEntryHash,
  canonicalJson,
  createAuditChainVerifier,
} from '../functions/adapters/store/audit-chain.js';
import { MIGRATIONS_FOLDER } from '../functions/adapters/store/sql-trace-store.js';
import { AUDIT_GENESIS_HASH, type AuditEntry } from '../functions/ports/trace-store.js';

/** A valid chain of `length` entries built with the real hash function. */
function chain(length: number): AuditEntry[] {
  const entries: AuditEntry[] = [];
  for (let seq = 1; seq <= length; seq++) {
    const content = {
      seq,
      at: new Date(Date.UTC(2025, 0, 31, 2, 0, seq)).toISOString(),
      actor: 'heal',
      action: 'release.activated',
      incident_id: seq % 2 === 0 ? 'inc-1' : null,
      detail: { seq },
      prev_hash: entries.at(-1)?.hash ?? AUDIT_GENESIS_HASH,
    };
    entries.push({ ...content, hash: auditEntryHash(content) });
  }
  return entries;
}

function verify(entries: readonly AuditEntry[]) {
  const verifier = createAuditChainVerifier();
  for (const entry of entries) verifier.add(entry);
  return verifier.report();
}

describe('Trace store: audit chain', () => {
  it('serializes objects with sorted keys at every level and no whitespace', () => {
    expect(canonicalJson({ b: 1, a: [true, { d: null, c: 'x', e: undefined }] })).toBe(
      '{"a":[true,{"c":"x","d":null}],"b":1}',
    );
  });

  it('hashes the canonical array of seq, at, actor, action, incident_id, detail and prev_hash', () => {
    const content = {
      seq: 1,
      at: '2025-01-31T02:00:00.000Z',
      actor: 'heal',
      action: 'release.activated',
      incident_id: 'inc-1',
      detail: { release: 'R2', from: 'R1' },
      prev_hash: AUDIT_GENESIS_HASH,
    };
    const expected = createHash('sha256')
      .update(
        `[1,"2025-01-31T02:00:00.000Z","heal","release.activated","inc-1",{"from":"R1","release":"R2"},"${AUDIT_GENESIS_HASH}"]`,
      )
      .digest('hex');

    expect(auditEntryHash(content)).toBe(expected);
    expect(expected).toBe('f4e865ebbdbc6eb3f51514f40a024bcb14b25190fa2921189754e2b76e8a030b');
  });

  it('accepts an intact chain and an empty one', () => {
    expect(verify(chain(4))).toEqual({ ok: true, entries: 4 });
    expect(verify([])).toEqual({ ok: true, entries: 0 });
  });

  it('reports an altered entry once, at its seq', () => {
    const entries = chain(5).map((entry) =>
      entry.seq === 2 ? { ...entry, actor: 'mallory' } : entry,
    );

    expect(verify(entries)).toEqual({
      ok: false,
      entries: 5,
      first_broken: { seq: 2, reason: 'hash_mismatch' },
    });
  });

  it('reports a removed entry at the entry that follows the gap', () => {
    const entries = chain(5).filter((entry) => entry.seq !== 3);

    expect(verify(entries).first_broken).toEqual({ seq: 4, reason: 'seq_gap' });
  });

  it('reports a removal hidden by renumbering as a broken link', () => {
    const [one, , three] = chain(3);
    if (one === undefined || three === undefined) throw new Error('chain too short');
    const renumbered = { ...three, seq: 2 };

    expect(verify([one, { ...renumbered, hash: auditEntryHash(renumbered) }]).first_broken).toEqual(
      { seq: 2, reason: 'prev_hash_mismatch' },
    );
  });

  it('keeps migrations free of schema qualifiers, so search_path decides the schema', async () => {
    const files = (await readdir(MIGRATIONS_FOLDER)).filter((file) => file.endsWith('.sql'));
    const texts = await Promise.all(
      files.map((file) => readFile(join(MIGRATIONS_FOLDER, file), 'utf8')),
    );

    expect(files.length).toBeGreaterThan(0);
    // drizzle-kit writes `REFERENCES "public"."t"`; generated migrations must be edited to drop it.
    for (const text of texts) {
      const statements = text.replace(/^--.*$/gm, '');
      expect(statements).not.toMatch(/"?public"?\s*\./i);
    }
  });
});
