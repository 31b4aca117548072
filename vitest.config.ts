import { defineConfig } from 'vitest/config'

/**
 * Two projects: `unit` runs beside the code (logic, codecs, and GPU kernels on dawn),
 * `e2e` drives the real system (relay process, Chromium tabs, CLI) from `tests/`.
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{protocol,worker-kernels,relay,sdk,web}/src/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['tests/**/*.test.ts'],
          environment: 'node',
          testTimeout: 240_000,
          hookTimeout: 120_000,
          // Each e2e file starts its own relay and browser; two cores cannot run them side by side.
          fileParallelism: false,
        },
      },
    ],
  },
})
