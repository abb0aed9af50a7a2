import { createContext, useContext } from 'react';

/** The part of the browser's `EventSource` the live views use; tests inject a fake. */
export interface EventSourceLike {
  /** 0 connecting, 1 open, 2 closed (the browser gave up and will not retry). */
  readonly readyState: number;
  onopen: ((event: Event) => void) | null;
  onerror: ((event: Event) => void) | null;
  addEventListener(type: string, listener: (event: MessageEvent) => void): void;
  close(): void;
}

export type EventSourceConstructor = new (url: string) => EventSourceLike;

export const READY_STATE = { connecting: 0, open: 1, closed: 2 } as const;

/**
 * Which `EventSource` the live views open: the browser's by default, a fake in tests, none
 * where the platform has none (the views then show themselves disconnected and poll).
 */
export const EventSourceContext = createContext<EventSourceConstructor | undefined>(
  typeof globalThis.EventSource === 'function' ? globalThis.EventSource : undefined,
);

export function useEventSourceConstructor(): EventSourceConstructor | undefined {
  return useContext(EventSourceContext);
}
