import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/_leak-check.ts'],
    // The default, spelled out: an error or rejection nobody handled (a callback throwing after its test,
    // a promise left to reject) fails the run even though every test passed; it must never be switched on.
    dangerouslyIgnoreUnhandledErrors: false,
    // Integration and browser suites run real ffmpeg and Chromium processes: on a 2-core machine,
    // running files one at a time keeps them from starving each other.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
