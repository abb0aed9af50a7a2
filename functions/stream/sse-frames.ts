/**
 * Server-sent events framing (WHATWG HTML, "server-sent events") and the stream entry ids the
 * frames carry. Pure functions: no I/O.
 */

/** A stream entry id split into its parts, for ordering. */
export interface EntryPosition {
  readonly ms: number;
  readonly seq: number;
}

const ENTRY_ID = /^(\d{1,16})(?:-(\d{1,16}))?$/;

/**
 * Parses a stream entry id (`<ms>-<seq>` or `<ms>`); undefined for anything else, so a
 * `Last-Event-ID` from a client is checked before it reaches the bus.
 */
export function parseEntryPosition(id: string): EntryPosition | undefined {
  const match = ENTRY_ID.exec(id.trim());
  if (!match?.[1]) return undefined;
  const ms = Number(match[1]);
  const seq = match[2] === undefined ? 0 : Number(match[2]);
  if (!Number.isSafeInteger(ms) || !Number.isSafeInteger(seq)) return undefined;
  return { ms, seq };
}

/** Negative when `a` comes first, 0 when equal, positive when `a` comes after `b`. */
export const comparePositions = (a: EntryPosition, b: EntryPosition): number =>
  a.ms - b.ms || a.seq - b.seq;

export const formatPosition = (position: EntryPosition): string => `${position.ms}-${position.seq}`;

/** One event frame: `id`, `event` and the data, one `data:` line per line of it. */
export function eventFrame(id: string, event: string, data: string): string {
  const lines = data.split(/\r\n|\r|\n/).map((line) => `data: ${line}\n`);
  return `id: ${id}\nevent: ${event}\n${lines.join('')}\n`;
}

/** A comment frame (`: text`), ignored by clients: heartbeats. */
export const commentFrame = (text: string): string => `: ${text}\n\n`;

/**
 * The frame a connection opens with: the `retry:` hint, and the position the client starts
 * from as an id without data. A browser's `EventSource` stores the id without firing an event,
 * so a client that reconnects before any event arrived still resumes from where it began.
 */
export function openingFrame(retryMs: number, startId: string | undefined): string {
  return `retry: ${retryMs}\n${startId ? `id: ${startId}\n` : ''}\n`;
}

/** An id without data: moves the client's last event id past entries it was not sent. */
export const positionFrame = (id: string): string => `id: ${id}\n\n`;
