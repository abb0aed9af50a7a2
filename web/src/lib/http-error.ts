/** A response outside 2xx whose body could not be used, with what the server said. */
export class HttpError extends Error {
  override readonly name = 'HttpError';

  constructor(
    readonly url: string,
    readonly status: number,
    readonly statusText: string,
    options?: ErrorOptions & {
      /** The `message` of the server's JSON error body, when it sent one. */
      readonly serverMessage?: string | undefined;
    },
  ) {
    super(`${url} answered ${status}${statusText ? ` ${statusText}` : ''}`, options);
    this.serverMessage = options?.serverMessage;
  }

  readonly serverMessage: string | undefined;
}
