/** A response outside 2xx whose body could not be used, with what the server said. */
export class HttpError extends Error {
  override readonly name = 'HttpError';

  constructor(
    readonly url: string,
    readonly status: number,
    readonly statusText: string,
    options?: ErrorOptions,
  ) {
    super(`${url} answered ${status}${statusText ? ` ${statusText}` : ''}`, options);
  }
}
