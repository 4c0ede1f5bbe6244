import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * Pages import the product's shared browser files as `./common/<file>` from `<prefix>/ui/`,
 * where each service serves packages/web-ui/ui/common (docs/adr/0012-one-product-behind-one-host.md);
 * the pages' unit tests resolve them the same way.
 */
const webUiCommon = {
  name: 'web-ui-common',
  resolveId(source: string, importer: string | undefined) {
    if (!importer || !source.startsWith('./common/') || !/\/services\/[^/]+\/ui\/[^/]+$/.test(importer)) return null;
    return join(
      fileURLToPath(new URL('./packages/web-ui/ui/common/', import.meta.url)),
      source.slice('./common/'.length),
    );
  },
};

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
        plugins: [webUiCommon],
        test: {
          name: 'unit',
          include: [
            'packages/*/src/**/*.test.ts',
            'services/*/src/**/*.test.ts',
            'services/*/ui/**/*.test.ts',
            'packages/*/ui/**/*.test.ts',
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
