import type { BusMessage, DeadLetter } from '../../ports/bus.js';
import { BusInvalidIdError } from './bus-errors.js';

/**
 * How both Bus adapters lay out a stream entry, so an entry written by one reads the same
 * through the other: a published body is the single field `b`; a dead letter is a set of
 * named fields. Entry ids compare as `<ms>-<seq>` pairs.
 */

/** The field that holds a published body. */
export const BODY_FIELD = 'b';

/** A parsed entry id. */
export interface EntryId {
  readonly ms: number;
  readonly seq: number;
}

export const ZERO_ID: EntryId = { ms: 0, seq: 0 };

/**
 * Parses `<ms>-<seq>`, `<ms>` (sequence 0) or the range start shorthands `-` and `` (the
 * smallest id); throws {@link BusInvalidIdError} on anything else.
 */
export function parseEntryId(id: string): EntryId {
  if (id === '-' || id === '') return ZERO_ID;
  const match = /^(\d+)(?:-(\d+))?$/.exec(id);
  if (!match?.[1]) throw new BusInvalidIdError(id);
  const ms = Number(match[1]);
  const seq = match[2] === undefined ? 0 : Number(match[2]);
  if (!Number.isSafeInteger(ms) || !Number.isSafeInteger(seq)) throw new BusInvalidIdError(id);
  return { ms, seq };
}

export const formatEntryId = (id: EntryId): string => `${id.ms}-${id.seq}`;

/** Negative when `a` comes first, 0 when equal, positive when `a` comes after `b`. */
export const compareEntryIds = (a: EntryId, b: EntryId): number => a.ms - b.ms || a.seq - b.seq;

/**
 * The body of an entry: its `b` field when it has one; otherwise (a dead letter, an entry some
 * other tool wrote) the fields as a JSON object, so `range` and `read` still return something
 * faithful instead of an empty string.
 */
export function bodyOfFields(fields: readonly string[]): string {
  const object: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i] ?? '';
    const value = fields[i + 1] ?? '';
    if (name === BODY_FIELD && fields.length === 2) return value;
    object[name] = value;
  }
  return JSON.stringify(object);
}

/** The dead letter of a message: the original body and deliveries, the group and the reason. */
export const deadLetterOf = (
  group: string,
  message: BusMessage,
  reason: string,
  failedAt: Date,
): DeadLetter => ({
  stream: message.stream,
  group,
  originalId: message.id,
  body: message.body,
  reason,
  deliveries: message.deliveries,
  failed_at: failedAt.toISOString(),
});

/** The fields of a dead-letter entry, in a fixed order. */
export function deadLetterFields(letter: DeadLetter): string[] {
  return [
    'stream',
    letter.stream,
    'group',
    letter.group,
    'id',
    letter.originalId,
    'body',
    letter.body,
    'reason',
    letter.reason,
    'deliveries',
    String(letter.deliveries),
    'failed_at',
    letter.failed_at,
  ];
}

/** Reads a dead letter back from its fields; missing fields read as empty (or 0 deliveries). */
export function deadLetterOfFields(fields: readonly string[]): DeadLetter {
  const byName = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) {
    byName.set(fields[i] ?? '', fields[i + 1] ?? '');
  }
  return {
    stream: byName.get('stream') ?? '',
    group: byName.get('group') ?? '',
    originalId: byName.get('id') ?? '',
    body: byName.get('body') ?? '',
    reason: byName.get('reason') ?? '',
    deliveries: Number(byName.get('deliveries') ?? 0),
    failed_at: byName.get('failed_at') ?? '',
  };
}
