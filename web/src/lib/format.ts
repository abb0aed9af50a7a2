/**
 * A measured duration for people: milliseconds below a second, seconds above.
 *
 * @example
 * formatDuration(96.38); // '96.4 ms'
 * formatDuration(1368); // '1.37 s'
 */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0 ms';
  if (ms < 1_000) return `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)} ms`;
  return `${(ms / 1_000).toFixed(2)} s`;
}

/**
 * The headline of a healed incident, from its measured time to repair.
 *
 * @example
 * healedIn(420); // 'Healed in 0.42 s'
 */
export function healedIn(ttrMs: number): string {
  return `Healed in ${(ttrMs / 1_000).toFixed(2)} s`;
}

/** A wall-clock time with milliseconds, in the viewer's time zone. */
export function formatTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleTimeString(undefined, {
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    fractionalSecondDigits: 3,
  });
}

/** A date and time, for lists that span days. */
export function formatDateTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, {
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

/** A fraction as a whole percentage, or a dash when there is nothing to divide. */
export function formatPercent(fraction: number | null): string {
  return fraction === null ? '—' : `${Math.round(fraction * 100)}%`;
}

/** A readable label for a status or action id: `awaiting_approval` → `awaiting approval`. */
export function humanize(id: string): string {
  return id.replaceAll('_', ' ');
}
