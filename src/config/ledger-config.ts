import { resolve } from 'node:path';
import { plainToInstance } from 'class-transformer';
import { ValidateBy, validateSync } from 'class-validator';
import { type IsoDuration, addIsoDuration, isoDurationMs, parseIsoDuration } from '../common/iso-duration.js';

/** The engines `LEDGER_STORE` may name. */
export type StoreName = 'sqlite' | 'postgres' | 'eventstoredb' | 'memory';

/** Pino's levels, lowest first, and `silent`: what `LEDGER_LOG_LEVEL` may name. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * How log lines are written: `json` (one object per line), `pretty` (for a
 * person at a terminal), or `auto`: pretty when stdout is a terminal, else JSON.
 */
export type LogFormat = 'auto' | 'json' | 'pretty';
const LOG_FORMATS: Record<LogFormat, true> = { auto: true, json: true, pretty: true };

/** The service's configuration (SPEC §8), read once at start and never changed. */
export interface LedgerConfig {
  readonly port: number;
  readonly host: string;
  readonly store: StoreName;
  /** Absolute path of the directory holding the SQLite files and the token file. */
  readonly dataDir: string;
  /** Used only when `store` is `eventstoredb`. */
  readonly eventStoreConnectionString: string;
  /** Used only when `store` is `postgres`: the shared database of every instance. */
  readonly postgresUrl: string;
  /**
   * How long a lease on background work (an operation's waves, the retention
   * sweeper) lasts without renewal, in ms; on `postgres` another instance
   * takes the work over this long after its holder died.
   */
  readonly leaseTtlMs: number;
  /** How long an `Idempotency-Key` and its first answer are kept, in ms (`LEDGER_IDEMPOTENCY_TTL`). */
  readonly idempotencyTtlMs: number;
  /**
   * Absolute path of an operator-managed token file; undefined means
   * `<dataDir>/tokens.json`, generated on the first start.
   */
  readonly tokensFile: string | undefined;
  /**
   * Default retention of new sites, as ISO 8601 text (`P30D`). Kept as text
   * because calendar parts only get a length once applied to a date.
   */
  readonly retention: string;
  /** The shortest retention a site may have, as ISO 8601 text (`P7D`). */
  readonly minRetention: string;
  /** How often the retention sweeper runs, in milliseconds. */
  readonly purgeIntervalMs: number;
  readonly maxOperationSites: number;
  /** Plans with more sites than this need two approvals instead of one. */
  readonly largeOperationSites: number;
  /** Size of the first customer wave; later waves double it. */
  readonly canarySites: number;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  /**
   * `/health/ready` answers 503 while the read models are more than this many
   * ledger events behind the store (or not live at all).
   */
  readonly readyMaxLag: number;
  /** Names the transparency log: the first line of every checkpoint, and the name of its signing key. */
  readonly origin: string;
  /**
   * Absolute path of the checkpoint signing key (an Ed25519 private key,
   * PEM); undefined means `<dataDir>/checkpoint-key.pem`, generated on the
   * first start except on `postgres`.
   */
  readonly checkpointKeyFile: string | undefined;
}

/** Nest injection token for the `LedgerConfig`. */
export const LEDGER_CONFIG = Symbol('LEDGER_CONFIG');

/** Stops the start: one or more variables are invalid, each named in `problems`. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

// A record rather than a list so that a new store kind fails the build here.
const STORE_KINDS: Record<StoreName, true> = { sqlite: true, postgres: true, eventstoredb: true, memory: true };

// Node.js fires longer timers at once (TimeoutOverflowWarning), so a longer
// purge interval would make the sweeper spin instead of wait.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * One requirement on a variable's text. `env` holds every variable (with
 * defaults), for requirements that relate two of them.
 */
interface Check {
  requirement: string | ((env: LedgerEnvironment) => string);
  holds: (value: string, env: LedgerEnvironment) => boolean;
}

/**
 * Runs `checks` in order and reports the first that fails, so each variable
 * is named once with the reason that matters most (a relation to another
 * variable is only checked once both are well-formed).
 */
function Satisfies(...checks: Check[]): PropertyDecorator {
  const firstFailure = (value: unknown, env: LedgerEnvironment): Check | undefined => {
    // Only optional variables are ever undefined; the others have defaults.
    if (value === undefined) return undefined;
    return typeof value === 'string' ? checks.find((check) => !check.holds(value, env)) : checks[0];
  };
  return ValidateBy({
    name: 'ledgerVariable',
    validator: {
      validate: (value, args) => firstFailure(value, args?.object as LedgerEnvironment) === undefined,
      defaultMessage: (args) => {
        const env = args?.object as LedgerEnvironment;
        const failed = firstFailure(args?.value, env);
        const requirement =
          typeof failed?.requirement === 'function' ? failed.requirement(env) : (failed?.requirement ?? 'is invalid');
        return `${args?.property ?? 'a variable'} ${requirement} (got ${JSON.stringify(withoutCredentials(args?.value))})`;
      },
    },
  });
}

