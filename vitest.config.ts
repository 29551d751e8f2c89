import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['./test/helpers/global-build.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // The JSON report feeds the `N passed, N failed` line that .ci/run prints.
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-report.json' },
  },
});
