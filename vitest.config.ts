import { defineConfig } from 'vitest/config';

// Two projects: unit tests beside the code (no I/O beyond loopback servers they start
// themselves) and integration tests under test/ that need the real PostgreSQL and Kafka that
// `npm test` starts (see packages/test-kit/src/global-setup.ts).
export default defineConfig({
  test: {
    reporters: ['default'],
    // Integration suites share one broker and one database server on a 2-core machine, and
    // the fault suites stop and restart them: files run one at a time.
    fileParallelism: false,
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'packages/*/src/**/*.test.ts',
            'services/*/src/**/*.test.ts',
            'services/*/ui/**/*.test.ts',
            'scripts/**/*.test.ts',
          ],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['packages/*/test/**/*.test.ts', 'services/*/test/**/*.test.ts', 'test/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['packages/test-kit/src/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
