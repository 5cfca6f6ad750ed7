import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * What picks the engine lives above the stores: `event-store/` and
 * `crypto/` import neither `stores/` nor `config/`, `event-store/` imports
 * nothing from `crypto/`, and `crypto/` takes from the EventStoreDB adapter
 * only its public pieces (the shared client and the error translation).
 */
const src = dirname(dirname(fileURLToPath(import.meta.url)));

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? files(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

/** Every local import of the non-test files under `folder`, as `file → target` (paths relative to src/). */
function importsUnder(folder: string): { file: string; target: string }[] {
  return files(join(src, folder))
    .filter((file) => !file.endsWith('.spec.ts'))
    .flatMap((file) =>
      [
        ...readFileSync(file, 'utf8').matchAll(
          /^\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/gm,
        ),
      ].map((match) => ({
        file: relative(src, file),
        target: relative(src, resolve(dirname(file), match[1] ?? '')),
      })),
    );
}

const ADAPTER_PUBLIC = [
  'event-store/eventstoredb/eventstoredb.client.js',
  'event-store/eventstoredb/eventstoredb.errors.js',
];

describe('store layering', () => {
  it('finds the imports it checks', () => {
    expect(importsUnder('event-store').length).toBeGreaterThan(10);
    expect(importsUnder('crypto').length).toBeGreaterThan(3);
  });

  it('event-store/ imports nothing from stores/, config/ or crypto/', () => {
    const violations = importsUnder('event-store').filter(({ target }) =>
      /^(stores|config|crypto)\//.test(target),
    );
    expect(violations).toEqual([]);
  });

  it('crypto/ imports nothing from stores/ or config/, and of the EventStoreDB adapter only its public pieces', () => {
    const violations = importsUnder('crypto').filter(
      ({ target }) =>
        /^(stores|config)\//.test(target) ||
        (target.startsWith('event-store/eventstoredb/') &&
          !ADAPTER_PUBLIC.includes(target)),
    );
    expect(violations).toEqual([]);
  });
});
