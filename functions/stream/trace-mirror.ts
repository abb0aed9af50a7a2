import { parseEvent } from '../../events/index.js';
import type { StreamEntry, TraceSource } from '../ports/bus.js';

/** Where the copier writes: the newest id already copied, and one entry at a time. */
export interface TraceMirrorTarget {
  lastId(stream: string): Promise<string>;
  /** `'present'` when the entry was copied before (by this or an overlapping copier). */
  write(stream: string, entry: StreamEntry): Promise<'written' | 'present'>;
}

/** How a copied `trace.step` ended, for the metrics the operations alarms watch. */
export interface StepOutcome {
  readonly stage: string;
  readonly status: string;
  readonly incidentId: string | undefined;
}

export interface CopyTraceStreamOptions {
  /** The bus, read without a group. */
  readonly source: Pick<TraceSource, 'tail'>;
  readonly target: TraceMirrorTarget;
  /** The stream copied (`traces`). */
  readonly stream: string;
  /** Entries per read (default 100). */
  readonly batch?: number;
  /** How long one read waits for new entries (default 1 s). */
  readonly blockMs?: number;
  /** Checked before every read: true ends the copy after the entries in hand are written. */
  readonly shouldStop: () => boolean;
  /**
   * Called once per entry this copier wrote first, never for an entry an overlapping copier had
   * already written, so each step is counted once however many copiers run.
   */
  readonly onCopied?: (entry: StreamEntry, outcome: StepOutcome | undefined) => void;
}

export interface CopyStats {
  /** Entries read from the bus. */
  read: number;
  /** Entries this copier wrote. */
  written: number;
  /** Entries another copier had already written. */
  present: number;
}

/**
 * Copies a stream from the bus into a mirror, in id order, one entry at a time, from the newest
 * id the mirror already holds, until `shouldStop()`. Writing in order and resuming from the
 * mirror's own end is what keeps the copy gap-free while a scheduled copier overlaps the next
 * one: see `DynamoTraceMirror`.
 *
 * @example
 * ```ts
 * await copyTraceStream({ source: bus, target: mirror, stream: 'traces',
 *   shouldStop: () => context.getRemainingTimeInMillis() < 10_000 });
 * ```
 */
export async function copyTraceStream(options: CopyTraceStreamOptions): Promise<CopyStats> {
  const { source, target, stream, shouldStop } = options;
  const batch = options.batch ?? 100;
  const blockMs = options.blockMs ?? 1_000;
  const stats: CopyStats = { read: 0, written: 0, present: 0 };
  let position = await target.lastId(stream);
  while (!shouldStop()) {
    const entries = await source.tail(stream, position, { count: batch, blockMs });
    stats.read += entries.length;
    for (const entry of entries) {
      const result = await target.write(stream, entry);
      position = entry.id;
      if (result === 'present') {
        stats.present += 1;
        continue;
      }
      stats.written += 1;
      options.onCopied?.(entry, stepOutcomeOf(entry.body));
    }
  }
  return stats;
}

/**
 * The stage and status of a `trace.step` body; `undefined` for any other entry (or one that
 * fails its schema, which the SSE endpoint skips as well).
 *
 * @example
 * stepOutcomeOf(JSON.stringify(rolledBackHealStep)); // { stage: 'heal', status: 'rolled_back', … }
 */
export function stepOutcomeOf(body: string): StepOutcome | undefined {
  const parsed = parseEvent(body, ['trace.step']);
  if (!parsed.ok) return undefined;
  const { event } = parsed;
  return { stage: event.data.stage, status: event.data.status, incidentId: event.incident_id };
}
