import { defineConfig } from 'vitest/config';

/**
 * The unit specs of the domain folders, and nothing else: what `npm run
 * mutation` (stryker.config.mjs) runs against each mutant. Kept apart from
 * vitest.config.ts, whose projects also boot the app and probe for PostgreSQL.
 */
const MUTATED_DOMAINS = ['src/sites/domain', 'src/operations/domain', 'src/retention/domain'];

export default defineConfig({
  test: {
    include: MUTATED_DOMAINS.map((folder) => `${folder}/**/*.spec.ts`),
  },
});
