import { JsonBlock } from '../../components/json-block.js';
import { Panel } from '../../components/panel.js';
import { formatTime } from '../../lib/format.js';
import { keyed } from '../../lib/keyed.js';
import { DiffView } from './diff-view.js';
import type { DiagnosisSnapshot, Evidence, SignalSnapshot } from './incident-schema.js';

const MAX_SKUS = 6;

/**
 * What the diagnosis rests on: the signals with the requests the sensors captured, the catalog
 * delta, where the mapper is and what it writes, and the release diff that broke it.
 */
export function EvidencePanel({ diagnosis }: { diagnosis: DiagnosisSnapshot }) {
  const bySource = (source: Evidence['source']) =>
    diagnosis.evidence.filter((item) => item.source === source);
  const releaseDiff = bySource('release-diff')
    .map((item) => diffOf(item.values))
    .find((diff): diff is string => diff !== undefined);

  return (
    <Panel title="Evidence">
      <div className="grid grid-cols-1 gap-6 lg:grid-cols-2">
        <section aria-label="Signals" className="flex min-w-0 flex-col gap-2">
          <h3 className="text-sm font-medium uppercase tracking-wide text-slate-400">
            Signals ({diagnosis.signals.length})
          </h3>
          {diagnosis.signals.length === 0 ? (
            <p className="text-sm text-slate-400">No signals were joined into this diagnosis.</p>
          ) : (
            <ul className="flex flex-col gap-3">
              {keyed(diagnosis.signals, (signal) => signal.id).map(([key, signal]) => (
                <SignalItem key={key} signal={signal} />
              ))}
            </ul>
          )}
        </section>

        <div className="flex min-w-0 flex-col gap-6">
          <section aria-label="Catalog delta" className="flex flex-col gap-2">
            <h3 className="text-sm font-medium uppercase tracking-wide text-slate-400">
              Catalog delta
            </h3>
            {bySource('catalog.delta').length === 0 ? (
              <p className="text-sm text-slate-400">
                No catalog delta was joined: the fault showed before (or without) a field change
                upstream.
              </p>
            ) : (
              keyed(bySource('catalog.delta'), (item) => item.summary).map(([key, item]) => (
                <div key={key} className="flex flex-col gap-1">
                  <p className="text-sm">{item.summary}</p>
                  {item.values !== undefined && <JsonBlock value={item.values} />}
                </div>
              ))
            )}
          </section>

          <section aria-label="Mapper" className="flex flex-col gap-2">
            <h3 className="text-sm font-medium uppercase tracking-wide text-slate-400">Mapper</h3>
            {diagnosis.location ? (
              <p className="font-mono text-sm">
                {diagnosis.location.file}:{diagnosis.location.start_line}–
                {diagnosis.location.end_line}{' '}
                <span className="text-slate-400">({diagnosis.location.symbol})</span>
              </p>
            ) : (
              <p className="text-sm text-slate-400">No location in the code was diagnosed.</p>
            )}
            {keyed(bySource('static-analysis'), (item) => item.summary).map(([key, item]) => (
              <div key={key} className="text-sm">
                <p>{item.summary}</p>
                <MapperFields values={item.values} />
              </div>
            ))}
          </section>

          <section aria-label="Release diff" className="flex flex-col gap-2">
            <h3 className="text-sm font-medium uppercase tracking-wide text-slate-400">
              Release diff
              {diagnosis.release?.active && (
                <span className="ml-2 normal-case tracking-normal text-slate-500">
                  {diagnosis.release.parent ?? '?'} → {diagnosis.release.active}
                </span>
              )}
            </h3>
            {keyed(bySource('release-diff'), (item) => item.summary).map(([key, item]) => (
              <p key={key} className="text-sm">
                {item.summary}
              </p>
            ))}
            {releaseDiff ? (
              <DiffView diff={releaseDiff} label="Release diff" />
            ) : (
              <p className="text-sm text-slate-400">
                No release changed the mapper before the fault.
              </p>
            )}
          </section>
        </div>
      </div>
    </Panel>
  );
}

function SignalItem({ signal }: { signal: SignalSnapshot }) {
  const more = signal.skus.length - MAX_SKUS;
  return (
    <li className="rounded-lg border border-slate-800 bg-slate-950/40 p-3 text-sm">
      <p className="flex flex-wrap items-baseline gap-x-3 gap-y-1">
        <span className="font-medium">{signal.kind}</span>
        {signal.source && <span className="text-slate-400">from {signal.source}</span>}
        {signal.occurred_at && (
          <time className="text-xs text-slate-500" dateTime={signal.occurred_at}>
            {formatTime(signal.occurred_at)}
          </time>
        )}
        <span className="text-slate-400">
          {signal.sku_count ?? signal.skus.length} SKU
          {(signal.sku_count ?? signal.skus.length) === 1 ? '' : 's'}:{' '}
          <span className="font-mono">{signal.skus.slice(0, MAX_SKUS).join(', ')}</span>
          {more > 0 && ` +${more} more`}
        </span>
      </p>
      {signal.request && (
        <details className="mt-2">
          <summary className="cursor-pointer font-mono text-xs">
            <span className="text-sky-300">{signal.request.method}</span> {signal.request.path}
            {signal.response && (
              <span className={signal.response.status >= 400 ? 'text-red-300' : 'text-emerald-300'}>
                {' '}
                → {signal.response.status}
              </span>
            )}
            <span className="font-sans text-slate-500"> · captured for replay</span>
          </summary>
          <div className="mt-1 flex flex-col gap-1">
            {signal.request.body !== undefined && (
              <>
                <span className="text-xs text-slate-500">request body</span>
                <JsonBlock value={signal.request.body} />
              </>
            )}
            {signal.response && (
              <>
                <span className="text-xs text-slate-500">response body</span>
                <JsonBlock value={signal.response.body} maxChars={600} />
              </>
            )}
          </div>
        </details>
      )}
    </li>
  );
}

function MapperFields({ values }: { values: unknown }) {
  if (typeof values !== 'object' || values === null) return null;
  const entries = Object.entries(values).filter(
    (entry): entry is [string, string[]] =>
      Array.isArray(entry[1]) && entry[1].every((item) => typeof item === 'string'),
  );
  return (
    <dl className="mt-1 flex flex-col gap-1">
      {entries.map(([name, fields]) => (
        <div key={name} className="flex flex-wrap gap-2">
          <dt className="text-slate-400">{name}</dt>
          <dd className="font-mono text-xs text-slate-300">{fields.join(', ')}</dd>
        </div>
      ))}
    </dl>
  );
}

function diffOf(values: unknown): string | undefined {
  if (typeof values === 'object' && values !== null && 'diff' in values) {
    return typeof values.diff === 'string' && values.diff.trim() ? values.diff : undefined;
  }
  return undefined;
}
