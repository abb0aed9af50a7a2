import { HttpError } from './http-error.js';

/**
 * Turns anything a fetch or parse can throw into one sentence for the user. The one place the
 * web app decides how failures read, so every panel words them the same way.
 */
export function errorMessage(error: unknown): string {
  if (error instanceof HttpError) {
    if (error.status === 401) {
      return 'The admin token was refused: it is wrong or expired. Enter it again to retry.';
    }
    if (error.status === 409) {
      return `Not possible right now: ${error.serverMessage ?? 'the incident changed meanwhile'}. Reload to see its current state.`;
    }
    if (error.status === 404) {
      return error.serverMessage ? `Not found: ${error.serverMessage}.` : 'Not found.';
    }
    return error.status >= 500
      ? `The server failed (${error.status}).`
      : `The server refused the request (${error.status}${error.serverMessage ? `: ${error.serverMessage}` : ''}).`;
  }
  if (error instanceof TypeError) {
    // fetch rejects with a TypeError when nothing answers at all.
    return 'The server is unreachable.';
  }
  if (error instanceof Error && error.name === 'ZodError') {
    return 'The server answered in an unexpected shape.';
  }
  if (error instanceof Error) {
    return error.message;
  }
  return 'Something went wrong.';
}
