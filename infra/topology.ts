/**
 * The pipeline topology: every stage, the stream it consumes, the streams it produces, where
 * its handler lives and how its poller behaves. Plain data, read by both runtimes
 * (`infra/local` starts one poller per entry, `infra/aws` one function and schedule per entry);
 * nothing else declares the topology.
 */
export interface StageSpec {
  /** Stage name; also the consumer group on its input stream. */
  readonly name: string;
  /** Stream the stage consumes through its consumer group. */
  readonly input: string;
  /** Streams the stage may publish to. */
  readonly outputs: readonly string[];
  /** Handler module, relative to the repository root; exports `handler`. */
  readonly handler: string;
  /** Entries per batch handed to the handler. */
  readonly batchSize: number;
  /** Deliveries after which an entry is dead-lettered with its last error. */
  readonly maxDeliveries: number;
  /**
   * Time budget of one batch. In AWS a poller stops starting batches when less than this is
   * left before its Lambda deadline, so the batch in flight always finishes.
   */
  readonly timeoutMs: number;
}

/** Streams of the pipeline, by role. */
export const streams = {
  catalogPushes: 'catalog.pushes',
  catalogDeltas: 'catalog.deltas',
  targetWrites: 'target.writes',
  signals: 'signals',
  diagnoses: 'diagnoses',
  patches: 'patches',
  approved: 'approved',
  verified: 'verified',
  outcomes: 'outcomes',
  traces: 'traces',
} as const;

export const topology: readonly StageSpec[] = [
  {
    name: 'ingest',
    input: streams.catalogPushes,
    outputs: [streams.catalogDeltas, streams.traces],
    handler: 'functions/ingest/handler.ts',
    batchSize: 16,
    maxDeliveries: 5,
    timeoutMs: 30_000,
  },
  {
    // The target's own catalog sync, run as a stage so its writes are traced like the rest.
    name: 'sync',
    input: streams.catalogPushes,
    outputs: [streams.targetWrites, streams.traces],
    handler: 'functions/sync/handler.ts',
    batchSize: 16,
    maxDeliveries: 5,
    timeoutMs: 30_000,
  },
  {
    name: 'validator',
    input: streams.targetWrites,
    outputs: [streams.signals, streams.traces],
    handler: 'functions/validator/handler.ts',
    batchSize: 64,
    maxDeliveries: 5,
    timeoutMs: 30_000,
  },
  {
    name: 'probe',
    input: streams.catalogDeltas,
    outputs: [streams.signals, streams.traces],
    handler: 'functions/probe/handler.ts',
    batchSize: 16,
    maxDeliveries: 5,
    timeoutMs: 30_000,
  },
  {
    name: 'rca',
    input: streams.signals,
    outputs: [streams.diagnoses, streams.traces],
    handler: 'functions/rca/handler.ts',
    batchSize: 32,
    maxDeliveries: 5,
    timeoutMs: 30_000,
  },
  {
    name: 'patch',
    input: streams.diagnoses,
    outputs: [streams.patches, streams.traces],
    handler: 'functions/patch/handler.ts',
    batchSize: 4,
    maxDeliveries: 3,
    timeoutMs: 60_000,
  },
  {
    name: 'guard',
    input: streams.patches,
    outputs: [streams.approved, streams.traces],
    handler: 'functions/guard/handler.ts',
    batchSize: 4,
    maxDeliveries: 3,
    timeoutMs: 60_000,
  },
  {
    name: 'verify',
    input: streams.approved,
    outputs: [streams.verified, streams.traces],
    handler: 'functions/verify/handler.ts',
    batchSize: 1,
    maxDeliveries: 3,
    timeoutMs: 120_000,
  },
  {
    name: 'heal',
    input: streams.verified,
    // Back to verify when another heal went live since this candidate was verified.
    outputs: [streams.outcomes, streams.approved, streams.traces],
    handler: 'functions/heal/handler.ts',
    batchSize: 1,
    maxDeliveries: 3,
    timeoutMs: 120_000,
  },
];

/**
 * The stage of `name` in the topology; throws when there is none (a Lambda entry naming a stage
 * that was renamed fails at its first import, not silently).
 *
 * @example
 * stageNamed('rca').input; // 'signals'
 */
export function stageNamed(name: string): StageSpec {
  const found = topology.find((stage) => stage.name === name);
  if (!found) throw new Error(`no stage named ${JSON.stringify(name)} in the topology`);
  return found;
}
