import { Panel } from '../../components/panel.js';
import { keyed } from '../../lib/keyed.js';
import type { DiagnosisSnapshot } from './incident-schema.js';

/** The root cause rca found, how sure it is (derived from evidence weights) and why. */
export function DiagnosisPanel({
  diagnosis,
  fields,
}: {
  diagnosis: DiagnosisSnapshot;
  fields: readonly string[];
}) {
  const percent = Math.round(diagnosis.confidence * 100);
  return (
    <Panel title="Diagnosis">
      <div className="flex flex-col gap-4">
        <dl className="grid grid-cols-1 gap-3 text-sm sm:grid-cols-3">
          <div>
            <dt className="text-xs uppercase tracking-wide text-slate-500">Fault class</dt>
            <dd className="mt-1 font-mono">{diagnosis.fault_class}</dd>
          </div>
          <div>
            <dt className="text-xs uppercase tracking-wide text-slate-500">Fields</dt>
            <dd className="mt-1 font-mono">{fields.length > 0 ? fields.join(', ') : '—'}</dd>
          </div>
          <div>
            <dt className="text-xs uppercase tracking-wide text-slate-500">Confidence</dt>
            <dd className="mt-1">
              <span className="flex items-center gap-2">
                <meter
                  aria-label="Confidence"
                  min={0}
                  max={100}
                  value={percent}
                  className="h-2 w-24"
                />
                <span className="font-mono">{percent}%</span>
              </span>
            </dd>
          </div>
        </dl>
        {diagnosis.fix?.source_path && (
          <p className="text-sm text-slate-300">
            Fix reads <code className="text-sky-300">item.{diagnosis.fix.source_path}</code>
            {diagnosis.fix.old_source_path && (
              <>
                {' '}
                instead of{' '}
                <code className="text-slate-400">item.{diagnosis.fix.old_source_path}</code>
              </>
            )}
            .
          </p>
        )}
        <table className="w-full text-left text-sm">
          <caption className="mb-1 text-left text-xs uppercase tracking-wide text-slate-500">
            Evidence weights
          </caption>
          <thead className="text-slate-500">
            <tr>
              <th scope="col" className="py-1 font-normal">
                source
              </th>
              <th scope="col" className="py-1 font-normal">
                finding
              </th>
              <th scope="col" className="py-1 text-right font-normal">
                weight
              </th>
            </tr>
          </thead>
          <tbody>
            {keyed(diagnosis.evidence, (item) => `${item.source}:${item.summary}`).map(
              ([key, item]) => (
                <tr key={key} className="border-t border-slate-800 align-top">
                  <td className="py-1 pr-2 font-mono text-xs text-slate-400">{item.source}</td>
                  <td className="py-1 pr-2">{item.summary}</td>
                  <td className="py-1 text-right font-mono">{item.weight.toFixed(2)}</td>
                </tr>
              ),
            )}
          </tbody>
        </table>
      </div>
    </Panel>
  );
}
