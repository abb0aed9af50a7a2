import { performance } from 'node:perf_hooks';
import middy from '@middy/core';
import {
  type AnyEvent,
  createEvent,
  deriveEventId,
  type EventOf,
  type EventType,
  parseEvent,
} from '../../events/index.js';
import { processStreamBatch } from './poller.js';
import { getPorts, type Ports } from './ports.js';
import type { StreamBatchEvent, StreamBatchResponse, StreamRecord } from './stream-batch.js';

/** An event a core asks to publish, before the handler gives it its deterministic id. */
export interface Emission {
  readonly stream: string;
  readonly event: AnyEvent;
}

/** What a core returns for one input event. */
export interface StageResult {
  readonly status:
    | 'ok'
    | 'skipped'
    | 'escalated'
    | 'failed'
    | 'rejected'
    | 'awaiting_approval'
    | 'rolled_back';
  readonly outputs: readonly Emission[];
  /** What the trace step records about this piece of work. */
  readonly detail: Record<string, unknown>;
  /** The incident this work belongs to, when the core opened or found one. */
  readonly incident_id?: string;
}

/** What a core may ask of the handler around it. */
export interface StageContext {
  /**
   * The id of the n-th event this input produces: derived from the stage and the input id, so a
   * re-run after a crash publishes the same ids and consumers drop the duplicates.
   */
  idFor(index: number): string;
}

/** The pure part of a stage: a typed event and the ports in, a typed result out. */
export type StageCore<T extends EventType> = (
  event: EventOf<T>,
  ports: Ports,
  context: StageContext,
) => Promise<StageResult>;

export interface StageDefinition<T extends EventType> {
  readonly stage: string;
  /** Event types the stage consumes; anything else is dead-lettered with the reason. */
  readonly accepts: readonly T[];
  readonly core: StageCore<T>;
}

/**
 * Applies one input event through a core: skips events already applied (redelivery), measures
 * the work, publishes the outputs (cores give them ids from `context.idFor`, so a crash before
 * the applied-mark makes a second run publish the same ids, which consumers drop), records a
 * trace step, then marks the input applied.
 */
export async function applyStage<T extends EventType>(
  definition: StageDefinition<T>,
  event: EventOf<T>,
  ports: Ports,
): Promise<'applied' | 'duplicate'> {
  const { stage, core } = definition;
  if (await ports.idempotency.wasApplied(stage, event.id)) return 'duplicate';
  const startedAt = new Date();
  const t0 = performance.now();
  const result = await core(event, ports, {
    idFor: (index) => deriveEventId(stage, event.id, index),
  });
  const durationMs = performance.now() - t0;
  const endedAt = new Date(startedAt.getTime() + durationMs);

  for (const { stream, event: output } of result.outputs) {
    await ports.bus.publish(stream, JSON.stringify(output), {
      maxLen: ports.config.SELFHEAL_STREAM_MAXLEN,
    });
  }
  const incidentId = result.incident_id ?? event.incident_id;
  const step = createEvent(
    'trace.step',
    {
      stage,
      status: result.status,
      started_at: startedAt.toISOString(),
      ended_at: endedAt.toISOString(),
      duration_ms: durationMs,
      detail: { input: event.id, input_type: event.type, ...result.detail },
    },
    { source: stage, id: deriveEventId(`${stage}:trace`, event.id), incidentId },
  );
  await ports.store.recordStep({
    incident_id: incidentId,
    stage,
    status: result.status,
    started_at: step.data.started_at,
    ended_at: step.data.ended_at,
    duration_ms: durationMs,
    detail: step.data.detail,
  });
  await ports.bus.publish('traces', JSON.stringify(step), {
    maxLen: ports.config.SELFHEAL_STREAM_MAXLEN,
  });
  await ports.idempotency.markApplied(stage, event.id);
  return 'applied';
}

/**
 * Builds a stage's Lambda-shaped handler: parse each record at the boundary (a record that fails
 * its schema or carries an unknown version is a poison item with the zod issues), apply the
 * valid ones in order, report failures per record so the poller acks only successes.
 */
export function createStageHandler<T extends EventType>(
  definition: StageDefinition<T>,
  portsFactory?: () => Promise<Ports>,
) {
  const base = async (event: StreamBatchEvent): Promise<StreamBatchResponse> => {
    const ports = await getPorts(portsFactory);
    await ports.target?.refresh?.();
    return processStreamBatch(
      event,
      (body: string) => {
        const parsed = parseEvent(body, definition.accepts);
        return parsed.ok ? { ok: true, value: parsed.event } : { ok: false, reason: parsed.reason };
      },
      async (value: EventOf<T>, _record: StreamRecord) => {
        await applyStage(definition, value, ports);
      },
    );
  };
  return middy<StreamBatchEvent, StreamBatchResponse>().handler(base);
}
