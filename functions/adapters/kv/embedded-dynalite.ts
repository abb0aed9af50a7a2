import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';

export interface DynaliteOptions {
  /** TCP port on 127.0.0.1; 0 (the default) picks a free one. */
  readonly port?: number;
  /** LevelDB directory for data that survives restarts; in memory when unset. */
  readonly path?: string;
}

export interface EmbeddedDynalite {
  /** `http://127.0.0.1:<port>`, ready for `createDynamoClients({ endpoint })`. */
  readonly endpoint: string;
  /** Stops accepting requests, closes idle keep-alive sockets and closes the store. */
  stop(): Promise<void>;
}

/**
 * Runs dynalite, a DynamoDB emulator on LevelDB, inside this process: the embedded default of
 * the local runtime when `AWS_ENDPOINT_URL_DYNAMODB` is unset. It listens on loopback only.
 *
 * dynalite implements neither TransactWriteItems nor UpdateTimeToLive: pair it with
 * `createDynamoKv(doc, { transactions: 'emulated' })`, and expect idempotency records never to
 * expire (harmless: an expired record only means a very late redelivery would apply again).
 *
 * @example
 * ```ts
 * const dynamo = await startDynalite();
 * const { client, doc } = createDynamoClients({ endpoint: dynamo.endpoint });
 * ```
 */
export async function startDynalite(options: DynaliteOptions = {}): Promise<EmbeddedDynalite> {
  // The default 500 ms in CREATING/DELETING only slows start-up and tests; ensureTables still
  // waits for ACTIVE, so the state machine is exercised either way.
  const server = dynalite({
    ...(options.path ? { path: options.path } : {}),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop() {
      stopped ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // SDK clients keep sockets alive; close() alone would wait for them to time out.
        server.closeIdleConnections();
      });
      return stopped;
    },
  };
}
