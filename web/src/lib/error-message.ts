import { HttpError } from './http-error.js';

/**
 * Turns anything a fetch or parse can throw into one sentence for the user. The one place the
 * web app decides how failures read, so every panel words them the same way.
 */
export function errorMessage(error: unknown): string {
  if (error instanceof HttpError) {
    return error.status >= 500
      ? `The server failed (${error.status}).`
      : `The server refused the request (${error.status}).`;
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
