import { defineConfig } from 'vitest/config';

// `npm test` runs every project: unit specs beside the code (deciders, store
// contract, crypto) and e2e specs that boot the real app over HTTP.
export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['src/**/*.spec.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/**/*.e2e-spec.ts'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
    ],
  },
});
