import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The architecture of STYLE.md, checked on every import of src/. A change
 * that breaks a rule fails here, naming the file and the import.
 *
 * 1. `domain/` folders hold pure rules: they import other domain code,
 *    src/common and Node built-ins; never Nest, a driver, the store, HTTP,
 *    auth or config.
 * 2. Imports run one way, down the layers below: a folder imports its own
 *    files and folders of lower layers only. Features sit above the engine,
 *    the engine above the stores, the stores above common. An arrow that
 *    must run the other way is allowed by name below, with its reason.
 * 3. The key stores use only the public pieces of the adapter they share an engine with.
 *    A feature uses another feature only through its top-level files and
 *    its domain/ (the published language); its other folders (dto/, …) are
 *    its own.
 * 4. Nothing in src/ imports from test/: what specs share lives in
 *    src/testing, which production code never imports.
 * 5. The command line (src/cli) is a client of the HTTP API: it imports
 *    src/common and the pure transparency pieces (to check signatures and
 *    proofs itself) at most, and nothing imports it.
 */
const src = dirname(fileURLToPath(import.meta.url));

/** Top-level folders of src/, lowest first; `(root)` is main.ts, app.module.ts and the other files directly in src/. */
const LAYERS: readonly (readonly string[])[] = [
  ['common'],
  // Stores: the event store port and adapters; the key stores (EventStoreDB's shares the event store's client).
  // They take what they need as arguments: the configuration is read above them.
  ['event-store'],
  // The transparency log's pure pieces: Merkle hashing and proofs, checkpoints, leaf bytes.
  // Above the stores in the list only to sit beside crypto: it imports common alone (checked below).
  ['transparency'],
  // The command line: an HTTP client of the service, never of its modules. Low in the list only because it may
  // import common and transparency; that it imports nothing else, and that nothing imports it, is checked below.
  ['cli'],
  ['crypto'],
  // Who runs background work on one instance at a time (a lease in the shared store, or always this one).
  ['leases'],
  // What a POST or PUT with an Idempotency-Key answered, kept in the store's own database.
  ['idempotency'],
  ['config'],
  // The data folder this process holds: one process per folder; taken before any of its files opens.
  ['data-folder'],
  // Logs and metrics: the logger every layer writes through, the figures /metrics serves.
  ['observability'],
  // Test support for specs (given/when/then, stored-event fixtures, polling); production code never imports it.
  ['testing'],
  // The engine every feature builds on: principals, read models, the write path, HTTP plumbing.
  ['auth'],
  ['read-models'],
  ['ledger'],
  ['http'],
  // The transparency log (Merkle tree read model, checkpoints, proofs): below the features, so verification can check checkpoints.
  ['transparency-log'],
  // Snapshots of stream folds: a file of the instance's own (derived data, like the read models), sealed with a key
  // derived from the checkpoint key, so above the transparency log.
  ['snapshots'],
  // Features. Sites come first: operations, retention and the fleet build on the site rules.
  ['sites'],
  ['operations', 'retention', 'fleet', 'audit', 'subscriptions', 'verification', 'health', 'web-console'],
  // Composition: what picks the stores, and what boots the service.
  ['stores'],
  ['(root)'],
];

const FEATURES = new Set([
  'transparency-log',
  'sites',
  'operations',
  'retention',
  'fleet',
  'audit',
  'subscriptions',
  'verification',
  'health',
  'web-console',
]);

/** What the key stores may use of an event store adapter: the shared client or pool, its error translation, the schema helper. */
const ADAPTER_PUBLIC = [
  'event-store/eventstoredb/eventstoredb.client.ts',
  'event-store/eventstoredb/eventstoredb.errors.ts',
  'event-store/postgres/postgres.connection.ts',
  'event-store/postgres/postgres.client.ts',
  'event-store/postgres/postgres.errors.ts',
  'event-store/postgres/postgres.schema.ts',
];

/** The adapters whose engine a key store shares. */
const ADAPTER_FOLDERS = ['eventstoredb', 'postgres'];

/** Arrows that run against the layers, each with why it stays. Keep this short. */
const ALLOWED_UPWARD: Readonly<Record<string, string>> = {};

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

