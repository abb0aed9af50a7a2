import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: more workers only contend for the same Redis, Postgres and JVM.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'server',
          include: [
            'test/**/*.test.ts',
            'functions/**/*.test.ts',
            'events/**/*.test.ts',
            'infra/**/*.test.ts',
          ],
          // DynamoDB Local (a JVM) for the server suites only: the web tests never need it.
          globalSetup: ['test/global-setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'web',
          include: ['web/src/**/*.test.{ts,tsx}'],
          // A browser-like DOM for React and Testing Library; no servers, so short timeouts.
          environment: 'happy-dom',
          setupFiles: ['web/src/test/setup.ts'],
          testTimeout: 10_000,
          hookTimeout: 10_000,
        },
      },
    ],
  },
});
