import { formatDuration } from '../../lib/format.js';
import type { StreamStatus, TraceStreamState } from './use-trace-stream.js';

const LOOK: Record<StreamStatus, { dot: string; label: string }> = {
  connected: { dot: 'bg-emerald-400', label: 'Live' },
  connecting: { dot: 'bg-sky-400 animate-pulse', label: 'Connecting…' },
  reconnecting: { dot: 'bg-amber-400 animate-pulse', label: 'Reconnecting…' },
  disconnected: { dot: 'bg-red-500', label: 'Disconnected' },
};

/**
 * The stream's state in one line (connected, reconnecting or disconnected) with its lag, and a
 * warning when frames were refused. Named `Stream <status>` for assistive tech and tests.
 */
export function StreamStatusIndicator({
  stream,
}: {
  stream: TraceStreamState & { reconnect: () => void };
}) {
  const look = LOOK[stream.status];
  return (
    <div className="flex flex-col items-start gap-2 sm:items-end">
      <div className="flex flex-wrap items-center gap-3 text-sm">
        <span
          role="status"
          aria-label={`Stream ${stream.status}`}
          className="inline-flex items-center gap-2 rounded-full border border-slate-700 bg-slate-900 px-3 py-1"
        >
          <span aria-hidden="true" className={`size-2 rounded-full ${look.dot}`} />
          {look.label}
          {stream.status === 'connected' && stream.lagMs !== undefined && (
            <span className="text-slate-400">lag {formatDuration(stream.lagMs)}</span>
          )}
        </span>
        {stream.status === 'disconnected' && (
          <button
            type="button"
            onClick={stream.reconnect}
            className="rounded-md border border-slate-700 px-2 py-1 text-slate-200 hover:bg-slate-800"
          >
            Retry now
          </button>
        )}
      </div>
      {stream.status !== 'connected' && (
        <p className="text-xs text-slate-400">
          {stream.status === 'disconnected'
            ? 'No live stream: incidents refresh every few seconds instead.'
            : 'Resuming the stream where it stopped…'}
        </p>
      )}
      {stream.malformed > 0 && (
        <p
          role="alert"
          aria-label="Malformed frames"
          className="max-w-md rounded-md bg-amber-950/60 px-3 py-1 text-xs text-amber-200"
        >
          ⚠ {stream.malformed} malformed {stream.malformed === 1 ? 'frame' : 'frames'} ignored
          {stream.lastProblem && (
            <span className="block text-amber-300/80">{stream.lastProblem}</span>
          )}
        </p>
      )}
    </div>
  );
}
