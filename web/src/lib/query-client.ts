import { QueryClient } from '@tanstack/react-query';
import { HttpError } from './http-error.js';

/**
 * The dashboard's query client: reads stay fresh for a moment (the stream says when they
 * change) and a refused request (4xx) is not retried, since asking again changes nothing.
 */
export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 2_000,
        retry: (failures, error) =>
          !(error instanceof HttpError && error.status < 500) && failures < 2,
      },
      mutations: { retry: false },
    },
  });
}
