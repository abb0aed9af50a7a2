import type { Health } from './health-schema.js';
import { useHealth } from './use-health.js';

/** The ports every runtime wires, in the order the architecture lists them. */
const PORTS = [
  { key: 'bus', label: 'Bus' },
  { key: 'store', label: 'Trace store' },
  { key: 'kv', label: 'Key-value' },
] as const;

/**
 * The runtime's status as `/healthz` reports it: which backend serves each port and how far
 * behind each stream's consumers are. Shows what the server said, or that it could not be asked.
 */
export function HealthPanel() {
  const { health, error, loading, checkedAt, refresh } = useHealth();

  return (
    <section
      aria-labelledby="health-title"
      className="rounded-xl border border-slate-800 bg-slate-900/60 p-5"
    >
      <div className="mb-4 flex items-center justify-between gap-4">
        <h2 id="health-title" className="text-lg font-medium">
          Runtime status
        </h2>
        <div className="flex items-center gap-3 text-sm text-slate-400">
          {checkedAt && <span>checked {checkedAt.toLocaleTimeString()}</span>}
          <button
            type="button"
            onClick={refresh}
            disabled={loading}
            className="rounded-md border border-slate-700 px-3 py-1 text-slate-200 hover:bg-slate-800 disabled:opacity-50"
          >
            {loading ? 'Checking…' : 'Refresh'}
          </button>
        </div>
      </div>

      {error && (
        <p role="alert" className="rounded-md bg-red-950/60 px-3 py-2 text-red-200">
          Could not load /healthz: {error}
        </p>
      )}
      {!error && !health && loading && (
        <p role="status" className="text-slate-400">
          Loading status…
        </p>
      )}
      {health && <HealthDetails health={health} />}
    </section>
  );
}

function HealthDetails({ health }: { health: Health }) {
  const healthy = health.status === 'ok';
  return (
    <div className="flex flex-col gap-5">
      <p className="flex items-center gap-2">
        <span
          aria-hidden="true"
          className={`size-2.5 rounded-full ${healthy ? 'bg-emerald-400' : 'bg-amber-400'}`}
        />
        <span>
          Status: <strong>{health.status}</strong>
        </span>
        {health.error && <span className="text-amber-300">({health.error})</span>}
      </p>

      <dl className="grid grid-cols-1 gap-3 sm:grid-cols-3">
        {PORTS.map(({ key, label }) => {
          const backend = health.backends[key];
          return (
            <div key={key} className="rounded-lg bg-slate-950/60 p-3">
              <dt className="text-xs uppercase tracking-wide text-slate-500">{label}</dt>
              <dd className="mt-1 font-mono">
                {backend ? backend.kind : <span className="text-slate-500">not reported</span>}
                {backend?.ok === false && <span className="ml-2 text-red-300">down</span>}
              </dd>
              {backend?.error && <dd className="mt-1 text-sm text-red-300">{backend.error}</dd>}
            </div>
          );
        })}
      </dl>

      {health.streams.length === 0 ? (
        <p className="text-sm text-slate-500">No stream stats reported.</p>
      ) : (
        <div className="overflow-x-auto">
          <table className="w-full min-w-[32rem] text-left text-sm">
            <caption className="mb-2 text-left text-slate-400">Streams</caption>
            <thead className="text-slate-500">
              <tr>
                <th scope="col" className="py-1 font-normal">
                  stream
                </th>
                <th scope="col" className="py-1 font-normal">
                  group
                </th>
                <th scope="col" className="py-1 text-right font-normal">
                  length
                </th>
                <th scope="col" className="py-1 text-right font-normal">
                  pending
                </th>
                <th scope="col" className="py-1 text-right font-normal">
                  lag
                </th>
                <th scope="col" className="py-1 text-right font-normal">
                  dead letters
                </th>
              </tr>
            </thead>
            <tbody className="font-mono">
              {health.streams.map((s) => (
                <tr key={`${s.stream}/${s.group ?? ''}`} className="border-t border-slate-800">
                  <td className="py-1">{s.stream}</td>
                  <td className="py-1">{s.group ?? '—'}</td>
                  <td className="py-1 text-right">{s.length}</td>
                  <td className="py-1 text-right">{s.pending}</td>
                  <td className="py-1 text-right">{s.lag}</td>
                  <td className="py-1 text-right">{s.dead_letters ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
