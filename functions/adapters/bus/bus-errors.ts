/**
 * Errors raised by Bus adapters. Both adapters raise the same classes for the same conditions,
 * so callers (the poller, the local runtime) handle them once.
 */
export class BusError extends Error {
  override name = 'BusError';
}

/** A group operation named a consumer group (or stream) that does not exist (`NOGROUP`). */
export class BusGroupMissingError extends BusError {
  override name = 'BusGroupMissingError';

  constructor(
    readonly stream: string,
    readonly group: string,
    options?: ErrorOptions,
  ) {
    super(`consumer group '${group}' does not exist on stream '${stream}'`, options);
  }
}

/** The bus was closed; no further operation is accepted. */
export class BusClosedError extends BusError {
  override name = 'BusClosedError';

  constructor(options?: ErrorOptions) {
    super('the bus is closed', options);
  }
}

/** Redis answered with a shape the adapter does not understand (a protocol or version mismatch). */
export class BusReplyError extends BusError {
  override name = 'BusReplyError';

  constructor(
    readonly command: string,
    readonly reply: unknown,
    options?: ErrorOptions,
  ) {
    super(`unexpected reply to ${command}: ${JSON.stringify(reply)?.slice(0, 200)}`, options);
  }
}

/** An entry id that is not `<ms>-<seq>` (or a shorthand Redis accepts, like `0` or `-`). */
export class BusInvalidIdError extends BusError {
  override name = 'BusInvalidIdError';

  constructor(readonly id: string) {
    super(`invalid stream entry id '${id}'`);
  }
}
