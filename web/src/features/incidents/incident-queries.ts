import { useQueries, useQuery } from '@tanstack/react-query';
import { fetchIncident, fetchIncidents, fetchReleases } from './incident-api.js';
import type { IncidentStatus, IncidentSummary } from './incident-schema.js';

/** How many incidents the live view follows. */
export const LIVE_INCIDENT_LIMIT = 12;

/** While the stream is down, reads poll at this pace so the page keeps moving. */
export const FALLBACK_POLL_MS = 5_000;

/** Query keys of incident reads, so the stream can invalidate exactly what a frame changed. */
export const incidentKeys = {
  all: ['incidents'] as const,
  list: () => ['incidents', 'list'] as const,
  detail: (id: string) => ['incidents', 'detail', id] as const,
};

export const releaseKeys = { all: ['releases'] as const };

/** The newest incidents; polls only when `poll` (the stream is down). */
export function useIncidents(options: { poll: boolean }) {
  return useQuery({
    queryKey: incidentKeys.list(),
    queryFn: ({ signal }) => fetchIncidents(LIVE_INCIDENT_LIMIT, signal),
    refetchInterval: options.poll ? FALLBACK_POLL_MS : false,
  });
}

/** One incident with its steps; polls only when `poll` (the stream is down) and it may move. */
export function useIncident(id: string, options: { poll: boolean }) {
  return useQuery({
    queryKey: incidentKeys.detail(id),
    queryFn: ({ signal }) => fetchIncident(id, signal),
    refetchInterval: (query) =>
      options.poll && !(query.state.data && isSettled(query.state.data.status))
        ? FALLBACK_POLL_MS
        : false,
  });
}

/** The demo target's releases; absent (404) when this runtime runs no target. */
export function useReleases() {
  return useQuery({
    queryKey: releaseKeys.all,
    queryFn: ({ signal }) => fetchReleases(signal),
    retry: false,
  });
}

/** Statuses after which nothing moves unless a person acts: no need to poll them. */
export function isSettled(status: IncidentStatus): boolean {
  return ['healed', 'rejected', 'rolled_back', 'failed', 'escalated'].includes(status);
}

/** The details of several incidents (one query each, shared with any other reader). */
export function useIncidentDetails(
  summaries: readonly IncidentSummary[],
  options: { poll: boolean },
) {
  return useQueries({
    queries: summaries.map((summary) => ({
      queryKey: incidentKeys.detail(summary.id),
      queryFn: ({ signal }: { signal: AbortSignal }) => fetchIncident(summary.id, signal),
      refetchInterval: options.poll && !isSettled(summary.status) ? FALLBACK_POLL_MS : false,
    })),
  });
}
