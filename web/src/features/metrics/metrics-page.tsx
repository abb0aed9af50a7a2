import { useQuery } from '@tanstack/react-query';
import { Panel } from '../../components/panel.js';
import { StatTiles } from '../../components/stat-tiles.js';
import { EmptyState, ErrorState, LoadingState } from '../../components/states.js';
import { getJson } from '../../lib/api.js';
import { formatDuration, formatPercent } from '../../lib/format.js';
import { hrefFor } from '../../lib/hash-route.js';
import { HealthPanel } from '../health/health-panel.js';
import { EvaluationPanel } from './evaluation-panel.js';
import { CountChart, StreamLagChart, TimesChart } from './metrics-charts.js';
import { type Metrics, MetricsSchema } from './metrics-schema.js';

export const metricsKeys = { all: ['metrics'] as const };

/** How often the figures refresh while the page is open. */
const METRICS_REFRESH_MS = 10_000;

const ms = (value: number | null) => (value === null ? '—' : formatDuration(value));

/**
 * Figures from recorded incidents: TTD and TTR per incident with p50/p95, the heal success
 * rate, incidents by fault class, the streams' lag, the latest scenario evaluation (shown
 * whatever the incidents read), and the runtime's health.
 */
export function MetricsPage() {
  const metrics = useQuery({
    queryKey: metricsKeys.all,
    queryFn: ({ signal }) => getJson('/api/metrics', MetricsSchema, signal),
    refetchInterval: METRICS_REFRESH_MS,
  });

  return (
    <div className="flex flex-col gap-6">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight">Metrics</h1>
        <p className="text-sm text-slate-400">
          Every figure is measured around real work and recorded with the incident.
        </p>
      </div>
      {metrics.isPending ? (
        <LoadingState label="Loading metrics…" />
      ) : metrics.isError ? (
        <ErrorState what="metrics" error={metrics.error} onRetry={() => void metrics.refetch()} />
      ) : (
        <MetricsBody metrics={metrics.data} />
      )}
      <EvaluationPanel />
      <HealthPanel />
    </div>
  );
}

function MetricsBody({ metrics }: { metrics: Metrics }) {
  const { summary } = metrics;
  const tiles = [
    { label: 'Incidents', value: String(summary.incidents) },
    { label: 'Healed', value: String(summary.healed) },
    { label: 'Heal success rate', value: formatPercent(summary.heal_success_rate) },
    { label: 'TTD p50 / p95', value: `${ms(summary.ttd_p50_ms)} / ${ms(summary.ttd_p95_ms)}` },
    { label: 'TTR p50 / p95', value: `${ms(summary.ttr_p50_ms)} / ${ms(summary.ttr_p95_ms)}` },
  ];
  return (
    <>
      <StatTiles tiles={tiles} />
      {metrics.incidents.length === 0 ? (
        <EmptyState title="No incidents recorded yet">
          Charts fill in after the first incident.{' '}
          <a className="text-sky-300 hover:underline" href={hrefFor({ page: 'scenarios' })}>
            Inject a fault
          </a>{' '}
          to record one.
        </EmptyState>
      ) : (
        <div className="grid grid-cols-1 gap-6 xl:grid-cols-2">
          <Panel title="Time to detect and repair" className="xl:col-span-2">
            <TimesChart metrics={metrics} />
          </Panel>
          <Panel title="Incidents by fault class">
            <CountChart
              counts={metrics.by_fault_class}
              label="Incidents by fault class"
              color="#a78bfa"
            />
          </Panel>
          <Panel title="Incidents by status">
            <CountChart counts={metrics.by_status} label="Incidents by status" color="#34d399" />
          </Panel>
        </div>
      )}
      <Panel title="Stream lag">
        {Object.keys(metrics.streams).length === 0 ? (
          <p className="text-sm text-slate-400">The runtime reported no streams.</p>
        ) : (
          <StreamLagChart streams={metrics.streams} />
        )}
      </Panel>
    </>
  );
}
