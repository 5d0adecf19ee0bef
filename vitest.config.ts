import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests start real peers (SIPp, Kamailio, Asterisk) on loopback; two cores.
    maxWorkers: 2,
  },
});
