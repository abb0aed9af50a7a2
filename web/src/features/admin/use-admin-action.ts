import { useMutation } from '@tanstack/react-query';
import { HttpError } from '../../lib/http-error.js';
import { useAdminToken } from './admin-token.js';

/** The person closed the token dialog: the action did not run, and that is no error. */
export const CANCELLED = Symbol('cancelled');

/**
 * An admin action as a mutation: asks for the token (once per session), runs the action with
 * it, and forgets a token the server refused (401) so the next try asks again. Errors keep
 * their `HttpError`, for `errorMessage` to word.
 */
export function useAdminAction<V, R>(
  run: (token: string, variables: V) => Promise<R>,
  options: { onSuccess?: (result: R, variables: V) => void } = {},
) {
  const { getToken, forgetToken } = useAdminToken();
  return useMutation({
    mutationFn: async (variables: V): Promise<R | typeof CANCELLED> => {
      const token = await getToken();
      if (!token) return CANCELLED;
      try {
        return await run(token, variables);
      } catch (error) {
        if (error instanceof HttpError && error.status === 401) forgetToken();
        throw error;
      }
    },
    onSuccess: (result, variables) => {
      if (result !== CANCELLED) options.onSuccess?.(result, variables);
    },
  });
}
