import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import {
  type EventRow,
  CommitNotifier,
  checkAppends,
  compareSequencePositions,
  isCommittedRetry,
  isSequencePosition,
  pagedSubscription,
  parseSequencePosition,
  readAllLimit,
  storedEventOf,
  streamPrefixFilter,
  streamRange,
} from '../adapter-kit.js';
import { EMPTY_STREAM_HEAD, chainEvents, type NewEvent, type StoredEvent } from '../event-envelope.js';
import { DuplicateEventIdError, EventStoreUnavailableError, WrongExpectedVersionError } from '../event-store.errors.js';
import { GroupCommit, type GroupOutcome, type QueuedAppend } from '../group-commit.js';
import type {
  AppendResult,
  EventStore,
  ReadAllOptions,
  ReadStreamOptions,
  StreamAppend,
  SubscribeAllOptions,
} from '../event-store.port.js';
import { LEDGER_STREAM_PREFIXES } from '../ledger-streams.js';

export interface SqliteEventStoreOptions {
  /**
   * Streams shown by `readAll`, `subscribeAll` and `lastPosition`; other
   * streams can be written and read by id but stay out of the global order.
   * Default: the ledger's own prefixes.
   */
  streamPrefixes?: readonly string[];
  /**
   * How long an append waits for another connection's write lock before it
   * fails with EventStoreUnavailableError. better-sqlite3 is synchronous, so
   * the wait blocks this process's event loop: keep it short.
   */
  busyTimeoutMs?: number;
  /** How often an idle `subscribeAll` re-reads, to see other processes' commits. */
  pollIntervalMs?: number;
}

const DEFAULT_BUSY_TIMEOUT_MS = 5_000;
const DEFAULT_POLL_INTERVAL_MS = 200;
const SUBSCRIPTION_PAGE_SIZE = 256;

/**
 * Idempotent. The triggers make a stray UPDATE or DELETE by an operator fail
 * loudly; they do not stop a deliberate tamperer (who can drop them), which
 * is what the hash chain is for.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  -- AUTOINCREMENT: a position is never reused, even if the newest rows are
  -- removed by hand, so a subscriber's saved position never names another event.
  position    INTEGER PRIMARY KEY AUTOINCREMENT,
  stream_id   TEXT    NOT NULL,
  version     INTEGER NOT NULL CHECK (version >= 1),
  event_id    TEXT    NOT NULL UNIQUE,
  type        TEXT    NOT NULL,
  data        TEXT    NOT NULL,
  metadata    TEXT    NOT NULL,
  prev_hash   TEXT    NOT NULL,
  hash        TEXT    NOT NULL,
  -- metadata.occurredAt in ms since the epoch, for toTime reads.
  occurred_at INTEGER NOT NULL,
  UNIQUE (stream_id, version)
) STRICT;
CREATE TRIGGER IF NOT EXISTS events_are_immutable BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'ledger events are immutable'); END;
CREATE TRIGGER IF NOT EXISTS events_are_never_deleted BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'ledger events are never deleted'); END;
`;

const EVENT_COLUMNS = 'position, stream_id, version, event_id, type, data, metadata, prev_hash, hash';

interface HeadRow {
  version: number;
  hash: string;
  position: number;
}

/** One row of the events table, as the store inserts it (the benchmarks' raw baseline writes the same). */
export interface SqliteEventRow {
  stream_id: string;
  version: number;
  event_id: string;
  type: string;
  data: string;
  metadata: string;
  prev_hash: string;
  hash: string;
  occurred_at: number;
}

type PrefixParams = Record<`prefix${number}`, string>;

interface StreamRangeParams {
  streamId: string;
  afterVersion: number;
  toVersion: number;
  toTimeMs: number;
}

