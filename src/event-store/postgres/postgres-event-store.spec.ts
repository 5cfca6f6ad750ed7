import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../testing/poll-until.js';
import { createTestDatabase, postgresForTests, withRawConnection, type TestDatabase } from '../../testing/postgres.js';
import { verifyChain, type StoredEvent } from '../event-envelope.js';
import {
  DuplicateEventIdError,
  EventStoreUnavailableError,
  InvalidPositionError,
  WrongExpectedVersionError,
} from '../event-store.errors.js';
import { describeEventStoreContract, newEvent } from '../event-store.contract.js';
import type { AppendResult, EventStore } from '../event-store.port.js';
import { LEDGER_STREAM_PREFIXES } from '../ledger-streams.js';
import { freePort } from '../../testing/free-port.js';
import { PostgresEventStore, type PostgresEventStoreOptions } from './postgres-event-store.js';
import { openPostgres, type PostgresConnection, type PostgresOptions } from './postgres.connection.js';
import { LEDGER_LOCK_SPACE, LEDGER_LOCKS } from './postgres.schema.js';

const hasPostgres = await postgresForTests();
const CONTRACT_PREFIXES = [...LEDGER_STREAM_PREFIXES, 'contract-'];
/** Below vitest's default 5 s test timeout, so a stuck wait fails with our message. */
const DEADLINE_MS = 4_000;

