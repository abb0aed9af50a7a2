import { formatDateTime } from '../../lib/format.js';
import { hrefFor } from '../../lib/hash-route.js';
import type { AuditEntry } from './audit-schema.js';

const short = (hash: string) => hash.slice(0, 10);

/** A compact view of an entry's detail: its scalar fields, as `key=value`. */
function detailLine(detail: Record<string, unknown>): string {
  return Object.entries(detail)
    .map(([key, value]) =>
      value !== null && typeof value === 'object'
        ? `${key}=${JSON.stringify(value)}`
        : `${key}=${String(value)}`,
    )
    .join(' ');
}

/** Audit entries with their chain links (previous hash → hash). */
export function AuditTable({
  entries,
  showIncident = true,
}: {
  entries: readonly AuditEntry[];
  showIncident?: boolean;
}) {
  return (
    <div className="overflow-x-auto">
      <table className="w-full min-w-[40rem] text-left text-sm">
        <caption className="sr-only">Audit entries</caption>
        <thead className="text-slate-500">
          <tr>
            <th scope="col" className="py-1 pr-2 font-normal">
              #
            </th>
            <th scope="col" className="py-1 pr-2 font-normal">
              at
            </th>
            <th scope="col" className="py-1 pr-2 font-normal">
              actor
            </th>
            <th scope="col" className="py-1 pr-2 font-normal">
              action
            </th>
            {showIncident && (
              <th scope="col" className="py-1 pr-2 font-normal">
                incident
              </th>
            )}
            <th scope="col" className="py-1 font-normal">
              chain
            </th>
          </tr>
        </thead>
        <tbody>
          {entries.map((entry) => (
            <tr key={entry.seq} className="border-t border-slate-800 align-top">
              <td className="py-1 pr-2 font-mono text-slate-400">{entry.seq}</td>
              <td className="whitespace-nowrap py-1 pr-2 text-slate-300">
                <time dateTime={entry.at}>{formatDateTime(entry.at)}</time>
              </td>
              <td className="py-1 pr-2 font-mono text-xs">{entry.actor}</td>
              <td className="py-1 pr-2">
                <span className="font-medium">{entry.action}</span>
                <span className="block max-w-md truncate text-xs text-slate-500">
                  {detailLine(entry.detail)}
                </span>
              </td>
              {showIncident && (
                <td className="py-1 pr-2 font-mono text-xs">
                  {entry.incident_id ? (
                    <a
                      className="text-sky-300 hover:underline"
                      href={hrefFor({ page: 'incident', id: entry.incident_id })}
                    >
                      {entry.incident_id}
                    </a>
                  ) : (
                    '—'
                  )}
                </td>
              )}
              <td
                className="whitespace-nowrap py-1 font-mono text-xs text-slate-500"
                title={`prev ${entry.prev_hash}\nhash ${entry.hash}`}
              >
                {short(entry.prev_hash)} →{' '}
                <span className="text-slate-300">{short(entry.hash)}</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
