import type { z } from 'zod';
import { HttpError } from './http-error.js';

/** The `message` of a JSON error body such as `{ error: 'conflict', message: '…' }`, if any. */
async function serverMessageOf(response: Response): Promise<string | undefined> {
  const body: unknown = await response.json().catch(() => undefined);
  if (body && typeof body === 'object' && 'message' in body && typeof body.message === 'string') {
    return body.message;
  }
  return undefined;
}

async function failure(url: string, response: Response): Promise<HttpError> {
  return new HttpError(url, response.status, response.statusText, {
    serverMessage: await serverMessageOf(response),
  });
}

/**
 * GETs JSON and parses it with a zod schema: what the server sends is checked at the boundary,
 * so a component never renders a shape it does not expect.
 *
 * @example
 * const { scenarios } = await getJson('/api/scenarios', ScenarioListSchema);
 */
export async function getJson<S extends z.ZodType>(
  url: string,
  schema: S,
  signal?: AbortSignal,
): Promise<z.infer<S>> {
  const response = await fetch(url, { signal, headers: { accept: 'application/json' } });
  if (!response.ok) throw await failure(url, response);
  return schema.parse(await response.json());
}

/** GETs a text resource (a patch, a diff). */
export async function getText(url: string, signal?: AbortSignal): Promise<string> {
  const response = await fetch(url, { signal });
  if (!response.ok) throw await failure(url, response);
  return response.text();
}

/**
 * POSTs an admin action with the bearer token. Answers the parsed JSON body; a 401 or 409 is an
 * {@link HttpError} carrying the server's message, for `errorMessage` to word.
 */
export async function postAdmin(
  url: string,
  token: string,
  body: Record<string, unknown> = {},
): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      accept: 'application/json',
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw await failure(url, response);
  return response.json().catch(() => ({}));
}