/** Start-up messages end up in logs; a connection string's user:password must not. */
function withoutCredentials(value: unknown): unknown {
  return typeof value === 'string' ? value.replace(/\/\/[^/@\s]*@/, '//***@') : value;
}

function positiveInteger(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

const isPositiveInteger: Check = {
  requirement: 'must be a positive integer',
  holds: (value) => positiveInteger(value) !== undefined,
};

const isDuration: Check = {
  requirement: 'must be an ISO 8601 duration such as P30D or PT1M',
  holds: (value) => parseIsoDuration(value) !== undefined,
};

/** A wait the service sets a timer for: fixed length, above zero, within Node.js's longest timer. */
const isTimerDuration: Check[] = [
  isDuration,
  {
    requirement: 'must have a fixed length: no years or months',
    holds: (value) => {
      const duration = parseIsoDuration(value)!;
      return duration.years === 0 && duration.months === 0;
    },
  },
  { requirement: 'must be longer than zero', holds: (value) => isoDurationMs(parseIsoDuration(value)!) > 0 },
  {
    requirement: 'must be at most P24DT20H31M23.647S, the longest timer Node.js can set',
    holds: (value) => isoDurationMs(parseIsoDuration(value)!) <= MAX_TIMER_MS,
  },
];

function atMost(other: 'LEDGER_MAX_OPERATION_SITES'): Check {
  return {
    requirement: (env) => `must be at most ${other} (${env[other]})`,
    holds: (value, env) => {
      const limit = positiveInteger(env[other]);
      return limit === undefined || Number(value) <= limit;
    },
  };
}

/** Every day of a four-year cycle, so that leap years and short months are among them. */
const START_DAYS = Array.from({ length: 4 * 365 + 1 }, (_, day) => new Date(Date.UTC(2024, 0, 1 + day)));

/**
 * `longer` ≥ `shorter` whenever they start. `P1M` is 28 to 31 days depending
 * on the start, so comparing at one instant could accept a configuration
 * that breaks the rule in February.
 */
function alwaysAtLeast(longer: IsoDuration, shorter: IsoDuration): boolean {
  return START_DAYS.every((start) => addIsoDuration(start, longer) >= addIsoDuration(start, shorter));
}

/** The variables of SPEC §8 with their defaults. Values are the raw environment text. */
class LedgerEnvironment {
  @Satisfies({
    requirement: 'must be an integer from 1 to 65535',
    holds: (value) => (positiveInteger(value) ?? Infinity) <= 65535,
  })
  PORT = '3000';

  @Satisfies({ requirement: 'must be a host name or address without spaces', holds: (value) => /^\S+$/.test(value) })
  HOST = '127.0.0.1';

  @Satisfies({
    requirement: `must be one of ${Object.keys(STORE_KINDS).join(', ')}`,
    holds: (value) => Object.hasOwn(STORE_KINDS, value),
  })
  LEDGER_STORE = 'sqlite';

  @Satisfies({ requirement: 'must be a directory path', holds: (value) => /\S/.test(value) })
  LEDGER_DATA_DIR = './data';

  @Satisfies({
    requirement: 'must start with esdb:// or esdb+discover://',
    holds: (value) => /^esdb(\+discover)?:\/\/./.test(value),
  })
  EVENTSTORE_CONNECTION_STRING = 'esdb://localhost:2113?tls=false';

  @Satisfies({ requirement: 'must be a file path', holds: (value) => /\S/.test(value) })
  LEDGER_TOKENS_FILE: string | undefined = undefined;

  @Satisfies(isDuration, {
    requirement: (env) => `must be at least LEDGER_MIN_RETENTION (${env.LEDGER_MIN_RETENTION}) whatever day it starts`,
    holds: (value, env) => {
      const minimum = parseIsoDuration(env.LEDGER_MIN_RETENTION);
      return minimum === undefined || alwaysAtLeast(parseIsoDuration(value)!, minimum);
    },
  })
  LEDGER_RETENTION = 'P30D';

  @Satisfies(isDuration, {
    // A zero retention would let the sweeper purge a site right after its
    // soft delete, leaving no time to notice a mistake and roll back.
    requirement: 'must be longer than zero',
    holds: (value) => isoDurationMs(parseIsoDuration(value)!) > 0,
  })
  LEDGER_MIN_RETENTION = 'P7D';

  @Satisfies(...isTimerDuration)
  LEDGER_PURGE_INTERVAL = 'PT1M';

  @Satisfies(isPositiveInteger)
  LEDGER_MAX_OPERATION_SITES = '1000';

  @Satisfies(isPositiveInteger, atMost('LEDGER_MAX_OPERATION_SITES'))
  LEDGER_LARGE_OPERATION_SITES = '10';

  @Satisfies(isPositiveInteger, atMost('LEDGER_MAX_OPERATION_SITES'))
  LEDGER_CANARY_SITES = '5';

  @Satisfies({
    requirement: 'must be a postgres:// or postgresql:// URL',
    holds: (value) => /^postgres(ql)?:\/\/\S+$/.test(value),
  })
  LEDGER_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/tenant_ledger';

  @Satisfies(...isTimerDuration, {
    // Holders renew at a third of it; below a second, a GC pause or a slow
    // query could let a healthy holder's lease lapse.
    requirement: 'must be at least PT1S',
    holds: (value) => isoDurationMs(parseIsoDuration(value)!) >= 1000,
  })
  LEDGER_LEASE_TTL = 'PT10S';

  @Satisfies({
    requirement: `must be one of ${LOG_LEVELS.join(', ')}`,
    holds: (value) => (LOG_LEVELS as readonly string[]).includes(value),
  })
  LEDGER_LOG_LEVEL = 'info';

  @Satisfies({
    requirement: `must be one of ${Object.keys(LOG_FORMATS).join(', ')}`,
    holds: (value) => Object.hasOwn(LOG_FORMATS, value),
  })
  LEDGER_LOG_FORMAT = 'auto';

  @Satisfies({ requirement: 'must be a whole number of events (0 or more)', holds: (value) => /^\d{1,9}$/.test(value) })
  LEDGER_READY_MAX_LAG = '100';

  @Satisfies(
    isDuration,
    {
      requirement: 'must have a fixed length: no years or months',
      holds: (value) => {
        const duration = parseIsoDuration(value)!;
        return duration.years === 0 && duration.months === 0;
      },
    },
    { requirement: 'must be longer than zero', holds: (value) => isoDurationMs(parseIsoDuration(value)!) > 0 },
  )
  LEDGER_IDEMPOTENCY_TTL = 'P1D';

  @Satisfies({
    // It is also the signing key's name in signed notes, which allow no space and no `+`.
    requirement: 'must be one line without spaces or "+", such as ledger.example.com/tenants',
    holds: (value) => /^[^\s+\u0000-\u001f\u007f\u0085]+$/u.test(value),
  })
  LEDGER_ORIGIN = 'tenant-ledger';

  @Satisfies({ requirement: 'must be a file path', holds: (value) => /\S/.test(value) })
  LEDGER_CHECKPOINT_KEY_FILE: string | undefined = undefined;
}

const VARIABLES = Object.keys(new LedgerEnvironment()) as (keyof LedgerEnvironment)[];

/**
 * Reads and checks the configuration from `env` (normally `process.env`).
 * An empty variable counts as unset, as `VAR=` in a compose file means.
 * @throws ConfigError naming every invalid variable, so one failed start
 *   shows everything there is to fix.
 */
export function loadConfig(env: Record<string, string | undefined>): LedgerConfig {
  const given: Record<string, string> = {};
  for (const name of VARIABLES) {
    const value = env[name];
    if (value !== undefined && value !== '') given[name] = value;
  }
  const variables = plainToInstance(LedgerEnvironment, given);
  const errors = validateSync(variables, { stopAtFirstError: true });
  if (errors.length > 0) {
    const order = (property: string) => VARIABLES.indexOf(property as keyof LedgerEnvironment);
    throw new ConfigError(
      errors
        .sort((a, b) => order(a.property) - order(b.property))
        .flatMap((error) => Object.values(error.constraints ?? {})),
    );
  }
  return Object.freeze({
    port: Number(variables.PORT),
    host: variables.HOST,
    store: variables.LEDGER_STORE as StoreName,
    dataDir: resolve(variables.LEDGER_DATA_DIR),
    eventStoreConnectionString: variables.EVENTSTORE_CONNECTION_STRING,
    postgresUrl: variables.LEDGER_POSTGRES_URL,
    tokensFile: variables.LEDGER_TOKENS_FILE === undefined ? undefined : resolve(variables.LEDGER_TOKENS_FILE),
    retention: variables.LEDGER_RETENTION,
    minRetention: variables.LEDGER_MIN_RETENTION,
    purgeIntervalMs: isoDurationMs(parseIsoDuration(variables.LEDGER_PURGE_INTERVAL)!),
    maxOperationSites: Number(variables.LEDGER_MAX_OPERATION_SITES),
    largeOperationSites: Number(variables.LEDGER_LARGE_OPERATION_SITES),
    canarySites: Number(variables.LEDGER_CANARY_SITES),
    leaseTtlMs: isoDurationMs(parseIsoDuration(variables.LEDGER_LEASE_TTL)!),
    logLevel: variables.LEDGER_LOG_LEVEL as LogLevel,
    logFormat: variables.LEDGER_LOG_FORMAT as LogFormat,
    readyMaxLag: Number(variables.LEDGER_READY_MAX_LAG),
    idempotencyTtlMs: isoDurationMs(parseIsoDuration(variables.LEDGER_IDEMPOTENCY_TTL)!),
    origin: variables.LEDGER_ORIGIN,
    checkpointKeyFile:
      variables.LEDGER_CHECKPOINT_KEY_FILE === undefined ? undefined : resolve(variables.LEDGER_CHECKPOINT_KEY_FILE),
  });
}

/**
 * The configuration for a process entry point (the service, the rebuild
 * command): a bad setting stops it with a message naming every bad variable
 * (SPEC §8) and exit code 1.
 */
export function loadConfigOrExit(env: Record<string, string | undefined>): LedgerConfig {
  try {
    return loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}
