import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/globalSetup.ts'],
    // Workers are forked after the global setup, so they inherit NODE_EXTRA_CA_CERTS.
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
});
