import {
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ReferenceLine,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { formatDuration } from '../../lib/format.js';
import type { ScenarioRow } from './evaluation-rows.js';
import type { Metrics } from './metrics-schema.js';

const AXIS = { stroke: '#64748b', fontSize: 12 } as const;
const TOOLTIP = {
  contentStyle: { background: '#0f172a', border: '1px solid #334155', borderRadius: 8 },
  labelStyle: { color: '#cbd5e1' },
} as const;

const msLabel = (value: unknown) => (typeof value === 'number' ? formatDuration(value) : '—');

/**
 * Time to detect and time to repair of each incident, oldest first, with the p50 and p95 of
 * each as reference lines.
 */
export function TimesChart({ metrics }: { metrics: Metrics }) {
  const data = [...metrics.incidents]
    .sort((a, b) => a.opened_at.localeCompare(b.opened_at))
    .map((incident) => ({
      id: incident.id,
      at: new Date(incident.opened_at).toLocaleTimeString(),
      ttd: incident.ttd_ms,
      ttr: incident.ttr_ms,
    }));
  const { summary } = metrics;
  return (
    <figure aria-label="Time to detect and time to repair per incident" className="h-72 w-full">
      <ResponsiveContainer width="100%" height="100%">
        <LineChart data={data} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
          <CartesianGrid stroke="#1e293b" strokeDasharray="3 3" />
          <XAxis dataKey="at" {...AXIS} />
          <YAxis {...AXIS} tickFormatter={(value: number) => formatDuration(value)} width={72} />
          <Tooltip {...TOOLTIP} formatter={msLabel} />
          <Legend />
          <Line name="TTD" type="monotone" dataKey="ttd" stroke="#38bdf8" dot connectNulls />
          <Line name="TTR" type="monotone" dataKey="ttr" stroke="#34d399" dot connectNulls />
          {summary.ttr_p50_ms !== null && (
            <ReferenceLine
              y={summary.ttr_p50_ms}
              stroke="#34d399"
              strokeDasharray="4 4"
              label={{
                value: 'TTR p50',
                fill: '#34d399',
                fontSize: 11,
                position: 'insideTopRight',
              }}
            />
          )}
          {summary.ttr_p95_ms !== null && (
            <ReferenceLine
              y={summary.ttr_p95_ms}
              stroke="#f59e0b"
              strokeDasharray="4 4"
              label={{
                value: 'TTR p95',
                fill: '#f59e0b',
                fontSize: 11,
                position: 'insideTopRight',
              }}
            />
          )}
          {summary.ttd_p95_ms !== null && (
            <ReferenceLine
              y={summary.ttd_p95_ms}
              stroke="#38bdf8"
              strokeDasharray="2 6"
              label={{
                value: 'TTD p95',
                fill: '#38bdf8',
                fontSize: 11,
                position: 'insideBottomRight',
              }}
            />
          )}
        </LineChart>
      </ResponsiveContainer>
    </figure>
  );
}

/** A count per category as horizontal bars (incidents by fault class, by status). */
export function CountChart({
  counts,
  label,
  color,
}: {
  counts: Record<string, number>;
  label: string;
  color: string;
}) {
  const data = Object.entries(counts)
    .map(([name, count]) => ({ name, count }))
    .sort((a, b) => b.count - a.count);
  return (
    <figure aria-label={label} className="w-full" style={{ height: 48 + data.length * 36 }}>
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={data} layout="vertical" margin={{ top: 4, right: 16, bottom: 4, left: 8 }}>
          <CartesianGrid stroke="#1e293b" strokeDasharray="3 3" horizontal={false} />
          <XAxis type="number" allowDecimals={false} {...AXIS} />
          <YAxis type="category" dataKey="name" width={120} {...AXIS} />
          <Tooltip {...TOOLTIP} cursor={{ fill: '#1e293b' }} />
          <Bar dataKey="count" name="incidents" fill={color} radius={[0, 4, 4, 0]} />
        </BarChart>
      </ResponsiveContainer>
    </figure>
  );
}

/** Entries not yet delivered (lag) and delivered but unacknowledged (pending), per stream. */
export function StreamLagChart({ streams }: { streams: Metrics['streams'] }) {
  const data = Object.entries(streams).map(([name, stats]) => ({
    name,
    lag: stats.lag,
    pending: stats.pending,
    dead: stats.dead_letters ?? 0,
  }));
  return (
    <figure aria-label="Stream lag" className="h-72 w-full">
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={data} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
          <CartesianGrid stroke="#1e293b" strokeDasharray="3 3" />
          <XAxis dataKey="name" {...AXIS} interval={0} angle={-25} textAnchor="end" height={64} />
          <YAxis allowDecimals={false} {...AXIS} width={40} />
          <Tooltip {...TOOLTIP} cursor={{ fill: '#1e293b' }} />
          <Legend />
          <Bar dataKey="lag" name="lag" fill="#f59e0b" />
          <Bar dataKey="pending" name="pending" fill="#38bdf8" />
          <Bar dataKey="dead" name="dead letters" fill="#ef4444" />
        </BarChart>
      </ResponsiveContainer>
    </figure>
  );
}

/** Longest scenario id the axis prints in full; the tooltip always names the whole id. */
const SCENARIO_LABEL_CHARS = 22;

const shortLabel = (id: string) =>
  id.length > SCENARIO_LABEL_CHARS ? `${id.slice(0, SCENARIO_LABEL_CHARS - 1)}…` : id;

/**
 * Median time to detect and time to repair per scenario of a harness run, as paired horizontal
 * bars; a scenario that measured neither (a control) keeps its row, empty.
 */
export function EvaluationTimesChart({ rows }: { rows: readonly ScenarioRow[] }) {
  const data = rows.map((row) => ({ id: row.id, ttd: row.ttd_median_ms, ttr: row.ttr_median_ms }));
  return (
    <figure
      aria-label="Median time to detect and repair per scenario"
      className="w-full"
      style={{ height: 72 + data.length * 44 }}
    >
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={data} layout="vertical" margin={{ top: 4, right: 16, bottom: 4, left: 8 }}>
          <CartesianGrid stroke="#1e293b" strokeDasharray="3 3" horizontal={false} />
          <XAxis type="number" {...AXIS} tickFormatter={(value: number) => formatDuration(value)} />
          <YAxis
            type="category"
            dataKey="id"
            width={140}
            {...AXIS}
            tickFormatter={(value: string) => shortLabel(value)}
          />
          <Tooltip {...TOOLTIP} cursor={{ fill: '#1e293b' }} formatter={msLabel} />
          <Legend />
          <Bar dataKey="ttd" name="TTD (median)" fill="#38bdf8" radius={[0, 4, 4, 0]} />
          <Bar dataKey="ttr" name="TTR (median)" fill="#34d399" radius={[0, 4, 4, 0]} />
        </BarChart>
      </ResponsiveContainer>
    </figure>
  );
}
