import { useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useRef } from 'react';
import { auditKeys } from '../audit/audit-queries.js';
import { incidentKeys } from './incident-queries.js';

/**
 * Marks incident reads stale when the stream reports work on them. A heal sends a burst of
 * frames within milliseconds, so invalidations are gathered for `delayMs` and sent once: one
 * refetch per incident per burst, not one per frame.
 */
export function useIncidentInvalidation(delayMs = 150): (incidentId: string | undefined) => void {
  const queryClient = useQueryClient();
  const pending = useRef(new Set<string>());
  const listStale = useRef(false);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  useEffect(() => () => clearTimeout(timer.current), []);

  return useCallback(
    (incidentId: string | undefined) => {
      if (incidentId) pending.current.add(incidentId);
      listStale.current = true;
      if (timer.current !== undefined) return;
      timer.current = setTimeout(() => {
        timer.current = undefined;
        const ids = [...pending.current];
        pending.current.clear();
        if (listStale.current) {
          listStale.current = false;
          void queryClient.invalidateQueries({ queryKey: incidentKeys.list() });
        }
        for (const id of ids) {
          void queryClient.invalidateQueries({ queryKey: incidentKeys.detail(id) });
        }
        if (ids.length > 0) void queryClient.invalidateQueries({ queryKey: auditKeys.all });
      }, delayMs);
    },
    [queryClient, delayMs],
  );
}

/**
 * Refreshes every incident read (and the audit): for when the stream comes back after a break
 * and frames may have been missed.
 */
export function useRefreshIncidents(): () => void {
  const queryClient = useQueryClient();
  return useCallback(() => {
    void queryClient.invalidateQueries({ queryKey: incidentKeys.all });
    void queryClient.invalidateQueries({ queryKey: auditKeys.all });
  }, [queryClient]);
}