/**
 * The default store: one SQLite file, no server.
 *
 * Durability: WAL with `synchronous=FULL` fsyncs the log on every commit, so
 * an acknowledged append survives power loss. Appends are committed in
 * groups (see `group-commit.ts`): the `append`/`appendMany` calls queued
 * during one turn of the event loop run in one `BEGIN IMMEDIATE`
 * transaction, each under a SAVEPOINT of its own, so one that fails (a
 * version conflict, a duplicate event id) rolls back alone and the others
 * commit with one fsync; every promise settles once COMMIT has returned.
 * BEGIN IMMEDIATE takes the write lock before any stream head is read, so
 * two connections (or processes) cannot both pass the version check — the
 * second one waits, then sees the new head. Appends of one group see those
 * before them in the group, as if they ran one after the other: a conflict
 * and the retry rule work within a group as across groups.
 *
 * Positions are the AUTOINCREMENT key as a decimal string. Because writers
 * hold the one write lock from the key's assignment to commit, positions
 * become visible in order: a reader that has seen position n will never
 * later find a new event below n.
 *
 * After an empty append (a version check only) `position` is that of the
 * stream's last event, or `'0'` for a stream that does not exist.
 */
export class SqliteEventStore implements EventStore {
  readonly #db: Database.Database;
  readonly #notifier = new CommitNotifier();
  readonly #pollIntervalMs: number;
  readonly #prefixParams: PrefixParams;
  readonly #head: Database.Statement<[string], HeadRow>;
  readonly #insert: Database.Statement<[SqliteEventRow]>;
  readonly #readStream: Database.Statement<[StreamRangeParams], EventRow>;
  /** The same with a LIMIT, only for reads that ask for one: a bound LIMIT costs SQLite several µs per call. */
  readonly #readStreamLimited: Database.Statement<[StreamRangeParams & { limit: number }], EventRow>;
  readonly #readAll: Database.Statement<[PrefixParams & { after: number; limit: number }], EventRow>;
  readonly #lastPosition: Database.Statement<[PrefixParams], { position: number }>;
  readonly #hasEventId: Database.Statement<[string], { found: number }>;
  readonly #following: Database.Statement<
    [{ streamId: string; afterVersion: number; limit: number }],
    { eventId: string; position: number }
  >;
  readonly #ping: Database.Statement<[], unknown>;
  /** A group's transaction: BEGIN IMMEDIATE … COMMIT, one outcome per queued append. */
  readonly #appendGroup: Database.Transaction<(group: readonly QueuedAppend[]) => GroupOutcome[]>;
  /** One queued append, all or nothing: called inside the group's transaction, it runs under a SAVEPOINT. */
  readonly #appendSaved: Database.Transaction<
    (appends: readonly StreamAppend[], occurredAtMs: readonly number[][], readEveryHead: boolean) => AppendResult[]
  >;
  readonly #groups = new GroupCommit((group) => this.#commitGroup(group));
  #closing = false;

