import type { StageSpec } from '../../infra/topology.js';
import { BusClosedError } from '../adapters/bus/bus-errors.js';
import type { Bus, BusMessage } from '../ports/bus.js';
import type {
  BatchItemFailure,
  PoisonItem,
  StreamBatchEvent,
  StreamBatchHandler,
  StreamBatchResponse,
  StreamRecord,
} from './stream-batch.js';

/** Structured logging the poller needs; a pino logger fits. */
export interface PollerLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** What the poller reports about each entry it dead-letters. */
export interface DeadLetterInfo {
  readonly stage: string;
  readonly stream: string;
  readonly id: string;
  readonly body: string;
  readonly deliveries: number;
  readonly reason: string;
  /** Id of the copy in the dead-letter stream. */
  readonly deadLetterId: string;
}

export interface PollerOptions {
  readonly bus: Bus;
  /** Input stream, consumer group (the stage name), batch size, max deliveries, timeout. */
  readonly stage: StageSpec;
  readonly handler: StreamBatchHandler;
  /** Consumer name within the group; unique per running poller (e.g. host + pid, request id). */
  readonly consumer: string;
  /** Stops the loop; the batch in flight finishes and is acked first. */
  readonly signal?: AbortSignal;
  /** Time left before a hard deadline (a Lambda's `getRemainingTimeInMillis`). */
  readonly remainingTimeMs?: () => number;
  /**
   * No new batch starts when less than this remains (`remainingTimeMs`), so the last batch can
   * finish inside the deadline. Defaults to `stage.timeoutMs`, the time budget of one batch.
   */
  readonly deadlineMarginMs?: number;
  /** How long one read blocks waiting for new entries. Default 1000 ms. */
  readonly blockMs?: number;
  /** Pending entries idle this long (their consumer died or failed them) are reclaimed. Default 30 s. */
  readonly claimIdleMs?: number;
  /** Delay after a bus error before trying again; doubles up to 30× this. Default 100 ms. */
  readonly retryDelayMs?: number;
  readonly logger?: PollerLogger;
  readonly onDeadLetter?: (info: DeadLetterInfo) => void;
}

export interface PollerStats {
  /** Batches handed to the handler. */
  batches: number;
  /** Records handed to the handler. */
  processed: number;
  acked: number;
  /** Records left pending for redelivery (reported failures, or the whole batch on a throw). */
  failed: number;
  deadLettered: number;
}

const DEFAULT_BLOCK_MS = 1_000;
const DEFAULT_CLAIM_IDLE_MS = 30_000;
const DEFAULT_RETRY_DELAY_MS = 100;
/** Last errors remembered per entry id; beyond this the oldest are forgotten. */
const MAX_REMEMBERED_ERRORS = 10_000;
const EXCEEDED_REASON = 'exceeded max deliveries';

/**
 * Our event-source mapping for Redis Streams: reads a stage's input stream through its consumer
 * group and hands batches to the stage handler, with the semantics of Lambda's SQS mapping and
 * partial batch responses. The same code runs in the local runtime and inside a scheduled
 * Lambda.
 *
 * Each iteration reclaims entries left idle by dead or failing consumers, then reads new ones;
 * entries delivered more than `stage.maxDeliveries` times go to the dead-letter stream with
 * their last error instead of to the handler. After the handler answers, every record it did
 * not report is acked, poison items are dead-lettered at once, and failures stay pending (and
 * are dead-lettered straight away when that was their last allowed delivery). A handler that
 * throws leaves the whole batch pending.
 *
 * Returns when `signal` aborts or fewer than `deadlineMarginMs` remain, after the batch in
 * flight is finished and acked.
 *
 * @example
 * ```ts
 * // inside a scheduled Lambda
 * export const poll = async (_: unknown, context: Context) =>
 *   runPoller({ bus, stage, handler, consumer: context.awsRequestId,
 *     remainingTimeMs: () => context.getRemainingTimeInMillis() });
 * ```
 */
