import type { IncidentSummary } from '../ports/trace-store.js';
import type { Ports } from '../runtime/ports.js';
import { type StreamHealth, streamHealth } from './stream-health.js';

/** One incident as the metrics charts need it. */
export interface IncidentPoint {
  readonly id: string;
  readonly status: IncidentSummary['status'];
  readonly fault_class: string | null;
  readonly opened_at: string;
  readonly healed_at: string | null;
  readonly ttd_ms: number | null;
  readonly ttr_ms: number | null;
}

/** What `GET /api/metrics` answers. */
export interface Metrics {
  /** The newest incidents first (at most `limit`). */
  readonly incidents: IncidentPoint[];
  readonly summary: {
    readonly incidents: number;
    readonly healed: number;
    /** Closed incidents: healed, rolled back, rejected, failed or escalated. */
    readonly closed: number;
    /** Healed among those that reached a heal decision (healed, rolled back, failed); null with none. */
    readonly heal_success_rate: number | null;
    readonly ttd_p50_ms: number | null;
    readonly ttd_p95_ms: number | null;
    readonly ttr_p50_ms: number | null;
    readonly ttr_p95_ms: number | null;
  };
  readonly by_fault_class: Record<string, number>;
  readonly by_status: Record<string, number>;
  readonly streams: Record<string, StreamHealth>;
}

/** Nearest-rank percentile of measured values; null when there are none. */
function percentile(values: readonly number[], fraction: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[index] ?? null;
}

const countBy = <T>(items: readonly T[], key: (item: T) => string) => {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
};

/**
 * Figures for the dashboard, all from recorded incidents and live stream stats: time to detect
 * and to repair per incident and their percentiles, the heal success rate, incidents by fault
 * class and status, and each stream's length, pending entries, lag and dead letters.
 */
export async function computeMetrics(ports: Ports, limit = 200): Promise<Metrics> {
  const [incidents, streams] = await Promise.all([
    ports.store.listIncidents({ limit }),
    streamHealth(ports),
  ]);
  const closedStatuses = new Set(['healed', 'rolled_back', 'rejected', 'failed', 'escalated']);
  const decided = incidents.filter((i) => ['healed', 'rolled_back', 'failed'].includes(i.status));
  const healed = incidents.filter((i) => i.status === 'healed');
  const ttd = incidents.flatMap((i) => (i.ttd_ms === null ? [] : [i.ttd_ms]));
  const ttr = healed.flatMap((i) => (i.ttr_ms === null ? [] : [i.ttr_ms]));
  return {
    incidents: incidents.map(
      ({ id, status, fault_class, opened_at, healed_at, ttd_ms, ttr_ms }) => ({
        id,
        status,
        fault_class,
        opened_at,
        healed_at,
        ttd_ms,
        ttr_ms,
      }),
    ),
    summary: {
      incidents: incidents.length,
      healed: healed.length,
      closed: incidents.filter((i) => closedStatuses.has(i.status)).length,
      heal_success_rate: decided.length === 0 ? null : healed.length / decided.length,
      ttd_p50_ms: percentile(ttd, 0.5),
      ttd_p95_ms: percentile(ttd, 0.95),
      ttr_p50_ms: percentile(ttr, 0.5),
      ttr_p95_ms: percentile(ttr, 0.95),
    },
    by_fault_class: countBy(incidents, (i) => i.fault_class ?? 'undiagnosed'),
    by_status: countBy(incidents, (i) => i.status),
    streams,
  };
}
