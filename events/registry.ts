import { createHash, randomUUID } from 'node:crypto';
import type { z } from 'zod';
import {
  CatalogDeltaEventSchema,
  CatalogPushEventSchema,
  TargetWriteEventSchema,
} from './catalog.js';
import { type EnvelopeBase, EnvelopeBaseSchema } from './envelope.js';
import {
  DiagnosisEventSchema,
  GuardDecisionEventSchema,
  HealOutcomeEventSchema,
  PatchProposalEventSchema,
  VerificationEventSchema,
} from './healing.js';
import { SignalEventSchema } from './signal.js';
import { TraceStepEventSchema } from './trace.js';

/** Every event schema, by type and version: the only place an event type is registered. */
export const eventSchemas = {
  'catalog.push': { 1: CatalogPushEventSchema },
  'catalog.delta': { 1: CatalogDeltaEventSchema },
  'target.write': { 1: TargetWriteEventSchema },
  signal: { 1: SignalEventSchema },
  diagnosis: { 1: DiagnosisEventSchema },
  'patch.proposal': { 1: PatchProposalEventSchema },
  'guard.decision': { 1: GuardDecisionEventSchema },
  verification: { 1: VerificationEventSchema },
  'heal.outcome': { 1: HealOutcomeEventSchema },
  'trace.step': { 1: TraceStepEventSchema },
} as const;

export type EventType = keyof typeof eventSchemas;
type SchemaOf<T extends EventType> = (typeof eventSchemas)[T][keyof (typeof eventSchemas)[T]];
/** The parsed event of a type (any registered version). */
export type EventOf<T extends EventType> = z.infer<SchemaOf<T>> & Omit<EnvelopeBase, 'data'>;
export type AnyEvent = { [T in EventType]: EventOf<T> }[EventType];
export type DataOf<T extends EventType> = EventOf<T> extends { data: infer D } ? D : never;

export const eventTypes = Object.keys(eventSchemas) as EventType[];

const isEventType = (type: string): type is EventType => Object.hasOwn(eventSchemas, type);

/** A parse failure: why, and each issue with its full path from the envelope's root. */
export interface EventParseFailure {
  readonly ok: false;
  readonly reason: string;
  readonly issues: readonly { path: string; message: string }[];
}
export type EventParseResult<E> = { readonly ok: true; readonly event: E } | EventParseFailure;

/** Formats a zod issue path as `data.items[3].sku`, prefixed with where the value sat. */
export const formatPath = (path: readonly PropertyKey[], prefix = ''): string =>
  path.reduce<string>((acc, key) => {
    if (typeof key === 'number') return `${acc}[${key}]`;
    const name = String(key);
    return acc === '' ? name : `${acc}.${name}`;
  }, prefix) || '(root)';

const failure = (reason: string, issues: EventParseFailure['issues'] = []): EventParseFailure => ({
  ok: false,
  reason,
  issues,
});

const fromZod = (error: z.ZodError, prefix: string): EventParseFailure => {
  const issues = error.issues.map((issue) => ({
    path: formatPath(issue.path, prefix),
    message: issue.message,
  }));
  const first = issues
    .slice(0, 3)
    .map((i) => `${i.path}: ${i.message}`)
    .join('; ');
  return failure(`schema: ${first}`, issues);
};

/**
 * Parses an event from a bus body or a decoded value: the envelope first, then its type and
 * version, then its data. An unknown type or version is a failure, never a guess.
 *
 * @param expected - the types the caller accepts; anything else fails with a reason.
 */
export function parseEvent<T extends EventType = EventType>(
  input: unknown,
  expected?: readonly T[],
): EventParseResult<EventOf<T>> {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (error) {
      return failure(`malformed JSON: ${(error as Error).message}`);
    }
  }
  const base = EnvelopeBaseSchema.safeParse(value);
  if (!base.success) return fromZod(base.error, '');
  const { type, version } = base.data;
  if (!isEventType(type)) return failure(`unknown event type "${type}"`);
  if (expected && !(expected as readonly string[]).includes(type)) {
    return failure(`unexpected event type "${type}", expected ${expected.join(' | ')}`);
  }
  const versions: Record<number, z.ZodType | undefined> = eventSchemas[type];
  const schema = versions[version];
  if (!schema) return failure(`unknown version ${version} of event type "${type}"`);
  const parsed = schema.safeParse(value);
  if (!parsed.success) return fromZod(parsed.error, '');
  return { ok: true, event: parsed.data as EventOf<T> };
}

/** Options of {@link createEvent}. */
export interface CreateEventOptions {
  readonly source: string;
  readonly incidentId?: string;
  /** Deterministic id (see {@link deriveEventId}); a random UUID otherwise. */
  readonly id?: string;
  readonly now?: Date;
}

/**
 * Builds a valid envelope for the latest version of a type, validating `data` on the way out so
 * nothing malformed is ever published.
 */
export function createEvent<T extends EventType>(
  type: T,
  data: DataOf<T>,
  options: CreateEventOptions,
): EventOf<T> {
  const versions = eventSchemas[type] as Record<number, z.ZodType>;
  const latest = Math.max(...Object.keys(versions).map(Number));
  const candidate = {
    id: options.id ?? randomUUID(),
    type,
    version: latest,
    occurred_at: (options.now ?? new Date()).toISOString(),
    source: options.source,
    ...(options.incidentId ? { incident_id: options.incidentId } : {}),
    data,
  };
  const result = parseEvent(candidate, [type]);
  if (!result.ok) throw new TypeError(`invalid ${type} event: ${result.reason}`);
  return result.event;
}

/**
 * A deterministic id for the n-th event a stage derives from an input event, so a redelivered
 * input produces the same output ids and downstream idempotency drops the duplicates.
 */
export const deriveEventId = (stage: string, inputId: string, index = 0): string =>
  createHash('sha256').update(`${stage}\u0000${inputId}\u0000${index}`).digest('hex').slice(0, 32);