export async function runPoller(options: PollerOptions): Promise<PollerStats> {
  const { bus, stage, handler, consumer, signal, remainingTimeMs, logger } = options;
  const blockMs = options.blockMs ?? DEFAULT_BLOCK_MS;
  const claimIdleMs = options.claimIdleMs ?? DEFAULT_CLAIM_IDLE_MS;
  const marginMs = options.deadlineMarginMs ?? stage.timeoutMs;
  const retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
  const group = stage.name;
  const stream = stage.input;
  const stats: PollerStats = { batches: 0, processed: 0, acked: 0, failed: 0, deadLettered: 0 };
  const lastErrors = new Map<string, string>();
  const log = { stage: stage.name, stream, consumer };

  /** Time left for starting work, or Infinity without a deadline. */
  const budgetMs = (): number =>
    remainingTimeMs ? remainingTimeMs() - marginMs : Number.POSITIVE_INFINITY;
  const shouldStop = (): boolean => signal?.aborted === true || budgetMs() <= 0;

  const remember = (id: string, reason: string): void => {
    lastErrors.delete(id);
    lastErrors.set(id, reason);
    if (lastErrors.size > MAX_REMEMBERED_ERRORS) {
      const oldest = lastErrors.keys().next();
      if (!oldest.done) lastErrors.delete(oldest.value);
    }
  };

  const deadLetter = async (message: BusMessage, reason: string): Promise<void> => {
    const deadLetterId = await bus.deadLetter(group, message, reason);
    lastErrors.delete(message.id);
    stats.deadLettered += 1;
    logger?.warn(
      { ...log, id: message.id, deliveries: message.deliveries, reason, deadLetterId },
      'dead-lettered',
    );
    try {
      options.onDeadLetter?.({
        stage: stage.name,
        stream: message.stream,
        id: message.id,
        body: message.body,
        deliveries: message.deliveries,
        reason,
        deadLetterId,
      });
    } catch (error) {
      // An observer's bug must not stall the stage: the dead letter is already written.
      logger?.error({ ...log, id: message.id, err: error }, 'onDeadLetter threw');
    }
  };

  const processBatch = async (messages: readonly BusMessage[]): Promise<void> => {
    const deliverable: BusMessage[] = [];
    for (const message of messages) {
      if (message.deliveries > stage.maxDeliveries) {
        await deadLetter(message, lastErrors.get(message.id) ?? EXCEEDED_REASON);
      } else {
        deliverable.push(message);
      }
    }
    if (deliverable.length === 0) return;

    const event: StreamBatchEvent = {
      stage: stage.name,
      records: deliverable.map(
        ({ id, stream: from, body, deliveries }): StreamRecord => ({
          id,
          stream: from,
          body,
          deliveries,
        }),
      ),
    };
    stats.batches += 1;
    stats.processed += deliverable.length;
    let response: StreamBatchResponse;
    try {
      response = await handler(
        event,
        remainingTimeMs ? { getRemainingTimeInMillis: remainingTimeMs } : undefined,
      );
    } catch (error) {
      // Nothing is known to have succeeded: leave it all pending for redelivery.
      const reason = `handler threw: ${messageOf(error)}`;
      logger?.error({ ...log, records: deliverable.length, err: error }, 'batch failed');
      await leavePending(deliverable.map((message) => ({ message, reason })));
      return;
    }

    const failures = new Map<string, BatchItemFailure>();
    for (const failure of response.batchItemFailures) failures.set(failure.itemIdentifier, failure);
    const poison = new Map<string, PoisonItem>();
    for (const item of response.poisonItems ?? []) poison.set(item.itemIdentifier, item);

    const toAck: string[] = [];
    const failed: Array<{ message: BusMessage; reason: string }> = [];
    for (const message of deliverable) {
      const poisonItem = poison.get(message.id);
      const failure = failures.get(message.id);
      if (poisonItem) {
        await deadLetter(message, poisonItem.reason);
      } else if (failure) {
        failed.push({ message, reason: failure.reason ?? 'handler reported failure' });
      } else {
        toAck.push(message.id);
      }
    }
    if (toAck.length > 0) {
      await bus.ack(stream, group, toAck);
      stats.acked += toAck.length;
      for (const id of toAck) lastErrors.delete(id);
    }
    if (failed.length > 0) {
      logger?.warn({ ...log, ids: failed.map(({ message }) => message.id) }, 'records failed');
      await leavePending(failed);
    }
  };

  /**
   * Failed records stay pending, their error remembered for the dead letter. One that has just
   * used its last allowed delivery is dead-lettered now, with its error, instead of waiting out
   * another claim-idle period only to be dead-lettered then.
   */
  const leavePending = async (
    failed: ReadonlyArray<{ message: BusMessage; reason: string }>,
  ): Promise<void> => {
    for (const { message, reason } of failed) {
      if (message.deliveries >= stage.maxDeliveries) {
        await deadLetter(message, reason);
      } else {
        remember(message.id, reason);
        stats.failed += 1;
      }
    }
  };

  let groupReady = false;
  let consecutiveErrors = 0;
  logger?.info({ ...log, batchSize: stage.batchSize, claimIdleMs, blockMs }, 'poller started');
  while (!shouldStop()) {
    try {
      if (!groupReady) {
        await bus.ensureGroup(stream, group);
        groupReady = true;
      }
      const reclaimed = await bus.claimIdle(stream, group, consumer, {
        minIdleMs: claimIdleMs,
        count: stage.batchSize,
      });
      const room = stage.batchSize - reclaimed.length;
      // Block only when there is nothing to do, and never past the deadline.
      const block = reclaimed.length > 0 ? 0 : Math.max(0, Math.min(blockMs, budgetMs()));
      const fresh =
        room > 0 ? await bus.read(stream, group, consumer, { count: room, blockMs: block }) : [];
      consecutiveErrors = 0;
      const batch = reclaimed.length > 0 ? [...reclaimed, ...fresh] : fresh;
      if (batch.length > 0) await processBatch(batch);
    } catch (error) {
      if (error instanceof BusClosedError) break;
      // A bus error (connection lost, stream or group deleted by a reset): the group is
      // re-ensured and the loop retries with backoff; pending entries stay safe in the group.
      groupReady = false;
      consecutiveErrors += 1;
      logger?.error({ ...log, err: error, attempt: consecutiveErrors }, 'poll failed');
      const delay = retryDelayMs * 2 ** Math.min(consecutiveErrors - 1, 5);
      await sleep(Math.max(0, Math.min(delay, budgetMs())), signal);
    }
  }
  logger?.info({ ...log, ...stats }, 'poller stopped');
  return stats;
}

