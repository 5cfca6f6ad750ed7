import { Logger } from '@nestjs/common';
import type Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { NewEvent, StoredEvent } from '../event-store/event-envelope.js';
import { EventStoreUnavailableError } from '../event-store/event-store.errors.js';
import { MemoryEventStore } from '../event-store/memory/memory-event-store.js';
import type { Projection } from './projection.js';
import { ProjectionRunner } from './projection-runner.js';
import { openReadModelDatabase } from './read-model.database.js';

const newEvent = (i: number): NewEvent => ({
  eventId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  type: 'SiteSuspended',
  data: { siteId: `s${i}` },
  metadata: {
    actor: 'operator',
    occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    correlationId: 'c',
    causationId: null,
  },
});

/** Remembers what it was given, and whether its query index existed at the time. */
class Recorder implements Projection {
  readonly name = 'recorder';
  readonly queryIndexes = ['recorded_by_type'];
  readonly seen: { position: string; ordinal: number; indexed: boolean }[] = [];
  failAt: number | undefined;
  flush: (() => void) | undefined;

  constructor(private readonly db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS recorded (ordinal INTEGER PRIMARY KEY, type TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS recorded_by_type ON recorded (type)`);
  }

  apply(event: StoredEvent, ordinal: number): void {
    if (ordinal === this.failAt) throw new Error('cannot apply');
    this.db.prepare('INSERT INTO recorded (ordinal, type) VALUES (?, ?)').run(ordinal, event.type);
    this.seen.push({ position: event.position, ordinal, indexed: this.hasIndex() });
  }

  reset(): void {
    this.db.exec('DELETE FROM recorded');
  }

  hasIndex(): boolean {
    return (
      this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'recorded_by_type'").get() !==
      undefined
    );
  }

  rows(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM recorded').get() as { n: number }).n;
  }
}

describe('ProjectionRunner', () => {
  let dir: string;
  let store: MemoryEventStore;
  const running: ProjectionRunner[] = [];

  // One test makes a projection fail on purpose; its error log is expected.
  beforeAll(() => Logger.overrideLogger(false));

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'projection-runner-'));
    store = new MemoryEventStore();
  });
  afterEach(async () => {
    for (const runner of running.splice(0)) await shutDown(runner);
    rmSync(dir, { recursive: true, force: true });
  });

  const start = (prepare: (recorder: Recorder, db: Database.Database) => void = () => undefined) => {
    const db = openReadModelDatabase(join(dir, 'read-model.db'));
    const recorder = new Recorder(db);
    prepare(recorder, db);
    const runner = new ProjectionRunner(store, [{ name: 'test', db, projections: [recorder] }]);
    running.push(runner);
    runner.onApplicationBootstrap();
    return { runner, recorder, db };
  };
  const shutDown = async (runner: ProjectionRunner) => {
    await runner.beforeApplicationShutdown();
    runner.onApplicationShutdown();
  };
  const stop = async (runner: ProjectionRunner) => {
    running.splice(running.indexOf(runner), 1);
    await shutDown(runner);
  };
  const append = async (from: number, count: number) => {
    for (let i = from; i < from + count; i += 1) await store.append(`site-s${i}`, 0, [newEvent(i)]);
  };

  it('numbers events 1, 2, 3, … in global order, and goes on counting after a restart', async () => {
    await append(1, 3);
    const first = start();
    expect(await first.runner.catchUp()).toBe(true);
    expect(first.recorder.seen.map(({ position, ordinal }) => [position, ordinal])).toEqual([
      ['1', 1],
      ['2', 2],
      ['3', 3],
    ]);
    expect(first.runner.ordinal).toBe(3);
    await stop(first.runner);

    await append(4, 2);
    const second = start();
    expect(second.runner.ordinal).toBe(3);
    expect(await second.runner.catchUp()).toBe(true);
    expect(second.recorder.seen.map(({ ordinal }) => ordinal)).toEqual([4, 5]);
    expect(second.runner.ordinal).toBe(5);
  });

  it('follows live appends and resolves waitFor once they are applied', async () => {
    const { runner, recorder } = start();
    await append(1, 2);
    const result = await store.append('site-late', 0, [newEvent(99)]);
    expect(await runner.waitFor(result.position)).toBe(true);
    expect(recorder.seen.map(({ ordinal }) => ordinal)).toEqual([1, 2, 3]);
  });

  it('applies live events committed together in one transaction, with their checkpoint', async () => {
    const { runner, recorder, db } = start();
    expect(await runner.catchUp()).toBe(true);
    const checkpoints: (string | undefined)[] = [];
    const checkpoint = db.prepare("SELECT position FROM checkpoints WHERE name = 'read-model'");
    const apply = recorder.apply.bind(recorder);
    // Inside a batch's transaction the checkpoint is still the one before the batch.
    recorder.apply = (event, ordinal) => {
      checkpoints.push((checkpoint.get() as { position: string } | undefined)?.position);
      apply(event, ordinal);
    };
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.append(`site-burst${i}`, 0, [newEvent(100 + i)])),
    );
    expect(await runner.waitFor(results.at(-1)!.position)).toBe(true);
    expect(checkpoints).toHaveLength(20);
    expect(new Set(checkpoints).size).toBe(1);
    expect(runner.position).toBe(results.at(-1)!.position);
  });

  it('flushes each projection once per batch, after its last event and before its checkpoint', async () => {
    await append(1, 3);
    const calls: string[] = [];
    const { runner, recorder } = start((recorder, db) => {
      const apply = recorder.apply.bind(recorder);
      recorder.apply = (event, ordinal) => {
        calls.push(`apply ${ordinal}`);
        apply(event, ordinal);
      };
      const checkpoint = db.prepare("SELECT events FROM checkpoints WHERE name = 'read-model'").pluck();
      recorder.flush = () => calls.push(`flush, checkpoint ${(checkpoint.get() as number | undefined) ?? 'none'}`);
    });
    expect(await runner.catchUp()).toBe(true);
    expect(calls).toEqual(['apply 1', 'apply 2', 'apply 3', 'flush, checkpoint none']);
    calls.splice(0);
    const live = await store.append('site-s4', 0, [newEvent(4)]);
    expect(await runner.waitFor(live.position)).toBe(true);
    expect(calls).toEqual(['apply 4', 'flush, checkpoint 3']);
    expect(recorder.rows()).toBe(4);
  });

  it('an unreachable store is retried from the checkpoint: the read models recover by themselves', async () => {
    await append(1, 3);
    const readAll = store.readAll.bind(store);
    let outages = 2;
    store.readAll = async (options) => {
      if (outages > 0) {
        outages -= 1;
        throw new EventStoreUnavailableError('EventStoreDB is restarting');
      }
      return readAll(options);
    };
    const { runner, recorder } = start();
    await expect.poll(() => runner.state, { timeout: 5000 }).toBe('live');
    expect(outages).toBe(0);
    expect(recorder.seen.map(({ ordinal }) => ordinal)).toEqual([1, 2, 3]);
    const late = await store.append('site-late', 0, [newEvent(42)]);
    expect(await runner.waitFor(late.position)).toBe(true);
  });

  it('says it is failing while a projection cannot apply an event, and heals once it can, without a restart', async () => {
    await append(1, 2);
    const { runner, recorder } = start((recorder) => (recorder.failAt = 1));
    await expect.poll(() => runner.state).toBe('failing');
    expect(recorder.rows()).toBe(0);
    recorder.failAt = undefined; // the disk has space again, the lock is gone, the bug is fixed
    await expect.poll(() => runner.state, { timeout: 5000 }).toBe('live');
    expect(recorder.rows()).toBe(2);
    expect(runner.ordinal).toBe(2);
  });

  it('a live batch that fails is retried from the checkpoint: no event skipped, none applied twice', async () => {
    await append(1, 2);
    const { runner, recorder } = start();
    expect(await runner.catchUp()).toBe(true);
    recorder.failAt = 3;
    const late = await store.append('site-late', 0, [newEvent(3)]);
    await expect.poll(() => runner.state).toBe('failing');
    expect(await runner.waitFor(late.position, 100)).toBe(false);
    recorder.failAt = undefined;
    await expect.poll(() => runner.state, { timeout: 5000 }).toBe('live');
    expect(await runner.waitFor(late.position)).toBe(true);
    expect(recorder.rows()).toBe(3);
    expect(recorder.seen.map(({ ordinal }) => ordinal)).toEqual([1, 2, 3]);
  });

  it('a batch that fails leaves nothing behind, instead of skipping the event', async () => {
    await append(1, 3);
    const { runner, recorder } = start((recorder) => (recorder.failAt = 2));
    expect(await runner.catchUp(2000)).toBe(false);
    expect(runner.ordinal).toBe(0);
    expect(runner.position).toBeUndefined();
    expect(recorder.rows()).toBe(0);
  });

  it('builds from nothing without the query indexes, then creates them', async () => {
    await append(1, 3);
    const { runner, recorder } = start();
    expect(await runner.catchUp()).toBe(true);
    expect(recorder.seen.every(({ indexed }) => !indexed)).toBe(true);
    await expect.poll(() => recorder.hasIndex()).toBe(true);
  });

  it('creates the query indexes even when stopped right after catching up (as the rebuild command does)', async () => {
    await append(1, 3);
    const { runner, recorder } = start();
    expect(await runner.catchUp()).toBe(true);
    await runner.beforeApplicationShutdown();
    expect(recorder.hasIndex()).toBe(true);
  });

  it('keeps the query indexes while catching up from a checkpoint', async () => {
    await append(1, 2);
    const first = start();
    await first.runner.catchUp();
    await stop(first.runner);
    await append(3, 2);
    const second = start();
    expect(await second.runner.catchUp()).toBe(true);
    expect(second.recorder.seen.map(({ indexed }) => indexed)).toEqual([true, true]);
  });

  it('an outdated read-model file is emptied when opened, so it is rebuilt from the ledger', async () => {
    await append(1, 2);
    const first = start();
    await first.runner.catchUp();
    await stop(first.runner);
    const db = openReadModelDatabase(join(dir, 'read-model.db'));
    db.pragma('user_version = 1');
    db.close();
    const second = start();
    expect(second.runner.ordinal).toBe(0);
    expect(await second.runner.catchUp()).toBe(true);
    expect(second.recorder.seen.map(({ ordinal }) => ordinal)).toEqual([1, 2]);
  });

  describe('with several files', () => {
    /** Files a and b, each with its own recorder; `only` runs the runner over some of them. */
    const startFiles = (only: readonly string[] = ['a', 'b']) => {
      const files = only.map((name) => {
        const db = openReadModelDatabase(join(dir, `${name}.db`));
        return { name, db, projections: [new Recorder(db)] };
      });
      const runner = new ProjectionRunner(store, files);
      running.push(runner);
      runner.onApplicationBootstrap();
      const recorder = (name: string) => files.find((file) => file.name === name)!.projections[0]!;
      return { runner, recorder };
    };

    it('feeds each file from its own checkpoint: one ahead of another (a crash between their commits) gets nothing twice', async () => {
      await append(1, 2);
      const both = startFiles();
      expect(await both.runner.catchUp()).toBe(true);
      await stop(both.runner);
      await append(3, 2);
      const aheadOnly = startFiles(['a']);
      expect(await aheadOnly.runner.catchUp()).toBe(true);
      await stop(aheadOnly.runner);

      const again = startFiles();
      expect(again.runner.ordinal).toBe(2); // the file furthest behind
      expect(await again.runner.catchUp()).toBe(true);
      expect(again.recorder('a').seen).toEqual([]);
      expect(again.recorder('b').seen.map(({ ordinal }) => ordinal)).toEqual([3, 4]);
      expect(again.recorder('a').rows()).toBe(4);
      expect(again.recorder('b').rows()).toBe(4);
      expect(again.runner.ordinal).toBe(4);
      await append(5, 1);
      expect(await again.runner.catchUp()).toBe(true);
      expect(again.recorder('a').seen.map(({ ordinal }) => ordinal)).toEqual([5]);
      expect(again.recorder('b').seen.map(({ ordinal }) => ordinal)).toEqual([3, 4, 5]);
    });

    it('a file that fails holds back only itself: the others commit, and nothing is applied twice on the retry', async () => {
      await append(1, 3);
      const files = startFiles();
      files.recorder('b').failAt = 2;
      await vi.waitFor(() => expect(files.runner.state).toBe('failing'));
      expect(files.recorder('a').rows()).toBe(3);
      expect(files.recorder('b').rows()).toBe(0);
      files.recorder('b').failAt = undefined;
      await vi.waitFor(() => expect(files.runner.state).toBe('live'), { timeout: 3000 });
      expect(await files.runner.catchUp()).toBe(true);
      expect(files.recorder('a').seen.map(({ ordinal }) => ordinal)).toEqual([1, 2, 3]);
      expect(files.recorder('b').rows()).toBe(3);
    });
  });
});
