import { defineConfig } from 'vitest/config';

// Integration tests share one Temporal dev server and one MariaDB on a 2-core machine: files run
// one after another, each in its own databases and task queue.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/harness/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
    reporters: ['default'],
  },
});
