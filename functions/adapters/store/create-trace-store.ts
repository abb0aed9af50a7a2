import { createPgliteTraceStore } from './pglite-trace-store.js';
import { createPostgresTraceStore } from './postgres-trace-store.js';
import type { MigratableTraceStore } from './sql-trace-store.js';

/** The environment keys that choose and configure the trace store. */
export interface TraceStoreEnv {
  /** When set (non-empty), the store is Postgres at this URL. */
  readonly DATABASE_URL?: string;
  /** Postgres schema to isolate the tables in (see `PostgresTraceStoreOptions.schema`). */
  readonly DATABASE_SCHEMA?: string;
  /** PGlite data directory when there is no `DATABASE_URL`; in memory when unset. */
  readonly PGLITE_DATA_DIR?: string;
}

/**
 * Postgres when `DATABASE_URL` is set, else embedded PGlite; `store.kind` says which. Either
 * way the migrations have been applied when the promise resolves.
 *
 * @example
 * const store = await createTraceStore(process.env);
 */
export async function createTraceStore(env: TraceStoreEnv): Promise<MigratableTraceStore> {
  const url = nonEmpty(env.DATABASE_URL);
  if (url !== undefined) {
    const schema = nonEmpty(env.DATABASE_SCHEMA);
    return createPostgresTraceStore(schema === undefined ? { url } : { url, schema });
  }
  const dataDir = nonEmpty(env.PGLITE_DATA_DIR);
  return createPgliteTraceStore(dataDir === undefined ? {} : { dataDir });
}

// An empty variable (`DATABASE_URL=` in a .env file) means unset, not "connect to ''".
const nonEmpty = (value: string | undefined): string | undefined =>
  value === undefined || value.trim() === '' ? undefined : value;