const all = files(src);
const production = all.filter((file) => !file.endsWith('.spec.ts') && !file.endsWith('.contract.ts'));
const domainFiles = production.filter((file) => file.split(sep).includes('domain'));

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((match) => match[1]!);
}

/** The path under src/ an import points at (undefined for a package or a Node built-in). */
function target(file: string, specifier: string): string | undefined {
  return specifier.startsWith('.') ? relative(src, resolve(dirname(file), specifier)) : undefined;
}

const folderOf = (path: string): string => (path.includes(sep) ? path.split(sep)[0]! : '(root)');

function layerOf(folder: string): number {
  const layer = LAYERS.findIndex((names) => names.includes(folder));
  if (layer === -1) throw new Error(`src/${folder} is in no layer: add it to LAYERS in architecture.spec.ts`);
  return layer;
}

function domainAllows(file: string, specifier: string): boolean {
  if (specifier.startsWith('node:')) return true;
  const path = target(file, specifier);
  if (path === undefined) return false; // any package: framework, driver, library
  return path.startsWith(`common${sep}`) || path.split(sep).includes('domain');
}

const NO_TEST_IMPORTS = '(src/ never imports from test/)';

/** Every rule an import breaks, as `file imports specifier (rule)`. */
function violationsOf(file: string, specifier: string): string[] {
  const path = target(file, specifier);
  if (path === undefined) return [];
  const from = relative(src, file);
  const [source, destination] = [folderOf(from), folderOf(path)];
  const found: string[] = [];
  const say = (rule: string) => found.push(`${from} imports ${specifier} (${rule})`);
  if (path.startsWith(`..${sep}test${sep}`) || path === `..${sep}test`) say(NO_TEST_IMPORTS.slice(1, -1));
  if (source === destination || path.startsWith('..')) return found;
  if (destination === 'testing') say('only specs and test/ use src/testing');
  const arrow = `${source} -> ${destination}`;
  if (layerOf(destination) >= layerOf(source) && ALLOWED_UPWARD[arrow] === undefined)
    say(`${arrow} runs against the layers`);
  if (
    source === 'crypto' &&
    ADAPTER_FOLDERS.some((folder) => path.startsWith(`event-store${sep}${folder}${sep}`)) &&
    !ADAPTER_PUBLIC.includes(`${path.replace(/\.js$/, '')}.ts`)
  ) {
    say("crypto uses only an adapter's public pieces (client or pool, errors, schema)");
  }
  const inner = path.split(sep).slice(1, -1);
  if (FEATURES.has(source) && FEATURES.has(destination) && inner.length > 0 && inner[0] !== 'domain') {
    say(`reaches into ${destination}/${inner.join('/')}, which is ${destination}'s own`);
  }
  return found;
}

