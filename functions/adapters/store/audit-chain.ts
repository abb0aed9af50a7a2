import { createHash } from 'node:crypto';
import {
  AUDIT_GENESIS_HASH,
  type AuditBreakReason,
  type AuditChainReport,
  type AuditEntry,
} from '../../ports/trace-store.js';

/**
 * JSON with object keys sorted (UTF-16 code unit order, as `Array#sort`) at every level and no
 * whitespace, so one value has one serialization. Needed because jsonb hands keys back in its own
 * order, so the bytes hashed at append time must not depend on key order. Expects JSON data (what
 * `JSON.parse` returns); the store normalizes details that way before hashing.
 *
 * @example canonicalJson({ b: 1, a: [true, { d: null, c: 'x' }] }) // '{"a":[true,{"c":"x","d":null}],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    // Top-level undefined has no JSON form; treat it as null like an absent optional field.
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) {
    return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  }
  const record = value as Record<string, unknown>;
  const members = Object.keys(record)
    .filter((key) => record[key] !== undefined)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`);
  return `{${members.join(',')}}`;
}

/** The fields of an audit entry that its hash covers: everything except the hash itself. */
export type AuditEntryContent = Omit<AuditEntry, 'hash'>;

/**
 * SHA-256 (hex) of `canonicalJson([seq, at, actor, action, incident_id, detail, prev_hash])`.
 * A positional array rather than an object keeps the serialization independent of field names.
 */
export function auditEntryHash(entry: AuditEntryContent): string {
  const payload = canonicalJson([
    entry.seq,
    entry.at,
    entry.actor,
    entry.action,
    entry.incident_id ?? null,
    entry.detail,
    entry.prev_hash,
  ]);
  return createHash('sha256').update(payload, 'utf8').digest('hex');
}

/** Checks a chain fed in seq order, a page at a time, remembering the first break. */
export interface AuditChainVerifier {
  add(entry: AuditEntry): void;
  report(): AuditChainReport;
}

/** A verifier for a chain that starts at seq 1 with {@link AUDIT_GENESIS_HASH}. */
export function createAuditChainVerifier(): AuditChainVerifier {
  let entries = 0;
  let expectedSeq = 1;
  let expectedPrev = AUDIT_GENESIS_HASH;
  let firstBroken: { seq: number; reason: AuditBreakReason } | undefined;

  const breakAt = (entry: AuditEntry): AuditBreakReason | undefined => {
    if (entry.seq !== expectedSeq) return 'seq_gap';
    if (entry.prev_hash !== expectedPrev) return 'prev_hash_mismatch';
    if (entry.hash !== auditEntryHash(entry)) return 'hash_mismatch';
    return undefined;
  };

  return {
    add(entry) {
      entries += 1;
      if (firstBroken === undefined) {
        const reason = breakAt(entry);
        if (reason !== undefined) firstBroken = { seq: entry.seq, reason };
      }
      // Follow the stored links, so one altered entry is reported once, not for every successor.
      expectedSeq = entry.seq + 1;
      expectedPrev = entry.hash;
    },
    report() {
      return firstBroken === undefined
        ? { ok: true, entries }
        : { ok: false, entries, first_broken: firstBroken };
    },
  };
}
