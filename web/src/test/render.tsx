import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render } from '@testing-library/react';
import type { ReactElement } from 'react';
import { vi } from 'vitest';
import { AdminTokenProvider } from '../features/admin/admin-token.js';
import {
  type EventSourceConstructor,
  EventSourceContext,
} from '../features/stream/event-source.js';

/**
 * Renders a page the way `main.tsx` mounts it: a fresh query client (no retries, so failures
 * show at once), the admin token provider and the given `EventSource` (none by default).
 */
export function renderPage(
  ui: ReactElement,
  options: { EventSource?: EventSourceConstructor } = {},
) {
  const client = new QueryClient({
    defaultOptions: { queries: { retry: false }, mutations: { retry: false } },
  });
  return render(
    <QueryClientProvider client={client}>
      <EventSourceContext.Provider value={options.EventSource}>
        <AdminTokenProvider>{ui}</AdminTokenProvider>
      </EventSourceContext.Provider>
    </QueryClientProvider>,
  );
}

/** One request the page made. */
export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Headers;
  readonly body: unknown;
}

type Answer = { status?: number; json?: unknown; text?: string };

/**
 * Replaces `fetch` with a router over `METHOD path` keys (the query string is part of the path
 * only when the key has one), recording every request. An unrouted request answers 404.
 */
export function stubFetch(routes: Record<string, Answer | ((request: SeenRequest) => Answer)>) {
  const requests: SeenRequest[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const method = (init.method ?? 'GET').toUpperCase();
    const body = typeof init.body === 'string' && init.body ? JSON.parse(init.body) : undefined;
    const request = { method, url, headers: new Headers(init.headers), body };
    requests.push(request);
    const route = routes[`${method} ${url}`] ?? routes[`${method} ${url.split('?')[0]}`];
    const answer = typeof route === 'function' ? route(request) : route;
    if (!answer) {
      return new Response(JSON.stringify({ error: 'not_found', message: `no route ${url}` }), {
        status: 404,
        headers: { 'content-type': 'application/json' },
      });
    }
    const status = answer.status ?? 200;
    return answer.text !== undefined
      ? new Response(answer.text, { status })
      : new Response(JSON.stringify(answer.json ?? {}), {
          status,
          headers: { 'content-type': 'application/json' },
        });
  });
  vi.stubGlobal('fetch', fetchMock);
  return { requests, fetchMock };
}
