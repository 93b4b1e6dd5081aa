import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const env = {
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  // Tests assert outcomes, not log lines; metrics are checked through spies.
  POWERTOOLS_LOG_LEVEL: 'SILENT',
  POWERTOOLS_METRICS_DISABLED: 'true',
};

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));
/** Each test file's own TMPDIR, removed after it: tests leave nothing in the machine's temp directory. */
const SCOPED_TEMP_DIRECTORY = 'test/support/scoped-temp-directory.ts';

export default defineConfig({
  resolve: {
    // The repository imports itself by package name, as users do (tsconfig.json "paths" says the same to tsc/tsx).
    alias: [
      { find: /^onceflow$/, replacement: source('./lambda/index.ts') },
      { find: /^onceflow\/cdk$/, replacement: source('./lib/index.ts') },
      { find: /^onceflow\/testing$/, replacement: source('./testing/index.ts') },
    ],
  },
  test: {
    env,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          setupFiles: [SCOPED_TEMP_DIRECTORY],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'infra',
          include: ['test/infra/**/*.test.ts'],
          setupFiles: [SCOPED_TEMP_DIRECTORY],
          testTimeout: 120_000,
        },
      },
      {
        extends: true,
        // The spin model of the claim protocol (docs/model): each configuration and broken variant is one test.
        test: {
          name: 'model',
          include: ['test/model/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 600_000,
        },
      },
      {
        extends: true,
        // A new app built from the README with the packed package: npm installs, tsc, cdk synth, its own tests.
        test: {
          name: 'package',
          include: ['test/package/**/*.test.ts'],
          testTimeout: 600_000,
          hookTimeout: 900_000,
        },
      },
    ],
  },
});
