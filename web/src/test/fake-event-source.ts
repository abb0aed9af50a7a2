import type { EventSourceConstructor, EventSourceLike } from '../features/stream/event-source.js';

/** A scripted `EventSource`: the test opens, fails and feeds it frames as the server would. */
export interface FakeEventSource extends EventSourceLike {
  readonly url: string;
  readonly closed: boolean;
  /** The server accepted the stream. */
  open(): void;
  /** Delivers one SSE frame: `event:` name, `data:` text and `id:`. */
  emit(type: string, data: string, id?: string): void;
  /** A connection error; `readyState` 2 means the browser gave up, 0 that it retries. */
  fail(readyState?: 0 | 2): void;
}

/** A fresh fake `EventSource` class with its own list of every instance it created. */
export function createFakeEventSource(): {
  EventSource: EventSourceConstructor;
  instances: FakeEventSource[];
  latest: () => FakeEventSource;
} {
  const instances: FakeEventSource[] = [];

  class Fake implements FakeEventSource {
    readyState = 0;
    closed = false;
    onopen: ((event: Event) => void) | null = null;
    onerror: ((event: Event) => void) | null = null;
    private readonly listeners = new Map<string, ((event: MessageEvent) => void)[]>();

    constructor(readonly url: string) {
      instances.push(this);
    }

    addEventListener(type: string, listener: (event: MessageEvent) => void) {
      this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
    }

    close() {
      this.readyState = 2;
      this.closed = true;
    }

    open() {
      this.readyState = 1;
      this.onopen?.(new Event('open'));
    }

    emit(type: string, data: string, id = '') {
      const event = new MessageEvent(type, { data, lastEventId: id });
      for (const listener of this.listeners.get(type) ?? []) listener(event);
    }

    fail(readyState: 0 | 2 = 2) {
      this.readyState = readyState;
      this.onerror?.(new Event('error'));
    }
  }

  return {
    EventSource: Fake,
    instances,
    latest: () => {
      const last = instances.at(-1);
      if (!last) throw new Error('no EventSource was opened');
      return last;
    },
  };
}
