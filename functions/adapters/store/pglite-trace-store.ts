import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import {
  createSqlTraceStore,
  MIGRATIONS_FOLDER,
  MIGRATIONS_TABLE,
  type MigratableTraceStore,
} from './sql-trace-store.js';

export interface PgliteTraceStoreOptions {
  /** Directory for a persistent database; in memory when omitted. Ignored with `client`. */
  readonly dataDir?: string;
  /**
   * An already open PGlite to use instead of opening one (to share it, or to inspect it in
   * tests). The store does not close a client it did not open.
   */
  readonly client?: PGlite;
  /** Where the migrations are when bundled away from this file; defaults to `./drizzle`. */
  readonly migrationsFolder?: string;
}

/**
 * The trace store embedded in the process with PGlite (Postgres compiled to WASM): the local
 * runtime's default, with the same schema and migrations as Postgres. PGlite is one connection,
 * and it queues a transaction's competitors until it ends, so the adapter needs no pool.
 *
 * @example
 * const store = await createPgliteTraceStore({ dataDir: '.data/trace' });
 */
export async function createPgliteTraceStore(
  options: PgliteTraceStoreOptions = {},
): Promise<MigratableTraceStore> {
  const owned = options.client === undefined;
  const client =
    options.client ??
    (await PGlite.create(options.dataDir === undefined ? {} : { dataDir: options.dataDir }));
  const db = drizzle({ client });
  const runMigrations = () =>
    migrate(db, {
      migrationsFolder: options.migrationsFolder ?? MIGRATIONS_FOLDER,
      migrationsTable: MIGRATIONS_TABLE,
    });

  try {
    await runMigrations();
  } catch (error) {
    if (owned) await client.close();
    throw error;
  }

  return createSqlTraceStore(db, {
    kind: 'pglite',
    migrate: runMigrations,
    close: async () => {
      if (owned && !client.closed) await client.close();
    },
  });
}
