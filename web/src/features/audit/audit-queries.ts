import { useQuery } from '@tanstack/react-query';
import { getJson } from '../../lib/api.js';
import { AuditChainReportSchema, AuditListSchema } from './audit-schema.js';

export const auditKeys = {
  all: ['audit'] as const,
  list: (limit: number, incidentId?: string) =>
    ['audit', 'list', { limit, incident: incidentId ?? null }] as const,
  verify: () => ['audit', 'verify'] as const,
};

/** Audit entries, newest first; only one incident's with `incidentId`. */
export function useAuditEntries(limit: number, incidentId?: string) {
  return useQuery({
    queryKey: auditKeys.list(limit, incidentId),
    queryFn: async ({ signal }) => {
      const params = new URLSearchParams({ limit: String(limit) });
      if (incidentId) params.set('incident_id', incidentId);
      const { entries } = await getJson(`/api/audit?${params}`, AuditListSchema, signal);
      return entries;
    },
  });
}

/** The chain's verification: recomputed on the server on every read. */
export function useAuditVerification() {
  return useQuery({
    queryKey: auditKeys.verify(),
    queryFn: ({ signal }) => getJson('/api/audit/verify', AuditChainReportSchema, signal),
  });
}
