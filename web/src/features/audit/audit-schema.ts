import { z } from 'zod';

/** One link of the hash-chained audit log, as `GET /api/audit` answers it. */
export const AuditEntrySchema = z.object({
  seq: z.number().int().positive(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  incident_id: z.string().nullable(),
  detail: z.record(z.string(), z.unknown()),
  prev_hash: z.string(),
  hash: z.string(),
});
export type AuditEntry = z.infer<typeof AuditEntrySchema>;

export const AuditListSchema = z.object({ entries: z.array(AuditEntrySchema) });

/** `GET /api/audit/verify`: every hash and link recomputed, and the first break if any. */
export const AuditChainReportSchema = z.object({
  ok: z.boolean(),
  entries: z.number().int().nonnegative(),
  first_broken: z
    .object({
      seq: z.number().int(),
      reason: z.enum(['seq_gap', 'prev_hash_mismatch', 'hash_mismatch']),
    })
    .optional(),
});
export type AuditChainReport = z.infer<typeof AuditChainReportSchema>;