describe.skipIf(!hasPostgres)('PostgreSQL event store (server at LEDGER_TEST_POSTGRES_URL)', () => {
  // One throwaway database for the file; every test opens its own pools on it.
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  describeEventStoreContract('postgres', async () => {
    const opened: { connection: PostgresConnection; store: PostgresEventStore }[] = [];
    const open = async (): Promise<PostgresEventStore> => {
      // Each store has its own pool, so the second writer is truly independent.
      const connection = await openPostgres(db.url, { log: () => undefined });
      const store = new PostgresEventStore(connection, { streamPrefixes: CONTRACT_PREFIXES });
      opened.push({ connection, store });
      return store;
    };
    let store: EventStore = await open();
    return {
      get store() {
        return store;
      },
      openSecondWriter: open,
      reopen: async () => {
        const first = opened[0];
        await first?.store.close();
        await first?.connection.close();
        store = await open();
        return store;
      },
      cleanup: async () => {
        for (const each of opened) await each.store.close();
        for (const each of opened) await each.connection.close();
      },
    };
  });

  describe('PostgresEventStore', () => {
    const toClose: { close(): Promise<void> }[] = [];
    const logged: string[] = [];

    const connect = async (options: Partial<PostgresOptions> = {}): Promise<PostgresConnection> => {
      const connection = await openPostgres(db.url, { log: (message) => logged.push(message), ...options });
      toClose.push(connection);
      return connection;
    };
    const openStore = async (
      options: PostgresEventStoreOptions = {},
      connectionOptions: Partial<PostgresOptions> = {},
    ): Promise<PostgresEventStore> => {
      const store = new PostgresEventStore(await connect(connectionOptions), {
        warn: (message) => logged.push(message),
        ...options,
      });
      // Stores close before their pools: unshift, closed in order.
      toClose.unshift(store);
      return store;
    };

    afterEach(async () => {
      for (const each of toClose.splice(0)) await each.close();
      logged.splice(0);
    });

    it('runs every connection with synchronous_commit on and the configured timeouts', async () => {
      const { pool } = await connect({ lockTimeoutMs: 1234 });
      const settings = await pool.query<{ name: string; setting: string }>(
        `SELECT name, setting FROM pg_settings
         WHERE name IN ('synchronous_commit', 'lock_timeout', 'statement_timeout', 'idle_in_transaction_session_timeout')
         ORDER BY name`,
      );
      expect(Object.fromEntries(settings.rows.map((row) => [row.name, row.setting]))).toEqual({
        idle_in_transaction_session_timeout: '10000',
        lock_timeout: '1234',
        statement_timeout: '30000',
        synchronous_commit: 'on',
      });
    });

    it('refuses UPDATE, DELETE and TRUNCATE in the database; an edit behind its back breaks the chain', async () => {
      // A database of its own: the test drops a trigger.
      const own = await createTestDatabase();
      try {
        const connection = await openPostgres(own.url, { log: () => undefined });
        const store = new PostgresEventStore(connection);
        toClose.unshift(store, connection);
        await store.append('site-a', 0, [newEvent(), newEvent({ data: { name: 'Acme' } }), newEvent()]);
        const intact = await store.readStream('site-a');
        expect(verifyChain(intact).ok).toBe(true);

        await withRawConnection(own.url, async (raw) => {
          const edit = `UPDATE events SET data = '{"name":"Evil"}' WHERE stream_id = 'site-a' AND version = 2`;
          await expect(raw.query(edit)).rejects.toThrow('ledger events are immutable');
          await expect(raw.query("DELETE FROM events WHERE stream_id = 'site-a'")).rejects.toThrow(
            'ledger events are never deleted',
          );
          await expect(raw.query('TRUNCATE events')).rejects.toThrow('ledger events are never truncated');
          // A stray edit is refused outright; a deliberate one must drop the guard first.
          await raw.query('DROP TRIGGER events_are_immutable ON events');
          expect((await raw.query(edit)).rowCount).toBe(1);
        });
        const tampered = await store.readStream('site-a');
        expect(tampered[1]?.data).toEqual({ name: 'Evil' });
        expect(verifyChain(tampered)).toEqual({
          ok: false,
          brokenAt: { streamId: 'site-a', version: 2, eventId: intact[1]?.eventId },
        });
      } finally {
        for (const each of toClose.splice(0)) await each.close();
        await own.drop();
      }
    });

    it('shows only the configured stream prefixes in the global order', async () => {
      const store = await openStore();
      const start = await store.lastPosition();
      const id = randomUUID();
      const site = await store.append(`site-${id}`, 0, [newEvent()]);
      await store.append(`siteX${id}`, 0, [newEvent()]);
      await store.append(`sitekey-${id}`, 0, [newEvent()]);

      const after = (s: EventStore) => readAllAfter(s, start);
      expect((await after(store)).map((e) => e.streamId)).toEqual([`site-${id}`]);
      expect(await store.lastPosition()).toBe(site.position);
      expect(await store.readStream(`sitekey-${id}`)).toHaveLength(1);

      // `_` is a LIKE wildcard: a prefix test built on LIKE would let site_
      // match site-… and siteX… too.
      const custom = await openStore({ streamPrefixes: ['sitekey-', 'site_'] });
      expect((await after(custom)).map((e) => e.streamId)).toEqual([`sitekey-${id}`]);
    });

    it('rejects an event id that is already stored, writing nothing', async () => {
      const store = await openStore();
      const [a, b] = [`site-${randomUUID()}`, `site-${randomUUID()}`];
      const event = newEvent();
      await store.append(a, 0, [event]);
      await expect(store.append(b, 0, [{ ...newEvent(), eventId: event.eventId }])).rejects.toEqual(
        new DuplicateEventIdError(event.eventId),
      );
      expect(await store.streamVersion(b)).toBe(0);
    });

    it('reports a writer that bypassed the append lock as a version conflict, writing none of the batch', async () => {
      const store = await openStore();
      const [a, b] = [`site-${randomUUID()}`, `site-${randomUUID()}`];
      await withRawConnection(db.url, async (raw) => {
        // The raw writer has inserted a's first event but not committed:
        // the adapter cannot see it, and its insert waits on the unique key.
        await raw.query('BEGIN');
        await raw.query(
          `INSERT INTO events (stream_id, version, event_id, type, data, metadata, prev_hash, hash, occurred_at)
           VALUES ($1, 1, $2, 'Raw', '{}', '{}', '', '', 0)`,
          [a, randomUUID()],
        );
        const attempt = store
          .appendMany([
            { streamId: b, expectedVersion: 0, events: [newEvent()] },
            { streamId: a, expectedVersion: 0, events: [newEvent()] },
          ])
          .catch((error: unknown) => error);
        await waitForLockWait(db.url, 'transactionid');
        await raw.query('COMMIT');
        expect(await attempt).toEqual(new WrongExpectedVersionError(a, 0, 1));
      });
      expect(await store.streamVersion(b)).toBe(0);
      expect(await store.readStream(a)).toHaveLength(1);
    });

    it('fails an append with EventStoreUnavailableError once another transaction held the append lock too long', async () => {
      const store = await openStore({}, { lockTimeoutMs: 100 });
      const streamId = `site-${randomUUID()}`;
      await withRawConnection(db.url, async (raw) => {
        await raw.query('BEGIN');
        await raw.query(`SELECT pg_advisory_xact_lock(${LEDGER_LOCK_SPACE}, ${LEDGER_LOCKS.appends})`);
        const error = await store.append(streamId, 0, [newEvent()]).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(EventStoreUnavailableError);
        expect((error as Error).message).toMatch(/lock timeout.*55P03/);
        expect((error as Error).cause).toBeInstanceOf(pg.DatabaseError);
        await raw.query('ROLLBACK');
      });
      // Once the holder is gone, the same append goes through.
      expect(await store.append(streamId, 0, [newEvent()])).toMatchObject({ nextVersion: 1 });
    });

    it('fails an append whose connection the server ends with EventStoreUnavailableError, and goes on', async () => {
      const store = await openStore();
      const streamId = `site-${randomUUID()}`;
      await withRawConnection(db.url, async (raw) => {
        await raw.query('BEGIN');
        await raw.query(`SELECT pg_advisory_xact_lock(${LEDGER_LOCK_SPACE}, ${LEDGER_LOCKS.appends})`);
        const attempt = store.append(streamId, 0, [newEvent()]).catch((e: unknown) => e);
        const waiting = await waitForLockWait(db.url, 'advisory');
        await raw.query('SELECT pg_terminate_backend($1)', [waiting]);
        const error = await attempt;
        expect(error).toBeInstanceOf(EventStoreUnavailableError);
        expect((error as Error).message).toMatch(/terminat/);
        await raw.query('ROLLBACK');
      });
      expect(await store.streamVersion(streamId)).toBe(0);
      expect(await store.append(streamId, 0, [newEvent()])).toMatchObject({ nextVersion: 1 });
    });

    it('survives the server ending its idle connections: no crash, the next call reconnects', async () => {
      const store = await openStore();
      // Several idle connections in the pool.
      await Promise.all([store.ping(), store.ping(), store.ping()]);
      const ended = await withRawConnection(db.url, async (raw) => {
        const { rows } = await raw.query<{ ended: boolean }>(
          `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity
           WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = 'tenant-ledger'`,
        );
        return rows.length;
      });
      expect(ended).toBeGreaterThan(0);
      await pollUntil(() => logged.filter((line) => line.includes('idle PostgreSQL connection')).length >= ended, {
        what: `the pool to report its ${ended} dropped connections`,
        timeoutMs: DEADLINE_MS,
      });
      await expect(store.ping()).resolves.toBeUndefined();
      expect(await store.append(`site-${randomUUID()}`, 0, [newEvent()])).toMatchObject({ nextVersion: 1 });
    });

    it("wakes a subscriber at another pool's commit through NOTIFY, without waiting for the poll", async () => {
      // A poll a minute apart: only notifications can deliver in time.
      const store = await openStore({ pollIntervalMs: 60_000 });
      const other = await openStore();
      const streamId = `site-${randomUUID()}`;
      const events = subscribe(store, await store.lastPosition());
      await listening(db.url);
      await deliversThroughNotify(other, events, streamId, 0);
      await events.stop();
    });

    it('reconnects its LISTEN connection when the server ends it, and keeps delivering', async () => {
      const store = await openStore({ pollIntervalMs: 60_000 });
      const other = await openStore();
      const streamId = `site-${randomUUID()}`;
      const events = subscribe(store, await store.lastPosition());
      const listener = await listening(db.url);
      await deliversThroughNotify(other, events, streamId, 0);

      await withRawConnection(db.url, (raw) => raw.query('SELECT pg_terminate_backend($1)', [listener]));
      await pollUntil(() => logged.some((line) => line.includes('subscriptions poll until it is back')), {
        what: 'the lost LISTEN connection to be reported',
        timeoutMs: DEADLINE_MS,
      });
      expect(await listening(db.url)).not.toBe(listener);
      await deliversThroughNotify(other, events, streamId, 2);
      await events.stop();
    });

    it('ends a subscription whose read fails with EventStoreUnavailableError', async () => {
      const pool = new pg.Pool({ connectionString: await closedPortUrl(), connectionTimeoutMillis: 1_000 });
      pool.on('error', () => undefined);
      toClose.push({ close: () => pool.end() });
      const store = new PostgresEventStore({ pool, target: 'nowhere' }, { warn: () => undefined });
      toClose.unshift(store);
      const iterator = store.subscribeAll()[Symbol.asyncIterator]();
      const error = await within(iterator.next(), 'the failed read').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EventStoreUnavailableError);
      expect((error as Error).message).toMatch(/ECONNREFUSED/);
      await expect(store.lastPosition()).rejects.toBeInstanceOf(EventStoreUnavailableError);
    });

    it('appends to 2000 new streams in one transaction, positions in the order given', async () => {
      const store = await openStore();
      const start = await store.lastPosition();
      const prefix = `site-${randomUUID()}-`;
      const appends = Array.from({ length: 2000 }, (_, i) => ({
        streamId: `${prefix}${i}`,
        expectedVersion: 0,
        events: [newEvent({ data: { i } })],
      }));
      const results = await store.appendMany(appends);
      const positions = results.map((result) => result.position);
      expect([...positions].sort(store.comparePositions.bind(store))).toEqual(positions);
      const stored = (await readAllAfter(store, start)).filter((e) => e.streamId.startsWith(prefix));
      expect(stored.map((e) => e.streamId)).toEqual(appends.map((a) => a.streamId));
      expect(stored.map((e) => e.position)).toEqual(positions);
    });

    describe('group commit', () => {
      it('commits the appends of concurrent callers in one transaction, with consecutive positions', async () => {
        const groups: (readonly AppendResult[])[] = [];
        const store = await openStore({ beforeCommit: async (results) => void groups.push(results) });
        const prefix = `site-${randomUUID()}-`;
        const callers = 32;
        const results = await Promise.all(
          Array.from({ length: callers }, (_, i) => store.append(`${prefix}${i}`, 0, [newEvent()])),
        );
        expect(groups.length).toBeLessThan(callers / 4);
        expect(groups.flat()).toEqual(results);
        const positions = results.map((result) => Number(result.position));
        expect(positions).toEqual(positions.map((_, i) => positions[0]! + i));
      });

      it('answers once the transaction has committed: a fresh connection reads every event at that moment', async () => {
        const store = await openStore();
        const prefix = `site-${randomUUID()}-`;
        const callers = 16;
        // Other connections, opened beforehand, so each read starts the moment its append resolves.
        const readers = new pg.Pool({ connectionString: db.url, max: callers });
        toClose.push({ close: () => readers.end() });
        const warm = await Promise.all(Array.from({ length: callers }, () => readers.connect()));
        for (const client of warm) client.release();
        const seen: Promise<number>[] = [];
        await Promise.all(
          Array.from({ length: callers }, (_, i) =>
            store.append(`${prefix}${i}`, 0, [newEvent()]).then(() => {
              seen.push(
                readers
                  .query<{ n: string }>('SELECT count(*) AS n FROM events WHERE stream_id = $1', [`${prefix}${i}`])
                  .then(({ rows }) => Number(rows[0]?.n)),
              );
            }),
          ),
        );
        expect(await Promise.all(seen)).toEqual(Array.from({ length: callers }, () => 1));
      });

      it('decides the appends of a group in the order they were called, each seeing those before it', async () => {
        const store = await openStore();
        const streamId = `site-${randomUUID()}`;
        const [first, second, rival] = [newEvent(), newEvent(), newEvent()];
        const outcomes = await Promise.allSettled([
          store.append(streamId, 0, [first]),
          store.append(streamId, 1, [second]),
          store.append(streamId, 0, [rival]),
        ]);
        expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
        expect(outcomes[2]).toMatchObject({ reason: new WrongExpectedVersionError(streamId, 0, 2) });
        expect((await store.readStream(streamId)).map((e) => e.eventId)).toEqual([first.eventId, second.eventId]);
      });

      it('refuses an event id already stored, or taken by an earlier append of the group, and only that append', async () => {
        const store = await openStore();
        const [a, b, c, d] = [
          `site-${randomUUID()}`,
          `site-${randomUUID()}`,
          `site-${randomUUID()}`,
          `site-${randomUUID()}`,
        ];
        const stored = newEvent();
        await store.append(a, 0, [stored]);
        const event = newEvent();
        const outcomes = await Promise.allSettled([
          store.append(b, 0, [event]),
          store.append(c, 0, [newEvent(), { ...newEvent(), eventId: event.eventId }]),
          store.append(d, 0, [{ ...newEvent(), eventId: stored.eventId }]),
          store.append(d, 0, [newEvent()]),
        ]);
        expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
        expect(outcomes[1]).toMatchObject({ reason: new DuplicateEventIdError(event.eventId) });
        expect(outcomes[2]).toMatchObject({ reason: new DuplicateEventIdError(stored.eventId) });
        expect(await store.streamVersion(c)).toBe(0);
        expect(await store.streamVersion(d)).toBe(1);
      });

      it('fails every append of a group that waited too long for the append lock, and commits the next group', async () => {
        const store = await openStore({}, { lockTimeoutMs: 100 });
        const [a, b] = [`site-${randomUUID()}`, `site-${randomUUID()}`];
        await withRawConnection(db.url, async (raw) => {
          await raw.query('BEGIN');
          await raw.query(`SELECT pg_advisory_xact_lock(${LEDGER_LOCK_SPACE}, ${LEDGER_LOCKS.appends})`);
          const outcomes = await Promise.allSettled([
            store.append(a, 0, [newEvent()]),
            store.append(b, 0, [newEvent()]),
          ]);
          for (const outcome of outcomes) {
            expect(outcome).toMatchObject({ status: 'rejected', reason: expect.any(EventStoreUnavailableError) });
          }
          await raw.query('ROLLBACK');
        });
        await Promise.all([store.append(a, 0, [newEvent()]), store.append(b, 0, [newEvent()])]);
        expect([await store.streamVersion(a), await store.streamVersion(b)]).toEqual([1, 1]);
      });

      it('commits the appends called before close', async () => {
        const store = await openStore();
        const streamId = `site-${randomUUID()}`;
        const pending = store.append(streamId, 0, [newEvent()]);
        await store.close();
        await expect(pending).resolves.toMatchObject({ nextVersion: 1 });
        await expect(store.append(streamId, 1, [newEvent()])).rejects.toBeInstanceOf(EventStoreUnavailableError);
        expect(await (await openStore()).streamVersion(streamId)).toBe(1);
      });
    });

    it('fails clearly once closed, and ends running subscriptions', async () => {
      const store = await openStore();
      const iterator = store.subscribeAll()[Symbol.asyncIterator]();
      const pending = iterator.next();
      await store.close();
      expect(await within(pending, 'the end of the subscription')).toEqual({ done: true, value: undefined });
      await expect(store.readAll({ limit: 1 })).rejects.toBeInstanceOf(EventStoreUnavailableError);
      await expect(store.append(`site-${randomUUID()}`, 0, [newEvent()])).rejects.toBeInstanceOf(
        EventStoreUnavailableError,
      );
      await expect(store.ping()).rejects.toBeInstanceOf(EventStoreUnavailableError);
      await store.close(); // idempotent
    });

    it('orders positions as numbers and refuses foreign ones', async () => {
      const store = await openStore();
      expect(store.comparePositions('9', '10')).toBeLessThan(0);
      expect(store.comparePositions('10', '9')).toBeGreaterThan(0);
      expect(() => store.comparePositions('10', 'x')).toThrow(InvalidPositionError);
      await expect(store.readAll({ after: '-1', limit: 1 })).rejects.toBeInstanceOf(InvalidPositionError);
    });
  });
});

