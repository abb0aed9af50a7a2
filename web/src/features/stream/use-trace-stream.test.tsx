import { act, renderHook } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import traceStep from '../../../../events/fixtures/trace.step.json' with { type: 'json' };
import type { AnyEvent } from '../../../../events/index.js';
import { createFakeEventSource } from '../../test/fake-event-source.js';
import { useTraceStream } from './use-trace-stream.js';

const frame = (patch: Record<string, unknown> = {}) =>
  JSON.stringify({ ...structuredClone(traceStep), ...patch });

function setup(options: { incidentId?: string; retryDelayMs?: () => number } = {}) {
  const fake = createFakeEventSource();
  const events: AnyEvent[] = [];
  const store = new Map<string, string>();
  const storage = {
    getItem: (key: string) => store.get(key) ?? null,
    setItem: (key: string, value: string) => void store.set(key, value),
    removeItem: (key: string) => void store.delete(key),
  };
  const hook = renderHook(() =>
    useTraceStream({
      EventSource: fake.EventSource,
      onEvent: (event) => events.push(event),
      storage,
      incidentId: options.incidentId,
      retryDelayMs: options.retryDelayMs,
    }),
  );
  return { ...fake, events, store, hook };
}

describe('Live view: trace stream', () => {
  it('parses trace.step frames with the events schemas and keeps the last id', () => {
    const { latest, events, hook, store } = setup();
    act(() => latest().open());
    expect(hook.result.current.status).toBe('connected');

    act(() => latest().emit('trace.step', frame(), '1700000000000-0'));

    expect(events).toHaveLength(1);
    expect(events[0]?.type).toBe('trace.step');
    expect(events[0]?.type === 'trace.step' && events[0].data.duration_ms).toBe(38.6);
    expect(hook.result.current.received).toBe(1);
    expect(hook.result.current.lastEventId).toBe('1700000000000-0');
    expect(store.get('selfheal.stream.lastEventId:*')).toBe('1700000000000-0');
  });

  it('counts malformed frames and unknown types without throwing', () => {
    const { latest, events, hook } = setup();
    act(() => latest().open());

    act(() => {
      latest().emit('trace.step', '{not json', '1-0');
      latest().emit('trace.step', frame({ data: { stage: 'rca' } }), '2-0');
      latest().emit('message', frame({ type: 'mystery.event' }), '3-0');
      latest().emit('trace.step', frame({ version: 9 }), '4-0');
      latest().emit('signal', frame(), '5-0');
    });

    expect(events).toHaveLength(0);
    expect(hook.result.current.malformed).toBe(5);
    expect(hook.result.current.received).toBe(0);
    expect(hook.result.current.lastProblem).toContain('"signal"');
    // A refused frame still moves the resume point: it was delivered.
    expect(hook.result.current.lastEventId).toBe('5-0');

    act(() => latest().emit('trace.step', frame(), '6-0'));
    expect(events).toHaveLength(1);
    expect(hook.result.current.malformed).toBe(5);
  });

  it('names the path of the failing value in the malformed frame reason', () => {
    const { latest, hook } = setup();
    act(() => latest().emit('trace.step', frame({ data: { ...traceStep.data, duration_ms: -1 } })));
    expect(hook.result.current.lastProblem).toMatch(/data\.duration_ms/);
  });

  it('closes its EventSource on unmount', () => {
    const { latest, hook } = setup();
    const source = latest();
    expect(source.closed).toBe(false);
    hook.unmount();
    expect(source.closed).toBe(true);
  });

  it('filters by incident and resumes with lastEventId after the server closes the stream', () => {
    vi.useFakeTimers();
    try {
      const { latest, instances, hook } = setup({
        incidentId: 'inc-0001',
        retryDelayMs: () => 1_000,
      });
      expect(latest().url).toBe('/api/stream?incident=inc-0001');
      act(() => latest().open());
      act(() => latest().emit('trace.step', frame(), '42-0'));

      act(() => latest().fail(2));
      expect(hook.result.current.status).toBe('disconnected');
      expect(instances[0]?.closed).toBe(true);

      act(() => vi.advanceTimersByTime(1_000));
      expect(hook.result.current.status).toBe('reconnecting');
      expect(instances).toHaveLength(2);
      expect(latest().url).toBe('/api/stream?incident=inc-0001&lastEventId=42-0');

      act(() => latest().open());
      expect(hook.result.current.status).toBe('connected');
    } finally {
      vi.useRealTimers();
    }
  });

  it('shows reconnecting while the browser retries by itself', () => {
    const { latest, instances, hook } = setup();
    act(() => latest().open());
    act(() => latest().fail(0));
    expect(hook.result.current.status).toBe('reconnecting');
    expect(instances).toHaveLength(1);
  });

  it('starts from the stored last id on a fresh page load', () => {
    const fake = createFakeEventSource();
    const storage = { getItem: () => '99-1', setItem: () => {}, removeItem: () => {} };
    renderHook(() => useTraceStream({ EventSource: fake.EventSource, storage }));
    expect(fake.latest().url).toBe('/api/stream?lastEventId=99-1');
  });

  it('drops a resume point the server refuses and asks for a refresh once back', () => {
    vi.useFakeTimers();
    try {
      const fake = createFakeEventSource();
      const store = new Map([['selfheal.stream.lastEventId:*', '1-0']]);
      const storage = {
        getItem: (key: string) => store.get(key) ?? null,
        setItem: (key: string, value: string) => void store.set(key, value),
        removeItem: (key: string) => void store.delete(key),
      };
      const onReconnect = vi.fn();
      renderHook(() => useTraceStream({ EventSource: fake.EventSource, storage, onReconnect }));
      expect(fake.latest().url).toBe('/api/stream?lastEventId=1-0');

      act(() => fake.latest().fail(2));
      act(() => vi.advanceTimersByTime(1_000));
      expect(fake.latest().url).toBe('/api/stream');
      expect(store.has('selfheal.stream.lastEventId:*')).toBe(false);

      act(() => fake.latest().open());
      expect(onReconnect).not.toHaveBeenCalled();
      act(() => fake.latest().fail(0));
      act(() => fake.latest().open());
      expect(onReconnect).toHaveBeenCalledTimes(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('is disconnected, not broken, where there is no EventSource', () => {
    const { result } = renderHook(() => useTraceStream({ EventSource: undefined }));
    expect(result.current.status).toBe('disconnected');
  });
});