describe('architecture', () => {
  it('finds the domain folders and every top-level folder in a layer', () => {
    expect(domainFiles.length).toBeGreaterThanOrEqual(8);
    const folders = new Set(all.map((file) => folderOf(relative(src, file))));
    for (const folder of folders) expect(() => layerOf(folder)).not.toThrow();
  });

  it('domain code imports only domain code, src/common and Node built-ins', () => {
    const violations = domainFiles.flatMap((file) =>
      importsOf(file)
        .filter((specifier) => !domainAllows(file, specifier))
        .map((specifier) => `${relative(src, file)} imports ${specifier}`),
    );
    expect(violations).toEqual([]);
  });

  it('imports run down the layers, features use each other only through top-level files and domain/, and nothing imports test/', () => {
    const violations = production.flatMap((file) =>
      importsOf(file).flatMap((specifier) => violationsOf(file, specifier)),
    );
    const fromSpecs = all
      .filter((file) => !production.includes(file))
      .flatMap((file) =>
        importsOf(file).flatMap((specifier) =>
          violationsOf(file, specifier).filter((v) => v.endsWith(NO_TEST_IMPORTS)),
        ),
      );
    expect([...violations, ...fromSpecs]).toEqual([]);
  });

  it('transparency imports only src/common and Node built-ins: an auditor can take it as it is', () => {
    const violations = production
      .filter((file) => folderOf(relative(src, file)) === 'transparency')
      .flatMap((file) =>
        importsOf(file)
          .filter((specifier) => {
            if (specifier.startsWith('node:')) return false;
            const path = target(file, specifier);
            return path === undefined || !['transparency', 'common'].includes(folderOf(path));
          })
          .map((specifier) => `${relative(src, file)} imports ${specifier}`),
      );
    expect(violations).toEqual([]);
  });

  it('the command line imports only src/common, src/transparency, Node built-ins and its own packages, and nothing imports it', () => {
    const CLI_PACKAGES = ['commander', 'eventsource-parser'];
    const violations = all.flatMap((file) => {
      const from = folderOf(relative(src, file));
      const packages = file.endsWith('.spec.ts') ? [...CLI_PACKAGES, 'vitest'] : CLI_PACKAGES;
      return importsOf(file)
        .filter((specifier) => {
          const path = target(file, specifier);
          const to = path === undefined ? undefined : folderOf(path);
          if (from !== 'cli') return to === 'cli';
          if (path === undefined) return !specifier.startsWith('node:') && !packages.includes(specifier);
          return to !== 'cli' && to !== 'common' && to !== 'transparency';
        })
        .map((specifier) => `${relative(src, file)} imports ${specifier}`);
    });
    expect(all.some((file) => folderOf(relative(src, file)) === 'cli')).toBe(true);
    expect(violations).toEqual([]);
  });

  it('every allowed upward arrow is still used (a stale exception is removed)', () => {
    const arrows = new Set(
      production.flatMap((file) =>
        importsOf(file).flatMap((specifier) => {
          const path = target(file, specifier);
          return path === undefined || path.startsWith('..')
            ? []
            : [`${folderOf(relative(src, file))} -> ${folderOf(path)}`];
        }),
      ),
    );
    expect(Object.keys(ALLOWED_UPWARD).filter((arrow) => !arrows.has(arrow))).toEqual([]);
  });

  it('the rules themselves catch a framework import in domain code, an upward arrow, a deep import and an import from test/', () => {
    const decider = join(src, 'sites/domain/site.decider.ts');
    expect(domainAllows(decider, '@nestjs/common')).toBe(false);
    expect(domainAllows(decider, '../../event-store/event-envelope.js')).toBe(false);
    expect(domainAllows(decider, '../../common/recorded.js')).toBe(true);
    expect(domainAllows(decider, './site.events.js')).toBe(true);
    const store = join(src, 'event-store/event-store.port.ts');
    expect(violationsOf(store, '../read-models/projection-runner.js')).toEqual([
      'event-store/event-store.port.ts imports ../read-models/projection-runner.js (event-store -> read-models runs against the layers)',
    ]);
    const fleet = join(src, 'fleet/fleet.dto.ts');
    expect(violationsOf(fleet, '../sites/dto/site-responses.dto.js')).toHaveLength(1);
    expect(violationsOf(fleet, '../sites/domain/site.events.js')).toEqual([]);
    expect(violationsOf(fleet, '../sites/site.view.js')).toEqual([]);
    const keyStore = join(src, 'crypto/eventstoredb-key-store.ts');
    expect(violationsOf(keyStore, '../event-store/eventstoredb/eventstoredb.client.js')).toEqual([]);
    expect(violationsOf(keyStore, '../event-store/eventstoredb/eventstoredb.codec.js')).toHaveLength(1);
    const pgKeyStore = join(src, 'crypto/postgres-key-store.ts');
    expect(violationsOf(pgKeyStore, '../event-store/postgres/postgres.client.js')).toEqual([]);
    expect(violationsOf(pgKeyStore, '../event-store/postgres/postgres.appends.js')).toHaveLength(1);
    expect(
      violationsOf(join(src, 'event-store/sqlite/sqlite-event-store.ts'), '../../config/ledger-config.js'),
    ).toHaveLength(1);
    expect(violationsOf(join(src, 'ledger/clock.spec.ts'), '../../test/support/decider-spec.js')).toEqual([
      'ledger/clock.spec.ts imports ../../test/support/decider-spec.js (src/ never imports from test/)',
    ]);
  });
});