async function readAllAfter(store: EventStore, after: string | undefined): Promise<StoredEvent[]> {
  const all: StoredEvent[] = [];
  for (;;) {
    const page = await store.readAll({ after, limit: 1000 });
    const last = page.at(-1);
    if (last === undefined) return all;
    all.push(...page);
    after = last.position;
  }
}

/** The pid of a session of database `url` that waits for a lock of `locktype`. */
async function waitForLockWait(url: string, locktype: 'advisory' | 'transactionid'): Promise<number> {
  return withRawConnection(url, async (raw) => {
    const pid = await pollUntil(
      async () => {
        const { rows } = await raw.query<{ pid: number }>(
          `SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a USING (pid)
           WHERE NOT l.granted AND l.locktype = $1 AND a.datname = current_database()`,
          [locktype],
        );
        return rows[0]?.pid;
      },
      { what: `a session waiting for a ${locktype} lock`, timeoutMs: DEADLINE_MS },
    );
    return pid as number;
  });
}

/** The pid of the session LISTENing on database `url`, once there is one. */
async function listening(url: string): Promise<number> {
  return withRawConnection(url, async (raw) => {
    const pid = await pollUntil(
      async () => {
        const { rows } = await raw.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'`,
        );
        return rows[0]?.pid;
      },
      { what: 'a LISTEN connection', timeoutMs: DEADLINE_MS },
    );
    return pid as number;
  });
}

