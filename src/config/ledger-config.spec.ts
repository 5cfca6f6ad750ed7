import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, type LedgerConfig, loadConfig } from './ledger-config.js';

function problemsOf(env: Record<string, string | undefined>): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('applies the defaults of SPEC §8', () => {
    expect(loadConfig({})).toEqual<LedgerConfig>({
      port: 3000,
      host: '127.0.0.1',
      store: 'sqlite',
      dataDir: resolve('data'),
      eventStoreConnectionString: 'esdb://localhost:2113?tls=false',
      tokensFile: undefined,
      retention: 'P30D',
      minRetention: 'P7D',
      purgeIntervalMs: 60_000,
      maxOperationSites: 1000,
      largeOperationSites: 10,
      canarySites: 5,
      postgresUrl: 'postgres://postgres@127.0.0.1:5432/tenant_ledger',
      leaseTtlMs: 10_000,
      logLevel: 'info',
      logFormat: 'auto',
      readyMaxLag: 100,
      idempotencyTtlMs: 86_400_000,
      origin: 'tenant-ledger',
      checkpointKeyFile: undefined,
    });
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', LEDGER_STORE: '', LEDGER_TOKENS_FILE: '' })).toMatchObject({
      port: 3000,
      store: 'sqlite',
      tokensFile: undefined,
    });
  });

  it('reads every variable', () => {
    const config = loadConfig({
      PORT: '8080',
      HOST: '0.0.0.0',
      LEDGER_STORE: 'eventstoredb',
      LEDGER_DATA_DIR: '/var/lib/ledger',
      EVENTSTORE_CONNECTION_STRING: 'esdb+discover://cluster.local:2113',
      LEDGER_TOKENS_FILE: 'secrets/tokens.json',
      LEDGER_RETENTION: 'P1M',
      LEDGER_MIN_RETENTION: 'P14D',
      LEDGER_PURGE_INTERVAL: 'PT1H30M',
      LEDGER_MAX_OPERATION_SITES: '50',
      LEDGER_LARGE_OPERATION_SITES: '50',
      LEDGER_CANARY_SITES: '2',
      LEDGER_POSTGRES_URL: 'postgresql://ledger:secret@db.internal:6432/ledger?sslmode=require',
      LEDGER_LEASE_TTL: 'PT30S',
      LEDGER_LOG_LEVEL: 'warn',
      LEDGER_LOG_FORMAT: 'json',
      LEDGER_READY_MAX_LAG: '0',
      LEDGER_IDEMPOTENCY_TTL: 'PT12H',
      LEDGER_ORIGIN: 'ledger.example.com/tenants',
      LEDGER_CHECKPOINT_KEY_FILE: 'secrets/checkpoint-key.pem',
    });
    expect(config).toEqual<LedgerConfig>({
      port: 8080,
      host: '0.0.0.0',
      store: 'eventstoredb',
      dataDir: '/var/lib/ledger',
      eventStoreConnectionString: 'esdb+discover://cluster.local:2113',
      tokensFile: resolve('secrets/tokens.json'),
      retention: 'P1M',
      minRetention: 'P14D',
      purgeIntervalMs: 90 * 60_000,
      maxOperationSites: 50,
      largeOperationSites: 50,
      canarySites: 2,
      postgresUrl: 'postgresql://ledger:secret@db.internal:6432/ledger?sslmode=require',
      leaseTtlMs: 30_000,
      logLevel: 'warn',
      logFormat: 'json',
      readyMaxLag: 0,
      idempotencyTtlMs: 12 * 3_600_000,
      origin: 'ledger.example.com/tenants',
      checkpointKeyFile: resolve('secrets/checkpoint-key.pem'),
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('ignores variables it does not know', () => {
    expect(loadConfig({ PATH: '/usr/bin', NODE_ENV: 'production' }).port).toBe(3000);
  });

  it.each<[string, string, string]>([
    ['PORT', '0', 'must be an integer from 1 to 65535'],
    ['PORT', '65536', 'must be an integer from 1 to 65535'],
    ['PORT', '80.5', 'must be an integer from 1 to 65535'],
    ['PORT', 'http', 'must be an integer from 1 to 65535'],
    ['HOST', '  ', 'must be a host name or address without spaces'],
    ['LEDGER_STORE', 'mongodb', 'must be one of sqlite, postgres, eventstoredb, memory'],
    ['LEDGER_STORE', 'SQLite', 'must be one of sqlite, postgres, eventstoredb, memory'],
    ['LEDGER_DATA_DIR', ' ', 'must be a directory path'],
    ['EVENTSTORE_CONNECTION_STRING', 'http://localhost:2113', 'must start with esdb:// or esdb+discover://'],
    ['EVENTSTORE_CONNECTION_STRING', 'esdb://', 'must start with esdb:// or esdb+discover://'],
    ['LEDGER_TOKENS_FILE', ' ', 'must be a file path'],
    ['LEDGER_RETENTION', '30 days', 'must be an ISO 8601 duration'],
    ['LEDGER_RETENTION', 'P6D', 'must be at least LEDGER_MIN_RETENTION (P7D)'],
    ['LEDGER_MIN_RETENTION', 'P1W2', 'must be an ISO 8601 duration'],
    ['LEDGER_MIN_RETENTION', 'P0D', 'must be longer than zero'],
    ['LEDGER_PURGE_INTERVAL', '60000', 'must be an ISO 8601 duration'],
    ['LEDGER_PURGE_INTERVAL', 'PT0S', 'must be longer than zero'],
    ['LEDGER_PURGE_INTERVAL', 'P1M', 'must have a fixed length: no years or months'],
    ['LEDGER_PURGE_INTERVAL', 'P1Y', 'must have a fixed length: no years or months'],
    ['LEDGER_PURGE_INTERVAL', 'P25D', 'must be at most P24DT20H31M23.647S'],
    ['LEDGER_MAX_OPERATION_SITES', '0', 'must be a positive integer'],
    ['LEDGER_MAX_OPERATION_SITES', '-3', 'must be a positive integer'],
    ['LEDGER_MAX_OPERATION_SITES', '99999999999999999999', 'must be a positive integer'],
    ['LEDGER_LARGE_OPERATION_SITES', 'ten', 'must be a positive integer'],
    ['LEDGER_LARGE_OPERATION_SITES', '1001', 'must be at most LEDGER_MAX_OPERATION_SITES (1000)'],
    ['LEDGER_CANARY_SITES', '0', 'must be a positive integer'],
    ['LEDGER_CANARY_SITES', '1001', 'must be at most LEDGER_MAX_OPERATION_SITES (1000)'],
    ['LEDGER_POSTGRES_URL', 'localhost:5432', 'must be a postgres:// or postgresql:// URL'],
    ['LEDGER_LEASE_TTL', 'PT0.5S', 'must be at least PT1S'],
    ['LEDGER_LEASE_TTL', 'P1M', 'must have a fixed length: no years or months'],
    ['LEDGER_LOG_LEVEL', 'verbose', 'must be one of trace, debug, info, warn, error, fatal, silent'],
    ['LEDGER_LOG_FORMAT', 'text', 'must be one of auto, json, pretty'],
    ['LEDGER_READY_MAX_LAG', '-1', 'must be a whole number of events'],
    ['LEDGER_READY_MAX_LAG', 'ten', 'must be a whole number of events'],
    ['LEDGER_IDEMPOTENCY_TTL', '1 day', 'must be an ISO 8601 duration'],
    ['LEDGER_IDEMPOTENCY_TTL', 'P1M', 'must have a fixed length: no years or months'],
    ['LEDGER_IDEMPOTENCY_TTL', 'PT0S', 'must be longer than zero'],
    ['LEDGER_ORIGIN', 'my ledger', 'must be one line without spaces or "+"'],
    ['LEDGER_ORIGIN', 'ledger+1', 'must be one line without spaces or "+"'],
    ['LEDGER_ORIGIN', 'a\nb', 'must be one line without spaces or "+"'],
    ['LEDGER_CHECKPOINT_KEY_FILE', ' ', 'must be a file path'],
  ])('rejects %s=%j', (name, value, reason) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`${name} ${reason}`);
    expect(problems[0]).toContain(`(got ${JSON.stringify(value)})`);
  });

  it('keeps credentials of a rejected connection string out of the message', () => {
    expect(problemsOf({ EVENTSTORE_CONNECTION_STRING: 'https://admin:s3cret@db:2113' })).toEqual([
      'EVENTSTORE_CONNECTION_STRING must start with esdb:// or esdb+discover:// (got "https://***@db:2113")',
    ]);
  });

  it('puts the variable, the reason and the value in the message', () => {
    expect(() => loadConfig({ LEDGER_CANARY_SITES: '0' })).toThrow(
      'invalid configuration: LEDGER_CANARY_SITES must be a positive integer (got "0")',
    );
  });

  it('accepts the purge interval right at the timer limit and sub-second intervals', () => {
    expect(loadConfig({ LEDGER_PURGE_INTERVAL: 'P24DT20H31M23.647S' }).purgeIntervalMs).toBe(2 ** 31 - 1);
    expect(loadConfig({ LEDGER_PURGE_INTERVAL: 'PT0.5S' }).purgeIntervalMs).toBe(500);
  });

  it('compares retentions whatever day they start, calendar parts included', () => {
    expect(loadConfig({ LEDGER_RETENTION: 'P7D' }).retention).toBe('P7D');
    expect(loadConfig({ LEDGER_RETENTION: 'P1W' }).retention).toBe('P1W');
    expect(loadConfig({ LEDGER_RETENTION: 'P1M', LEDGER_MIN_RETENTION: 'P28D' }).retention).toBe('P1M');
    expect(loadConfig({ LEDGER_RETENTION: 'P1Y', LEDGER_MIN_RETENTION: 'P365D' }).retention).toBe('P1Y');
    // February is shorter than 30 days, leap years longer than 365.
    expect(problemsOf({ LEDGER_RETENTION: 'P1M', LEDGER_MIN_RETENTION: 'P30D' })[0]).toContain(
      'LEDGER_RETENTION must be at least LEDGER_MIN_RETENTION (P30D)',
    );
    expect(problemsOf({ LEDGER_RETENTION: 'P365D', LEDGER_MIN_RETENTION: 'P1Y' })[0]).toContain(
      'LEDGER_RETENTION must be at least LEDGER_MIN_RETENTION (P1Y)',
    );
  });

  it('relates the limits to a configured maximum, not the default', () => {
    expect(
      loadConfig({ LEDGER_MAX_OPERATION_SITES: '3', LEDGER_LARGE_OPERATION_SITES: '3', LEDGER_CANARY_SITES: '1' }),
    ).toMatchObject({ maxOperationSites: 3, largeOperationSites: 3, canarySites: 1 });
    expect(problemsOf({ LEDGER_MAX_OPERATION_SITES: '3' })).toEqual([
      'LEDGER_LARGE_OPERATION_SITES must be at most LEDGER_MAX_OPERATION_SITES (3) (got "10")',
      'LEDGER_CANARY_SITES must be at most LEDGER_MAX_OPERATION_SITES (3) (got "5")',
    ]);
  });

  it('does not blame a limit for an invalid maximum', () => {
    expect(problemsOf({ LEDGER_MAX_OPERATION_SITES: 'lots', LEDGER_CANARY_SITES: '5000' })).toEqual([
      'LEDGER_MAX_OPERATION_SITES must be a positive integer (got "lots")',
    ]);
  });

  it('names every invalid variable at once, in the order of SPEC §8', () => {
    let thrown: unknown;
    try {
      loadConfig({
        LEDGER_CANARY_SITES: '0',
        PORT: 'eighty',
        LEDGER_STORE: 'mongo',
        LEDGER_RETENTION: 'forever',
        LEDGER_PURGE_INTERVAL: 'P1M',
        EVENTSTORE_CONNECTION_STRING: 'tcp://x',
        LEDGER_LEASE_TTL: 'PT0.5S',
        LEDGER_POSTGRES_URL: 'mysql://x',
      });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    const error = thrown as ConfigError;
    expect(error.problems.map((problem) => problem.split(' ')[0])).toEqual([
      'PORT',
      'LEDGER_STORE',
      'EVENTSTORE_CONNECTION_STRING',
      'LEDGER_RETENTION',
      'LEDGER_PURGE_INTERVAL',
      'LEDGER_CANARY_SITES',
      'LEDGER_POSTGRES_URL',
      'LEDGER_LEASE_TTL',
    ]);
    expect(error.message).toMatch(/^invalid configuration: PORT must be .*; LEDGER_STORE must be .*; /);
  });
});
