import { defineConfig } from 'drizzle-kit';

/**
 * drizzle-kit generates the trace store's migrations from its schema:
 * `npx drizzle-kit generate --name <change>`. Both adapters (Postgres and PGlite) apply the same
 * folder with drizzle's migrator, so no database URL is needed here.
 */
export default defineConfig({
  dialect: 'postgresql',
  schema: './functions/adapters/store/schema.ts',
  out: './functions/adapters/store/drizzle',
});