/**
 * Appends two events to `streamId` (at `version`) through `writer` and
 * expects `events` to deliver both. The first may be delivered by the
 * wake-up a LISTEN connection gives once it is (re)connected; the second,
 * appended after the first arrived, only by a notification (the subscriber
 * polls once a minute).
 */
async function deliversThroughNotify(
  writer: EventStore,
  events: ReturnType<typeof subscribe>,
  streamId: string,
  version: number,
): Promise<void> {
  for (const [i, event] of [newEvent(), newEvent()].entries()) {
    await writer.append(streamId, version + i, [event]);
    expect((await events.nextOf(streamId)).eventId).toBe(event.eventId);
  }
}

/** A URL on a local port where nothing listens. */
async function closedPortUrl(): Promise<string> {
  const port = await freePort();
  return `postgres://postgres@127.0.0.1:${port}/tenant_ledger`;
}

function subscribe(store: EventStore, after: string | undefined) {
  const controller = new AbortController();
  const iterator = store
    .subscribeAll(after === undefined ? { signal: controller.signal } : { after, signal: controller.signal })
    [Symbol.asyncIterator]();
  return {
    nextOf: (streamId: string): Promise<StoredEvent> =>
      within(
        (async () => {
          for (;;) {
            const result = await iterator.next();
            if (result.done === true) throw new Error('the subscription ended early');
            if (result.value.streamId === streamId) return result.value;
          }
        })(),
        `an event of ${streamId}`,
      ),
    stop: async () => {
      controller.abort();
      await iterator.return?.();
    },
  };
}

/** `work`, or a failure naming `what` once the deadline passes. */
async function within<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${DEADLINE_MS} ms`)), DEADLINE_MS);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
