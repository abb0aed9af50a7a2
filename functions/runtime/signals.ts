import { createEvent, type DataOf, type EventOf } from '../../events/index.js';
import { streams } from '../../infra/topology.js';
import type { Ports } from './ports.js';

/**
 * Publishes a signal on the bus and stores it in the trace store, so `/api/signals` and the
 * rca stage see the same thing. Sensors outside a stage (the shop's API, the scheduled probe)
 * call this directly; stages return signals as outputs and store them the same way.
 */
export async function publishSignal(
  ports: Pick<Ports, 'bus' | 'store' | 'config'>,
  data: DataOf<'signal'>,
  options: { readonly source: string; readonly id?: string },
): Promise<EventOf<'signal'>> {
  const event = createEvent('signal', data, {
    source: options.source,
    ...(options.id ? { id: options.id } : {}),
  });
  await recordSignal(ports, event);
  await ports.bus.publish(streams.signals, JSON.stringify(event), {
    maxLen: ports.config.SELFHEAL_STREAM_MAXLEN,
  });
  return event;
}

/** Stores a signal event in the trace store (idempotent on its id). */
export async function recordSignal(
  ports: Pick<Ports, 'store'>,
  event: EventOf<'signal'>,
): Promise<void> {
  await ports.store.recordSignal({
    id: event.id,
    kind: event.data.kind,
    target: event.data.target,
    field: event.data.field ?? null,
    occurred_at: event.occurred_at,
    data: { ...event.data, source: event.source },
  });
}
