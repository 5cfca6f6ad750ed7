/*
 * WHY THE GLOBAL ORDER NEVER SKIPS ON POSTGRESQL
 *
 * Positions come from a sequence, and a sequence hands out numbers when rows
 * are inserted, not when they commit. With writers in parallel, transaction
 * B may take position 11 and commit while A, holding 10, has not committed
 * yet; a subscriber that reads "after 9" sees 11, moves its checkpoint to
 * 11, and never sees 10 when A commits. (Marten's async daemon lost events
 * to exactly this until 9.16.1.)
 *
 * Here every append takes one transaction-scoped advisory lock
 * (`pg_advisory_xact_lock`, `LEDGER_LOCKS.appends`) before it reads heads or
 * takes positions, and holds it until its transaction ends. PostgreSQL makes
 * a commit visible before it releases the transaction's locks, so the next
 * writer takes its positions only after every lower position is visible:
 * positions become visible in position order, and a reader that has seen
 * position n will never later find a new event below n. The price is one
 * writer at a time, which group commit (`group-commit.ts`,
 * `postgres.appends.ts`) pays for: the appends of a process's concurrent
 * callers share one transaction, one turn of the lock and one WAL flush, and
 * the lock is held for a few round trips per group rather than per append.
 * Several instances still take turns, one group at a time.
 *
 * The alternative (Emmett's PostgreSQL store) lets writers run in parallel,
 * stores each row's `transaction_id xid8`, and has readers return only rows
 * below `pg_snapshot_xmin(pg_current_snapshot())`, i.e. older than every
 * transaction still in flight. It scales writes better, but a reader then
 * waits behind the slowest open transaction on the whole server (any
 * database, any client, a forgotten psql session), positions are pairs
 * (xid, sequence) rather than one number, and correctness rests on a
 * subtler argument. One lock is simple, and the test that proves it
 * (test/postgres-global-order.e2e-spec.ts) fails without it.
 */
import type pg from 'pg';
import {
  CommitNotifier,
  checkAppends,
  compareSequencePositions,
  isSequencePosition,
  pagedSubscription,
  parseSequencePosition,
  readAllLimit,
  streamPrefixFilter,
} from '../adapter-kit.js';
import type { NewEvent, StoredEvent } from '../event-envelope.js';
import { EventStoreUnavailableError } from '../event-store.errors.js';
import type {
  AppendResult,
  EventStore,
  ReadAllOptions,
  ReadStreamOptions,
  StreamAppend,
  SubscribeAllOptions,
} from '../event-store.port.js';
import { GroupCommit } from '../group-commit.js';
import { LEDGER_STREAM_PREFIXES } from '../ledger-streams.js';
import type { PostgresConnection } from './postgres.connection.js';
import { appendGroup, type AppendsContext, type BeforeCommitHook } from './postgres.appends.js';
import { toPortError } from './postgres.errors.js';
import { CommitListener } from './postgres.listener.js';
import { PostgresReads } from './postgres.reads.js';

export interface PostgresEventStoreOptions {
  /**
   * Streams shown by `readAll`, `subscribeAll` and `lastPosition`; other
   * streams can be written and read by id but stay out of the global order.
   * Default: the ledger's own prefixes.
   */
  streamPrefixes?: readonly string[];
  /**
   * How often an idle `subscribeAll` reads again even without a
   * notification: the safety net while the LISTEN connection is down.
   */
  pollIntervalMs?: number;
  /** Where a lost LISTEN connection is reported (default: console.warn). */
  warn?: (message: string) => void;
  /**
   * TEST SEAM, never set in production: called inside each transaction
   * that writes events (one per group of appends), after its positions are
   * taken and before it commits, with the answers it is about to give. A
   * test holds a transaction open here to prove the global order never skips.
   */
  beforeCommit?: BeforeCommitHook;
}

const DEFAULT_POLL_INTERVAL_MS = 250;
const SUBSCRIPTION_PAGE_SIZE = 256;

/**
 * The ledger on PostgreSQL (driver `pg`), for several service instances on
 * one database. One job per file beside this one: the pool and database
 * (`.connection`), the schema and lock keys (`.schema`), errors (`.errors`),
 * checked-out connections (`.client`), reads (`.reads`), appends
 * (`.appends`) and the LISTEN connection (`.listener`).
 *
 * The pool belongs to whoever opened it (`openPostgres`): `close()` ends
 * this store's subscriptions and LISTEN connection, never the pool.
 *
 * Durability: every connection runs with `synchronous_commit = on` (set by
 * `openPostgres`), so an acknowledged append is flushed to the WAL: a
 * group's appends are answered once its COMMIT has returned.
 * Positions are the events table's identity as a decimal string (see the
 * top of this file for why they never skip). After an empty append (a
 * version check only) `position` is that of the stream's last event, or
 * `'0'` for a stream that does not exist.
 */