/** A function's answer for one record: a parsed value, or why it can never be parsed. */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * Runs `onRecord` on each record of a batch, sequentially and in order, and builds the partial
 * batch response (like Powertools' `processPartialResponse`): a record `parse` rejects becomes
 * a poison item with the parse reason (it can never succeed); a record whose `onRecord` throws
 * becomes a batch item failure with the error message as its reason (it may succeed later).
 *
 * @example
 * ```ts
 * export const handler: StreamBatchHandler = (event) =>
 *   processStreamBatch(event, parseSignal, (signal) => core.handle(signal, ports));
 * ```
 */
export async function processStreamBatch<T>(
  event: StreamBatchEvent,
  parse: (body: string) => ParseResult<T>,
  onRecord: (value: T, record: StreamRecord) => Promise<void>,
): Promise<StreamBatchResponse> {
  const batchItemFailures: BatchItemFailure[] = [];
  const poisonItems: PoisonItem[] = [];
  for (const record of event.records) {
    const parsed = parse(record.body);
    if (!parsed.ok) {
      poisonItems.push({ itemIdentifier: record.id, reason: parsed.reason });
      continue;
    }
    try {
      await onRecord(parsed.value, record);
    } catch (error) {
      batchItemFailures.push({ itemIdentifier: record.id, reason: messageOf(error) });
    }
  }
  return { batchItemFailures, poisonItems };
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
