import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { TraceStoreInputError } from '../../ports/trace-store.js';
import {
  createSqlTraceStore,
  MIGRATIONS_FOLDER,
  MIGRATIONS_TABLE,
  type MigratableTraceStore,
} from './sql-trace-store.js';

export interface PostgresTraceStoreOptions {
  /** `postgres://user:pass@host:port/db`. */
  readonly url: string;
  /**
   * Postgres schema holding the tables and drizzle's migration history; created when missing
   * and made the pool's only `search_path` entry. Tests use one per file for isolation. Without
   * it, tables go to `public` and the history to drizzle's default `drizzle` schema.
   */
  readonly schema?: string;
  /** Pool size; defaults to pg's 10. */
  readonly maxConnections?: number;
  /** Where the migrations are when bundled away from this file; defaults to `./drizzle`. */
  readonly migrationsFolder?: string;
}

// Quoted everywhere it is used; the pattern only keeps it a plain, short identifier.
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,62}$/;

/**
 * The trace store on Postgres (Aurora in AWS, a local server in tests) through a node-postgres
 * pool. Applies pending migrations before resolving; concurrent starters (cold Lambdas) are
 * serialized by a session advisory lock, so only one runs them.
 *
 * @example
 * const store = await createPostgresTraceStore({ url: process.env.DATABASE_URL, schema: 'selfheal' });
 */
export async function createPostgresTraceStore(
  options: PostgresTraceStoreOptions,
): Promise<MigratableTraceStore> {
  const { schema } = options;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new TraceStoreInputError('schema', `not a valid schema name: ${JSON.stringify(schema)}`);
  }
  const pool = new pg.Pool({
    connectionString: options.url,
    ...(options.maxConnections === undefined ? {} : { max: options.maxConnections }),
    // Set at connection start, so every pooled connection resolves tables in the schema.
    ...(schema === undefined ? {} : { options: `-c search_path="${schema}"` }),
  });
  // An idle client losing its server must not crash the process; the next query reconnects.
  pool.on('error', () => {});

  const runMigrations = async (): Promise<void> => {
    const client = await pool.connect();
    const lockKey = `selfheal.trace-store.migrate:${schema ?? 'public'}`;
    let failure: unknown;
    try {
      const db = drizzle({ client });
      await db.execute(sql`SELECT pg_advisory_lock(hashtextextended(${lockKey}, 0))`);
      try {
        if (schema !== undefined) {
          await db.execute(sql`CREATE SCHEMA IF NOT EXISTS ${sql.identifier(schema)}`);
        }
        await migrate(db, {
          migrationsFolder: options.migrationsFolder ?? MIGRATIONS_FOLDER,
          migrationsTable: MIGRATIONS_TABLE,
          ...(schema === undefined ? {} : { migrationsSchema: schema }),
        });
      } finally {
        await db.execute(sql`SELECT pg_advisory_unlock(hashtextextended(${lockKey}, 0))`);
      }
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      // A client whose unlock may not have run is destroyed rather than pooled with the lock.
      client.release(failure instanceof Error ? failure : undefined);
    }
  };

  try {
    await runMigrations();
  } catch (error) {
    await pool.end();
    throw error;
  }

  return createSqlTraceStore(drizzle({ client: pool }), {
    kind: 'postgres',
    migrate: runMigrations,
    close: () => pool.end(),
  });
}
