/**
 * The event a stage handler receives from the poller, and what it answers: the Redis Streams
 * equivalent of Lambda's SQS event source mapping with partial batch responses.
 */
export interface StreamRecord {
  /** Stream entry id; the `itemIdentifier` of a failure. */
  readonly id: string;
  readonly stream: string;
  /** The raw published body: the handler parses it at its boundary. */
  readonly body: string;
  /** Deliveries so far, this one included. */
  readonly deliveries: number;
}

export interface StreamBatchEvent {
  readonly stage: string;
  readonly records: readonly StreamRecord[];
}

export interface BatchItemFailure {
  readonly itemIdentifier: string;
  /** Why it failed; the poller keeps it and dead-letters with it after the last delivery. */
  readonly reason?: string;
}

/** A record that can never succeed (schema failure, unknown version): dead-letter it now. */
export interface PoisonItem {
  readonly itemIdentifier: string;
  readonly reason: string;
}

export interface StreamBatchResponse {
  /** Records to leave pending for redelivery (the handler threw on them). */
  readonly batchItemFailures: readonly BatchItemFailure[];
  /** Records to dead-letter at once, with the reason. */
  readonly poisonItems?: readonly PoisonItem[];
}

/** The handler contract shared by every stage, locally and in Lambda. */
export type StreamBatchHandler = (
  event: StreamBatchEvent,
  context?: { getRemainingTimeInMillis?: () => number },
) => Promise<StreamBatchResponse>;
