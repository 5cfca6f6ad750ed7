import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { verifyChain } from '../event-envelope.js';
import { DuplicateEventIdError, EventStoreUnavailableError, WrongExpectedVersionError } from '../event-store.errors.js';
import { describeEventStoreContract, newEvent } from '../event-store.contract.js';
import { LEDGER_STREAM_PREFIXES } from '../ledger-streams.js';
import { SqliteEventStore, type SqliteEventStoreOptions } from './sqlite-event-store.js';

const CONTRACT_PREFIXES = [...LEDGER_STREAM_PREFIXES, 'contract-'];

describeEventStoreContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-sqlite-'));
  // A subdirectory that does not exist yet: the store creates it.
  const file = join(dir, 'data', 'ledger.db');
  const open = (): SqliteEventStore => new SqliteEventStore(file, { streamPrefixes: CONTRACT_PREFIXES });
  const opened = [open()];
  const store = opened[0] as SqliteEventStore;
  return {
    store,
    openSecondWriter: async () => {
      const second = open();
      opened.push(second);
      return second;
    },
    reopen: async () => {
      await store.close();
      const again = open();
      opened.push(again);
      return again;
    },
    cleanup: async () => {
      for (const each of opened) await each.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('SqliteEventStore', () => {
  let dir: string;
  let file: string;
  const toClose: { close(): unknown }[] = [];

  const openStore = (options?: SqliteEventStoreOptions): SqliteEventStore => {
    const store = new SqliteEventStore(file, options);
    toClose.push(store);
    return store;
  };
  const openRaw = (): Database.Database => {
    const db = new Database(file);
    toClose.push(db);
    return db;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-sqlite-'));
    file = join(dir, 'ledger.db');
  });

  afterEach(async () => {
    for (const each of toClose.splice(0).reverse()) await each.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs in WAL mode with synchronous=FULL', () => {
    const store = openStore();
    expect(store.durabilitySettings()).toEqual({
      journalMode: 'wal',
      synchronous: 2,
      busyTimeoutMs: 5000,
    });
    // WAL is a property of the file: another connection sees it too.
    expect(openRaw().pragma('journal_mode', { simple: true })).toBe('wal');
  });

  it('catches a record edited in the file: verifyChain names it', async () => {
    const store = openStore();
    await store.append('site-a', 0, [newEvent(), newEvent({ data: { name: 'Acme' } }), newEvent()]);
    const intact = await store.readStream('site-a');
    expect(verifyChain(intact).ok).toBe(true);

    const raw = openRaw();
    const edit = raw.prepare(
      `UPDATE events SET data = json_set(data, '$.name', 'Evil') WHERE stream_id = 'site-a' AND version = 2`,
    );
    // A stray edit is refused outright; a deliberate one must drop the guard first.
    expect(() => edit.run()).toThrow(/immutable/);
    raw.exec('DROP TRIGGER events_are_immutable');
    expect(edit.run().changes).toBe(1);

    const tampered = await store.readStream('site-a');
    expect(tampered[1]?.data).toEqual({ name: 'Evil' });
    expect(verifyChain(tampered)).toEqual({
      ok: false,
      brokenAt: { streamId: 'site-a', version: 2, eventId: intact[1]?.eventId },
    });
  });

  it('catches a record removed from the file', async () => {
    const store = openStore();
    await store.append('site-a', 0, [newEvent(), newEvent(), newEvent()]);
    const intact = await store.readStream('site-a');
    const raw = openRaw();
    raw.exec('DROP TRIGGER events_are_never_deleted');
    raw.prepare(`DELETE FROM events WHERE stream_id = 'site-a' AND version = 2`).run();

    expect(verifyChain(await store.readStream('site-a'))).toEqual({
      ok: false,
      brokenAt: { streamId: 'site-a', version: 3, eventId: intact[2]?.eventId },
    });
  });

  it('shows only the configured stream prefixes in the global order', async () => {
    const store = openStore();
    expect(await store.lastPosition()).toBeUndefined();
    const site = await store.append('site-a', 0, [newEvent()]);
    await store.append('siteXkey', 0, [newEvent()]);
    await store.append('sitekey-a', 0, [newEvent()]);

    expect((await store.readAll({ limit: 10 })).map((e) => e.streamId)).toEqual(['site-a']);
    expect(await store.lastPosition()).toBe(site.position);
    expect(await store.readStream('sitekey-a')).toHaveLength(1);

    // `_` is a LIKE wildcard: a prefix test built on LIKE would let site_
    // match site-a and siteXkey too.
    const custom = openStore({ streamPrefixes: ['sitekey-', 'site_'] });
    expect((await custom.readAll({ limit: 10 })).map((e) => e.streamId)).toEqual(['sitekey-a']);
  });

  it('orders positions as numbers, not as strings', async () => {
    const store = openStore();
    await store.append(
      'site-a',
      0,
      Array.from({ length: 11 }, () => newEvent()),
    );
    const positions = (await store.readAll({ limit: 20 })).map((e) => e.position);
    expect(positions.slice(8, 10)).toEqual(['9', '10']);
    expect(store.comparePositions('9', '10')).toBeLessThan(0);
    expect(store.comparePositions('10', '9')).toBeGreaterThan(0);
    expect(store.comparePositions('10', '10')).toBe(0);
    expect(() => store.comparePositions('10', 'x')).toThrow(RangeError);
    await expect(store.readAll({ after: '-1', limit: 1 })).rejects.toThrow(RangeError);
  });

  it('wakes a waiting subscriber on its own append, without waiting for the poll', async () => {
    // A poll a minute apart: only the in-process notification can deliver in time.
    const store = openStore({ pollIntervalMs: 60_000 });
    const iterator = store.subscribeAll()[Symbol.asyncIterator]();
    const pending = iterator.next();
    const event = newEvent();
    await store.append('site-a', 0, [event]);
    expect((await pending).value?.eventId).toBe(event.eventId);
    await iterator.return?.();
  });

  it('leaves no poll timer behind once a waiting subscription is woken or aborted', async () => {
    // Only the store's poll timers are counted, told apart by their interval:
    // an append waits a macrotask for its group (group commit), time enough
    // for other timers of the process to come and go.
    const pollIntervalMs = 61_234;
    const { setTimeout: realSetTimeout, clearTimeout: realClearTimeout } = globalThis;
    const polls = new Set<unknown>();
    vi.spyOn(globalThis, 'setTimeout').mockImplementation(((callback: () => void, ms?: number) => {
      const timer = realSetTimeout(callback, ms);
      if (ms === pollIntervalMs) polls.add(timer);
      return timer;
    }) as typeof setTimeout);
    vi.spyOn(globalThis, 'clearTimeout').mockImplementation((timer) => {
      polls.delete(timer);
      realClearTimeout(timer);
    });
    onTestFinished(() => void vi.restoreAllMocks());
    const store = openStore({ pollIntervalMs });
    const timers = (): number => polls.size;
    const before = timers();

    const woken = store.subscribeAll()[Symbol.asyncIterator]();
    const pending = woken.next(); // caught up at once: now waiting, with its poll timer
    expect(timers()).toBe(before + 1);
    await store.append('site-a', 0, [newEvent()]);
    expect((await pending).done).toBe(false);
    expect(timers()).toBe(before);
    await woken.return?.();

    const controller = new AbortController();
    const aborted = store.subscribeAll({ after: '1', signal: controller.signal })[Symbol.asyncIterator]();
    const ended = aborted.next();
    expect(timers()).toBe(before + 1);
    controller.abort();
    expect((await ended).done).toBe(true);
    expect(timers()).toBe(before);
  });

  it('rejects an event id that is already stored, writing nothing', async () => {
    const store = openStore();
    const event = newEvent();
    await store.append('site-a', 0, [event]);
    await expect(store.append('site-b', 0, [{ ...newEvent(), eventId: event.eventId }])).rejects.toEqual(
      new DuplicateEventIdError(event.eventId),
    );
    expect(await store.streamVersion('site-b')).toBe(0);
  });

  it('refuses a new stream that another connection created meanwhile, writing none of the batch', async () => {
    // Streams expected not to exist are not read first; the unique
    // (stream_id, version) key must still turn the clash into a version error.
    const store = openStore();
    const other = openStore();
    await other.append('site-a', 0, [newEvent()]);
    const error = await store
      .appendMany([
        { streamId: 'site-b', expectedVersion: 0, events: [newEvent()] },
        { streamId: 'site-a', expectedVersion: 0, events: [newEvent()] },
      ])
      .catch((e: unknown) => e);
    expect(error).toEqual(new WrongExpectedVersionError('site-a', 0, 1));
    expect(await store.streamVersion('site-b')).toBe(0);
    expect(await store.readStream('site-a')).toHaveLength(1);
  });

  it('refuses the same new stream twice in one appendMany', async () => {
    const store = openStore();
    await expect(
      store.appendMany([
        { streamId: 'site-a', expectedVersion: 0, events: [newEvent()] },
        { streamId: 'site-a', expectedVersion: 0, events: [newEvent()] },
      ]),
    ).rejects.toEqual(new WrongExpectedVersionError('site-a', 0, 1));
    expect(await store.streamVersion('site-a')).toBe(0);
  });

  it('turns a write lock held too long by another connection into EventStoreUnavailableError', async () => {
    const store = openStore({ busyTimeoutMs: 50 });
    const other = openRaw();
    other.exec('BEGIN IMMEDIATE');
    const error = await store.append('site-a', 0, [newEvent()]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventStoreUnavailableError);
    expect((error as Error).message).toMatch(/locked by another writer/);
    expect((error as Error).cause).toBeInstanceOf(Database.SqliteError);

    // The other connection commits the same stream meanwhile: a plain version conflict.
    other
      .prepare(
        `INSERT INTO events (stream_id, version, event_id, type, data, metadata, prev_hash, hash, occurred_at)
         VALUES ('site-a', 1, 'raw', 'T', '{}', '{}', '', '', 0)`,
      )
      .run();
    other.exec('COMMIT');
    await expect(store.append('site-a', 0, [newEvent()])).rejects.toBeInstanceOf(WrongExpectedVersionError);
  });

  it('stays correct while another thread writes the same stream through its own connection', async () => {
    // better-sqlite3 is synchronous, so two stores in one thread never truly
    // overlap; a worker thread with its own connection does. It appends raw
    // rows to the same stream as fast as the lock allows.
    const store = openStore();
    await store.append('site-a', 0, [newEvent()]);
    // [0]: set to 1 to stop the worker; [1]: rows the worker has written.
    const shared = new Int32Array(new SharedArrayBuffer(8));
    const worker = new Worker(RACING_WRITER, {
      eval: true,
      workerData: {
        driver: createRequire(import.meta.url).resolve('better-sqlite3'),
        file,
        streamId: 'site-a',
        shared: shared.buffer,
      },
    });
    const workerDone = new Promise<number>((resolve, reject) => {
      worker.on('message', (message: unknown) => {
        if (typeof message === 'number') resolve(message);
      });
      worker.on('error', reject);
    });
    await new Promise<void>((resolve) => worker.once('message', () => resolve()));

    const ours: string[] = [];
    const conflicts: unknown[] = [];
    const deadline = Date.now() + 4_000;
    while (ours.length < 100 || Atomics.load(shared, 1) < 100) {
      if (Date.now() > deadline) throw new Error(`only ${ours.length} + ${Atomics.load(shared, 1)} appends`);
      const event = newEvent();
      try {
        await store.append('site-a', await store.streamVersion('site-a'), [event]);
        ours.push(event.eventId);
      } catch (error) {
        conflicts.push(error);
      }
      // Leave the lock free for a moment, as the worker does: SQLite's lock
      // is not fair, and a writer that never pauses starves the other one.
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    Atomics.store(shared, 0, 1);
    const raced = await workerDone;

    // Every failure was a clean version conflict, never a driver error.
    for (const error of conflicts) expect(error).toBeInstanceOf(WrongExpectedVersionError);
    const stream = await store.readStream('site-a');
    expect(stream.map((e) => e.version)).toEqual(stream.map((_, i) => i + 1));
    expect(stream.filter((e) => ours.includes(e.eventId))).toHaveLength(ours.length);
    expect(stream.filter((e) => e.type === 'Raced')).toHaveLength(raced);
    // The writers really interleaved: a raced row sits between two of ours.
    const kinds = stream.map((e) => (e.type === 'Raced' ? 'r' : 'o')).join('');
    expect(kinds).toMatch(/o+r+o/);
  });

  describe('group commit', () => {
    /** Frames in the WAL since `restart` emptied it: a commit writes at least one per page it changed. */
    const walFrames = (raw: Database.Database): number =>
      (raw.pragma('wal_checkpoint(PASSIVE)') as { log: number }[])[0]?.log ?? Number.NaN;
    const restart = (raw: Database.Database): void => void raw.pragma('wal_checkpoint(TRUNCATE)');

    it('commits the appends of concurrent callers in one transaction, with one fsync', async () => {
      const store = openStore();
      await store.append('site-warm', 0, [newEvent()]);
      const raw = openRaw();

      restart(raw);
      await store.append('site-alone', 0, [newEvent()]);
      const oneCommit = walFrames(raw);
      expect(oneCommit).toBeGreaterThan(0);

      restart(raw);
      const callers = 32;
      await Promise.all(Array.from({ length: callers }, (_, i) => store.append(`site-${i}`, 0, [newEvent()])));
      // One commit per append would write at least `oneCommit` frames each;
      // one transaction writes each changed page once.
      expect(walFrames(raw)).toBeLessThan(2 * oneCommit + callers / 4);
      expect(await store.readAll({ limit: 100 })).toHaveLength(callers + 2);
    });

    it('gives the appends that commit consecutive positions, even around one that failed', async () => {
      const store = openStore();
      await store.append('site-taken', 0, [newEvent()]);
      const outcomes = await Promise.allSettled([
        store.append('site-a', 0, [newEvent(), newEvent()]),
        store.append('site-taken', 0, [newEvent(), newEvent(), newEvent()]),
        store.append('site-b', 0, [newEvent()]),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect((await store.readAll({ limit: 10 })).map((e) => e.position)).toEqual(['1', '2', '3', '4']);
    });

    it('decides the appends of a group in the order they were called, each seeing those before it', async () => {
      const store = openStore();
      const [first, second, rival] = [newEvent(), newEvent(), newEvent()];
      const outcomes = await Promise.allSettled([
        store.append('site-a', 0, [first]),
        store.append('site-a', 1, [second]),
        store.append('site-a', 0, [rival]),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
      expect(outcomes[2]).toMatchObject({ reason: new WrongExpectedVersionError('site-a', 0, 2) });
      expect((await store.readStream('site-a')).map((e) => e.eventId)).toEqual([first.eventId, second.eventId]);
    });

    it('refuses an event id already taken by an earlier append of the same group, and only that append', async () => {
      const store = openStore();
      const event = newEvent();
      const outcomes = await Promise.allSettled([
        store.append('site-a', 0, [event]),
        store.append('site-b', 0, [newEvent(), { ...newEvent(), eventId: event.eventId }]),
        store.append('site-c', 0, [newEvent()]),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(outcomes[1]).toMatchObject({ reason: new DuplicateEventIdError(event.eventId) });
      expect(await store.streamVersion('site-b')).toBe(0);
      expect(await store.streamVersion('site-c')).toBe(1);
    });

    it('fails every append of a group whose transaction cannot begin, and commits the next group', async () => {
      const store = openStore({ busyTimeoutMs: 50 });
      const other = openRaw();
      other.exec('BEGIN IMMEDIATE');
      const outcomes = await Promise.allSettled([
        store.append('site-a', 0, [newEvent()]),
        store.append('site-b', 0, [newEvent()]),
      ]);
      for (const outcome of outcomes) {
        expect(outcome).toMatchObject({ status: 'rejected', reason: expect.any(EventStoreUnavailableError) });
      }
      other.exec('ROLLBACK');
      await Promise.all([store.append('site-a', 0, [newEvent()]), store.append('site-b', 0, [newEvent()])]);
      expect(await store.readAll({ limit: 10 })).toHaveLength(2);
    });

    it('commits the appends called before close', async () => {
      const store = openStore();
      const pending = store.append('site-a', 0, [newEvent()]);
      await store.close();
      await expect(pending).resolves.toMatchObject({ nextVersion: 1 });
      await expect(store.append('site-a', 1, [newEvent()])).rejects.toBeInstanceOf(EventStoreUnavailableError);
      expect(await openStore().streamVersion('site-a')).toBe(1);
    });
  });

  it('fails clearly once closed, and ends running subscriptions', async () => {
    const store = openStore();
    const iterator = store.subscribeAll()[Symbol.asyncIterator]();
    const pending = iterator.next();
    await store.close();
    expect(await pending).toEqual({ done: true, value: undefined });
    await expect(store.readAll({ limit: 1 })).rejects.toBeInstanceOf(EventStoreUnavailableError);
    await expect(store.ping()).rejects.toBeInstanceOf(EventStoreUnavailableError);
    await store.close(); // idempotent
  });
});

/**
 * Plain JavaScript for a worker thread: appends rows to one stream with its
 * own connection until told to stop, counting them in `shared[1]`, with a
 * short pause after each (see the test).
 */
const RACING_WRITER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { timeout: 5000 });
const shared = new Int32Array(workerData.shared);
const head = db.prepare('SELECT coalesce(max(version), 0) FROM events WHERE stream_id = ?').pluck();
const insert = db.prepare(
  "INSERT INTO events (stream_id, version, event_id, type, data, metadata, prev_hash, hash, occurred_at) " +
  "VALUES (?, ?, ?, 'Raced', '{}', '{\\"occurredAt\\":\\"1970-01-01T00:00:00.000Z\\"}', '', 'raced', 0)"
);
const write = db.transaction(() => {
  const version = head.get(workerData.streamId) + 1;
  insert.run(workerData.streamId, version, 'raced-' + version);
});
write.immediate();
Atomics.add(shared, 1, 1);
parentPort.postMessage('writing');
while (Atomics.load(shared, 0) === 0) {
  write.immediate();
  Atomics.add(shared, 1, 1);
  Atomics.wait(shared, 0, 0, 1);
}
db.close();
parentPort.postMessage(Atomics.load(shared, 1));
`;