  /** Opens (creating it and its directory if missing) the store in `file`. */
  constructor(file: string, options: SqliteEventStoreOptions = {}) {
    const prefixes = options.streamPrefixes ?? LEDGER_STREAM_PREFIXES;
    streamPrefixFilter(prefixes); // validates
    this.#pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.#prefixParams = Object.fromEntries(prefixes.map((prefix, i) => [`prefix${i}`, prefix]));
    // instr(...) = 1 is "starts with" without LIKE's wildcards (`_` is one).
    const inLedger = `(${prefixes.map((_, i) => `instr(stream_id, @prefix${i}) = 1`).join(' OR ')})`;

    mkdirSync(dirname(file), { recursive: true });
    const db = new Database(file, {
      timeout: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS,
    });
    try {
      configureDurability(db);
      db.exec(SCHEMA);
      this.#head = db.prepare(
        'SELECT version, hash, position FROM events WHERE stream_id = ? ORDER BY version DESC LIMIT 1',
      );
      this.#insert = db.prepare(
        `INSERT INTO events (stream_id, version, event_id, type, data, metadata, prev_hash, hash, occurred_at)
         VALUES (@stream_id, @version, @event_id, @type, @data, @metadata, @prev_hash, @hash, @occurred_at)`,
      );
      const streamRangeQuery = `SELECT ${EVENT_COLUMNS} FROM events
         WHERE stream_id = @streamId AND version > @afterVersion AND version <= @toVersion
           AND occurred_at <= @toTimeMs
         ORDER BY version`;
      this.#readStream = db.prepare(streamRangeQuery);
      this.#readStreamLimited = db.prepare(`${streamRangeQuery} LIMIT @limit`);
      this.#readAll = db.prepare(
        `SELECT ${EVENT_COLUMNS} FROM events
         WHERE position > @after AND ${inLedger} ORDER BY position LIMIT @limit`,
      );
      this.#lastPosition = db.prepare(`SELECT position FROM events WHERE ${inLedger} ORDER BY position DESC LIMIT 1`);
      this.#ping = db.prepare('SELECT 1');
      this.#hasEventId = db.prepare('SELECT 1 AS found FROM events WHERE event_id = ?');
      this.#following = db.prepare(
        `SELECT event_id AS eventId, position FROM events
         WHERE stream_id = @streamId AND version > @afterVersion ORDER BY version LIMIT @limit`,
      );
      // better-sqlite3 runs a transaction function called inside another
      // as SAVEPOINT … RELEASE, and rolls back to the savepoint if it throws.
      this.#appendSaved = db.transaction(
        (
          appends: readonly StreamAppend[],
          occurredAtMs: readonly number[][],
          readEveryHead: boolean,
        ): AppendResult[] => {
          const written = new Set<string>();
          return appends.map((append, i) =>
            this.#appendInTransaction(append, occurredAtMs[i] ?? [], written, readEveryHead),
          );
        },
      );
      this.#appendGroup = db.transaction((group: readonly QueuedAppend[]) =>
        group.map((request) => this.#appendOne(request)),
      );
    } catch (error) {
      db.close();
      throw error;
    }
    this.#db = db;
  }

  async append(streamId: string, expectedVersion: number, events: readonly NewEvent[]): Promise<AppendResult> {
    const [result] = await this.appendMany([{ streamId, expectedVersion, events }]);
    if (result === undefined) throw new Error('appendMany returned no result for one append');
    return result;
  }

  async appendMany(appends: readonly StreamAppend[]): Promise<AppendResult[]> {
    if (appends.length === 0) return [];
    const occurredAtMs = checkAppends(appends);
    if (this.#closing || !this.#db.open) throw new EventStoreUnavailableError('the sqlite event store is closed');
    return this.#groups.append({ appends, occurredAtMs });
  }

  async streamVersion(streamId: string): Promise<number> {
    return this.#guard(() => this.#head.get(streamId)?.version ?? 0);
  }

  async readStream(streamId: string, options?: ReadStreamOptions): Promise<StoredEvent[]> {
    const { limit, ...range } = streamRange(options);
    return this.#guard(() =>
      (limit === -1
        ? this.#readStream.all({ streamId, ...range })
        : this.#readStreamLimited.all({ streamId, ...range, limit })
      ).map(storedEventOf),
    );
  }

  async readAll(options: ReadAllOptions): Promise<StoredEvent[]> {
    return this.#readAllNow(options.after, readAllLimit(options.limit));
  }

  subscribeAll(options?: SubscribeAllOptions): AsyncIterable<StoredEvent> {
    if (options?.after !== undefined) parseSequencePosition(options.after); // fail now, not on first pull
    return pagedSubscription(
      {
        readPage: (after, limit) => this.#readAllNow(after, limit),
        notifier: this.#notifier,
        pageSize: SUBSCRIPTION_PAGE_SIZE,
        pollIntervalMs: this.#pollIntervalMs,
      },
      options,
    );
  }

  async lastPosition(): Promise<string | undefined> {
    const row = this.#guard(() => this.#lastPosition.get(this.#prefixParams));
    return row === undefined ? undefined : String(row.position);
  }

  isPosition(value: string): boolean {
    return isSequencePosition(value);
  }

  comparePositions(a: string, b: string): number {
    return compareSequencePositions(a, b);
  }

  async ping(): Promise<void> {
    this.#guard(() => this.#ping.get());
  }

  /** Idempotent. Running subscriptions end; later calls fail with EventStoreUnavailableError. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#notifier.close();
    // Appends called before close are committed (synchronously), not dropped.
    await this.#groups.drain();
    if (this.#db.open) this.#db.close();
  }

  /**
   * The connection's durability settings as SQLite reports them, for health
   * checks and tests: `synchronous` 2 is FULL.
   */
  durabilitySettings(): {
    journalMode: string;
    synchronous: number;
    busyTimeoutMs: number;
  } {
    return this.#guard(() => ({
      journalMode: String(this.#db.pragma('journal_mode', { simple: true })),
      synchronous: Number(this.#db.pragma('synchronous', { simple: true })),
      busyTimeoutMs: Number(this.#db.pragma('busy_timeout', { simple: true })),
    }));
  }

  /**
   * A group in one transaction. A failure of BEGIN (another connection held
   * the write lock past the busy timeout) or of COMMIT, or one that made
   * SQLite abandon the transaction, leaves nothing of the group stored: every
   * append of it fails, with the same error.
   */
  #commitGroup(group: readonly QueuedAppend[]): GroupOutcome[] {
    let outcomes: GroupOutcome[];
    try {
      outcomes = this.#guard(() => this.#appendGroup.immediate(group));
    } catch (error) {
      return group.map(() => ({ error }));
    }
    const wrote = group.some(
      ({ appends }, i) => 'results' in outcomes[i]! && appends.some((append) => append.events.length > 0),
    );
    if (wrote) this.#notifier.notify();
    return outcomes;
  }

  /** One queued append inside the group's transaction, under its own savepoint. */
  #appendOne({ appends, occurredAtMs }: QueuedAppend): GroupOutcome {
    let failure: unknown;
    try {
      return { results: this.#appendSaved(appends, occurredAtMs, false) };
    } catch (error) {
      failure = error;
    }
    // New streams are inserted without reading their head first; if one
    // existed after all, its constraint violation rolled this append back
    // before the retry rule could look. Once more, reading every head: a
    // real conflict fails the same way again.
    if (
      this.#db.inTransaction &&
      failure instanceof Database.SqliteError &&
      failure.code === 'SQLITE_CONSTRAINT_UNIQUE' &&
      appends.some(({ expectedVersion, events }) => expectedVersion === 0 && events.length > 0)
    ) {
      try {
        return { results: this.#appendSaved(appends, occurredAtMs, true) };
      } catch (error) {
        failure = error;
      }
    }
    // SQLite gave the whole transaction up (an I/O error, a full disk): the
    // appends before this one are gone too, so the group fails as a whole.
    if (!this.#db.inTransaction) throw failure;
    // Read inside the transaction, so an event id stored by an earlier
    // append of the group is named as the duplicate it is.
    return { error: this.#translate(failure, appends) };
  }

  /** Runs under the append's savepoint; a throw rolls back every stream of the append. */
  #appendInTransaction(
    append: StreamAppend,
    occurredAtMs: readonly number[],
    /** Streams already written by this transaction. */
    written: Set<string>,
    readEveryHead: boolean,
  ): AppendResult {
    const { streamId, expectedVersion, events } = append;
    const writtenBefore = written.has(streamId);
    // A new stream needs no head read: if it exists after all (stored, or
    // written by an earlier append of the group), inserting its version 1
    // breaks UNIQUE (stream_id, version), and #appendOne tries once more
    // reading every head. Saves a query per stream when thousands of sites
    // are registered in one append. A stream written earlier by this same
    // append is read: rolling back to its savepoint would hide it.
    const head =
      expectedVersion === 0 && events.length > 0 && !writtenBefore && !readEveryHead
        ? undefined
        : this.#head.get(streamId);
    written.add(streamId);
    const actualVersion = head?.version ?? 0;
    if (actualVersion !== expectedVersion) {
      const retried = writtenBefore ? undefined : this.#committedRetry(append);
      if (retried !== undefined) return retried;
      throw new WrongExpectedVersionError(streamId, expectedVersion, actualVersion);
    }
    let position = head?.position ?? 0;
    chainEvents(streamId, head ?? EMPTY_STREAM_HEAD, events).forEach((event, i) => {
      const inserted = this.#insert.run({
        stream_id: event.streamId,
        version: event.version,
        event_id: event.eventId,
        type: event.type,
        data: JSON.stringify(event.data),
        metadata: JSON.stringify(event.metadata),
        prev_hash: event.prevHash,
        hash: event.hash,
        occurred_at: occurredAtMs[i] ?? Number.NaN,
      });
      position = Number(inserted.lastInsertRowid);
    });
    return {
      streamId,
      nextVersion: actualVersion + events.length,
      position: String(position),
    };
  }

  /** The answer an earlier, committed attempt of this append got (the port's retry rule), if it was one. */
  #committedRetry(append: StreamAppend): AppendResult | undefined {
    const { streamId, expectedVersion, events } = append;
    if (events.length === 0) return undefined;
    const following = this.#following.all({
      streamId,
      afterVersion: expectedVersion,
      limit: events.length,
    });
    const last = following.at(-1);
    if (last === undefined || !isCommittedRetry(following, events)) return undefined;
    return {
      streamId,
      nextVersion: expectedVersion + events.length,
      position: String(last.position),
    };
  }

  #readAllNow(after: string | undefined, limit: number): StoredEvent[] {
    const afterPosition = after === undefined ? 0 : parseSequencePosition(after);
    return this.#guard(() =>
      this.#readAll.all({ ...this.#prefixParams, after: afterPosition, limit }).map(storedEventOf),
    );
  }

  /**
   * Runs `work`, turning driver errors into the port's errors so no caller
   * sees a SqliteError. `appends` lets a constraint violation name its cause.
   */
  #guard<T>(work: () => T, appends?: readonly StreamAppend[]): T {
    if (!this.#db.open) throw new EventStoreUnavailableError('the sqlite event store is closed');
    try {
      return work();
    } catch (error) {
      throw this.#translate(error, appends);
    }
  }

  #translate(error: unknown, appends: readonly StreamAppend[] | undefined): unknown {
    if (!(error instanceof Database.SqliteError)) return error;
    if (error.code === 'SQLITE_CONSTRAINT_UNIQUE' && appends !== undefined) {
      // BEGIN IMMEDIATE reads each head under the write lock, so these
      // should not happen; if they do, say what they mean.
      if (error.message.includes('events.event_id')) {
        const duplicate = appends
          .flatMap((append) => append.events)
          .find((event) => this.#hasEventId.get(event.eventId) !== undefined);
        if (duplicate !== undefined) return new DuplicateEventIdError(duplicate.eventId);
      }
      if (error.message.includes('events.stream_id, events.version')) {
        for (const { streamId, expectedVersion } of appends) {
          const actual = this.#head.get(streamId)?.version ?? 0;
          if (actual !== expectedVersion) {
            return new WrongExpectedVersionError(streamId, expectedVersion, actual);
          }
        }
      }
    }
    if (error.code.startsWith('SQLITE_BUSY') || error.code.startsWith('SQLITE_LOCKED')) {
      return new EventStoreUnavailableError('the ledger database is locked by another writer; retry the request', {
        cause: error,
      });
    }
    return new EventStoreUnavailableError(`the ledger database failed: ${error.message}`, {
      cause: error,
    });
  }
}

/**
 * WAL first: this better-sqlite3 build lowers `synchronous` to NORMAL on
 * entering WAL (SQLITE_DEFAULT_WAL_SYNCHRONOUS=1), which could lose the last
 * acknowledged commits on power loss. Then FULL, then read both back, so a
 * file system that cannot do WAL fails the start instead of silently
 * weakening durability.
 */
function configureDurability(db: Database.Database): void {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  const journalMode = db.pragma('journal_mode', { simple: true });
  const synchronous = db.pragma('synchronous', { simple: true });
  if (journalMode !== 'wal' || synchronous !== 2) {
    throw new Error(
      `${db.name}: expected journal_mode=wal and synchronous=FULL (2), got ${String(journalMode)} and ${String(synchronous)}`,
    );
  }
}
