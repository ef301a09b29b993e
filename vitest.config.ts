import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The kernel scenarios mount overlays; a slow CI machine gets room.
    testTimeout: 60_000,
    benchmark: { include: ['bench/**/*.bench.ts'] },
  },
});
