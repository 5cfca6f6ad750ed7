import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The dependency rule of STYLE.md: `domain/` folders hold pure rules. They
 * import other domain code, `src/common`, and Node built-ins; never Nest, a
 * driver, the store, HTTP, auth or config. A change that breaks the rule
 * fails here, naming the file and the import.
 */
const src = dirname(fileURLToPath(import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

const domainFiles = files(src).filter((file) => file.split('/').includes('domain') && !file.endsWith('.spec.ts'));

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((match) => match[1]!);
}

function allowed(file: string, specifier: string): boolean {
  if (specifier.startsWith('node:')) return true;
  if (!specifier.startsWith('.')) return false; // any package: framework, driver, library
  const target = relative(src, resolve(dirname(file), specifier));
  return target.startsWith('common/') || target.split('/').includes('domain');
}

describe('architecture', () => {
  it('finds the domain folders', () => {
    expect(domainFiles.length).toBeGreaterThanOrEqual(8);
  });

  it('domain code imports only domain code, src/common and Node built-ins', () => {
    const violations = domainFiles.flatMap((file) =>
      importsOf(file)
        .filter((specifier) => !allowed(file, specifier))
        .map((specifier) => `${relative(src, file)} imports ${specifier}`),
    );
    expect(violations).toEqual([]);
  });

  it('the rule itself catches a framework import and a store import', () => {
    const file = join(src, 'sites/domain/site.decider.ts');
    expect(allowed(file, '@nestjs/common')).toBe(false);
    expect(allowed(file, '../../event-store/event-envelope.js')).toBe(false);
    expect(allowed(file, '../../common/recorded.js')).toBe(true);
    expect(allowed(file, './site.events.js')).toBe(true);
  });
});