export class PostgresEventStore implements EventStore {
  readonly #pool: pg.Pool;
  readonly #target: string;
  readonly #reads: PostgresReads;
  readonly #notifier = new CommitNotifier();
  readonly #listener: CommitListener;
  readonly #appends: AppendsContext;
  readonly #groups: GroupCommit;
  readonly #pollIntervalMs: number;
  #closed = false;

  /** On the pool of `openPostgres`, whose schema it created. */
  constructor(connection: Pick<PostgresConnection, 'pool' | 'target'>, options: PostgresEventStoreOptions = {}) {
    const { pool, target } = connection;
    const prefixes = [...(options.streamPrefixes ?? LEDGER_STREAM_PREFIXES)];
    streamPrefixFilter(prefixes); // validates
    this.#pool = pool;
    this.#target = target;
    this.#reads = new PostgresReads(prefixes);
    this.#pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.#listener = new CommitListener(pool.options, this.#notifier, options.warn ?? ((m) => console.warn(m)));
    this.#appends = {
      pool,
      reads: this.#reads,
      target: this.#target,
      committed: () => this.#notifier.notify(),
      beforeCommit: options.beforeCommit,
    };
    const appends = this.#appends;
    this.#groups = new GroupCommit((group) => appendGroup(appends, group));
  }

  async append(streamId: string, expectedVersion: number, events: readonly NewEvent[]): Promise<AppendResult> {
    const [result] = await this.appendMany([{ streamId, expectedVersion, events }]);
    if (result === undefined) throw new Error('appendMany returned no result for one append');
    return result;
  }

  async appendMany(appends: readonly StreamAppend[]): Promise<AppendResult[]> {
    if (appends.length === 0) return [];
    this.#assertOpen();
    const occurredAtMs = checkAppends(appends);
    return this.#groups.append({ appends, occurredAtMs });
  }

  async streamVersion(streamId: string): Promise<number> {
    return this.#read(`reading the version of ${streamId}`, () => this.#reads.streamVersion(this.#pool, streamId));
  }

  async readStream(streamId: string, options?: ReadStreamOptions): Promise<StoredEvent[]> {
    return this.#read(`reading ${streamId}`, () => this.#reads.readStream(this.#pool, streamId, options));
  }

  async readAll(options: ReadAllOptions): Promise<StoredEvent[]> {
    return this.#readAll(options.after, readAllLimit(options.limit));
  }

  subscribeAll(options?: SubscribeAllOptions): AsyncIterable<StoredEvent> {
    if (options?.after !== undefined) parseSequencePosition(options.after); // fail now, not on first pull
    this.#listener.start();
    return pagedSubscription(
      {
        readPage: (after, limit) => this.#readAll(after, limit),
        notifier: this.#notifier,
        pageSize: SUBSCRIPTION_PAGE_SIZE,
        pollIntervalMs: this.#pollIntervalMs,
      },
      options,
    );
  }

  async lastPosition(): Promise<string | undefined> {
    return this.#read('reading the last position', () => this.#reads.lastPosition(this.#pool));
  }

  isPosition(value: string): boolean {
    return isSequencePosition(value);
  }

  comparePositions(a: string, b: string): number {
    return compareSequencePositions(a, b);
  }

  async ping(): Promise<void> {
    await this.#read('answering ping', () => this.#pool.query('SELECT 1'));
  }

  /**
   * Idempotent. Running subscriptions end; later calls fail with
   * EventStoreUnavailableError; appends called before are committed first.
   * The pool stays open: its owner ends it.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#notifier.close();
    await this.#groups.drain();
    await this.#listener.close();
  }

  #readAll(after: string | undefined, limit: number): Promise<StoredEvent[]> {
    return this.#read('reading the global order', () => this.#reads.readAll(this.#pool, after, limit));
  }

  /** Runs a read, turning driver errors into the port's errors so no caller sees a pg error. */
  async #read<T>(action: string, work: () => Promise<T>): Promise<T> {
    this.#assertOpen();
    try {
      return await work();
    } catch (error) {
      throw toPortError(error, { action, target: this.#target });
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new EventStoreUnavailableError('the PostgreSQL event store is closed');
  }
}
