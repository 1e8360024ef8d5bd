import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-tmp.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Network tests start real server processes: run files one at a time so they do not starve each other of the 2 CPUs.
    fileParallelism: false,
  },
});
