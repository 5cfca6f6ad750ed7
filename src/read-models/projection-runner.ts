import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type Database from 'better-sqlite3';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventStoreUnavailableError } from '../event-store/event-store.errors.js';
import type { StoredEvent } from '../event-store/event-envelope.js';
import { EVENT_STORE, type EventStore } from '../event-store/event-store.port.js';
import type { Projection } from './projection.js';
import { READ_MODEL_FILES, type ReadModelFile } from './read-model.database.js';

/**
 * `live` once caught up; `retrying` while the store is unreachable;
 * `failing` while a batch cannot be applied (retried, never skipped). Reads
 * may be stale in every state but `live`.
 */
export type ProjectionsState = 'catching-up' | 'live' | 'retrying' | 'failing';

const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 30_000;

/** Events applied per transaction while catching up. */
const CATCH_UP_PAGE = 5000;
const CHECKPOINT = 'read-model';

/** A read-model file as the runner feeds it: how far its own checkpoint is. */
interface Lane {
  readonly file: ReadModelFile;
  readonly saveCheckpoint: Database.Statement;
  position: string | undefined;
  /** The ordinal of the event at `position` (0 before the first). */
  applied: number;
}

/**
 * Keeps every projection up to date with the store's global order: catch-up
 * in pages from the stored checkpoint, then live.
 *
 * Each read-model file (ReadModelFile) keeps its own checkpoint and commits
 * each batch with it in one transaction of its own, so the files can be
 * built side by side (rebuild.ts builds each in its own thread) and a crash
 * between two files' commits leaves each consistent with its checkpoint.
 * The runner reads on from the file furthest behind and gives each file
 * only the events it does not hold yet.
 */
@Injectable()
export class ProjectionRunner implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('Projections');
  private readonly stop = new AbortController();
  private running: Promise<void> | undefined;
  /** Where every file has got to: the checkpoint of the file furthest behind. */
  private checkpoint: string | undefined;
  /** Events every file holds: the ordinal of the event at `checkpoint`. */
  private applied = 0;
  private waiters: { position: string; resolve: () => void }[] = [];
  private readonly lanes: Lane[];
  private health: ProjectionsState = 'catching-up';

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(READ_MODEL_FILES) files: readonly ReadModelFile[],
  ) {
    this.lanes = files.map((file) => {
      const row = file.db.prepare('SELECT position, events FROM checkpoints WHERE name = ?').get(CHECKPOINT) as
        { position: string; events: number } | undefined;
      const saveCheckpoint = file.db.prepare(
        `INSERT INTO checkpoints (name, position, events) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET position = excluded.position, events = excluded.events`,
      );
      return { file, saveCheckpoint, position: row?.position, applied: row?.events ?? 0 };
    });
    const slowest = this.lanes.reduce<Lane | undefined>(
      (behind, lane) => (behind === undefined || lane.applied < behind.applied ? lane : behind),
      undefined,
    );
    this.checkpoint = slowest?.position;
    this.applied = slowest?.applied ?? 0;
  }

  onApplicationBootstrap(): void {
    this.running = this.supervise();
  }

  /** See ProjectionsState. */
  get state(): ProjectionsState {
    return this.health;
  }

  /**
   * Runs the loop, and runs it again from the checkpoint after any failure,
   * with backoff: a store that cannot be reached (`retrying`), or a batch
   * that cannot be applied (`failing`: a full disk, a locked file, a bug on
   * one event). A failed batch committed nothing and is never skipped, so
   * once the cause is gone the read models catch up without a restart.
   */
  private async supervise(): Promise<void> {
    for (let delayMs = RETRY_FIRST_MS; ; delayMs = Math.min(delayMs * 2, RETRY_MAX_MS)) {
      try {
        this.health = 'catching-up';
        await this.run();
        return;
      } catch (error) {
        if (this.stop.signal.aborted) return;
        if (error instanceof EventStoreUnavailableError) {
          this.health = 'retrying';
          this.logger.warn(`the event store is unavailable; read models retry in ${delayMs} ms (${error.message})`);
        } else {
          this.health = 'failing';
          this.logger.error(
            `read models cannot apply the events after position ${this.checkpoint ?? '(start)'}; ` +
              `retrying in ${delayMs} ms: ${error instanceof Error ? error.stack : String(error)}`,
          );
        }
        // Nobody waits out their bound for read models that are not moving.
        for (const waiter of this.waiters.splice(0)) waiter.resolve();
        try {
          await sleep(delayMs, undefined, { signal: this.stop.signal });
        } catch {
          return; // shutting down
        }
      }
    }
  }

  /** The loop stops before any resource closes; the database closes last. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stop.abort();
    await this.running;
    // Nobody waits out their bound for a runner that has stopped.
    for (const waiter of this.waiters.splice(0)) waiter.resolve();
  }

  onApplicationShutdown(): void {
    for (const lane of this.lanes) lane.file.db.close();
  }

  /** The position of the last event applied; undefined before the first. */
  get position(): string | undefined {
    return this.checkpoint;
  }

  /**
   * How many events are applied: the ordinal of the last one (0 before the
   * first). Queries pin a consistent snapshot of the read models with it.
   */
  get ordinal(): number {
    return this.applied;
  }

  /**
   * Resolves once every event up to `position` is applied (read-your-writes),
   * or after `timeoutMs` (the answer is then as fresh as it can be): a slow
   * read model delays an answer a little, it never blocks it.
   */
  async waitFor(position: string, timeoutMs = 2000): Promise<boolean> {
    if (this.reached(position)) return true;
    if (this.health === 'failing') return false;
    return new Promise<boolean>((resolve) => {
      const waiter = { position, resolve: () => resolve(this.reached(position)) };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((other) => other !== waiter);
        resolve(false);
      }, timeoutMs);
      waiter.resolve = () => {
        clearTimeout(timer);
        resolve(this.reached(position));
      };
      this.waiters.push(waiter);
    });
  }

  /** The read models this runner feeds, by name, in the order they are applied. */
  get names(): string[] {
    return this.lanes.flatMap((lane) => lane.file.projections.map((projection) => projection.name));
  }

  /**
   * How many ledger events the store holds beyond what is applied, counted
   * up to `limit` (a count of `limit` means at least that many): positions
   * are opaque to everyone but the store, so the events are counted.
   * @throws EventStoreUnavailableError when the store cannot be read.
   */
  async lag(limit: number): Promise<number> {
    if (limit <= 0) return 0;
    return (await this.store.readAll({ after: this.checkpoint, limit })).length;
  }

  /** Waits until everything the store holds right now is applied. */
  async catchUp(timeoutMs = 5000): Promise<boolean> {
    const last = await this.store.lastPosition();
    return last === undefined || this.waitFor(last, timeoutMs);
  }

  /**
   * Drops every projection's data and the checkpoint, so the next run
   * replays the whole ledger. Only while the runner is not running.
   */
  static reset(db: Database.Database, projections: readonly Projection[]): void {
    db.transaction(() => {
      for (const projection of projections) projection.reset();
      db.prepare('DELETE FROM checkpoints WHERE name = ?').run(CHECKPOINT);
    })();
  }

  private reached(position: string): boolean {
    return this.checkpoint !== undefined && this.store.comparePositions(this.checkpoint, position) >= 0;
  }

  private async run(): Promise<void> {
    // Catch up in large transactions; then follow live, batching what arrives together.
    const deferred = this.lanes.filter((lane) => lane.applied === 0).map((lane) => this.dropQueryIndexes(lane.file));
    try {
      for (;;) {
        const page = await this.store.readAll({ after: this.checkpoint, limit: CATCH_UP_PAGE });
        if (this.stop.signal.aborted || page.length === 0) break;
        this.applyBatch(page);
        // An in-process store answers without real I/O, so without this the
        // whole catch-up would run in one macrotask and starve HTTP (and /health).
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      // However the catch-up ended (caught up, stopped, failed), queries need
      // their indexes; a shutdown waits for them (see beforeApplicationShutdown).
      for (const { db, name, indexes } of deferred) {
        if (indexes.length === 0) continue;
        db.transaction(() => indexes.forEach((sql) => db.exec(sql)))();
        this.logger.log(`${name}: ${indexes.length} query indexes built after catching up from the start`);
      }
    }
    if (this.stop.signal.aborted) return;
    // Ends the subscription when a batch fails, so that supervise starts again from the checkpoint.
    const failed = new AbortController();
    const signal = AbortSignal.any([this.stop.signal, failed.signal]);
    let failure: { error: unknown } | undefined;
    let batch: StoredEvent[] = [];
    let flushScheduled = false;
    const flush = () => {
      flushScheduled = false;
      if (batch.length === 0 || signal.aborted) return;
      const events = batch;
      batch = [];
      try {
        this.applyBatch(events);
      } catch (error) {
        failure = { error };
        failed.abort();
      }
    };
    this.health = 'live';
    try {
      for await (const event of this.store.subscribeAll({ after: this.checkpoint, signal })) {
        batch.push(event);
        if (batch.length >= CATCH_UP_PAGE) flush();
        else if (!flushScheduled) {
          flushScheduled = true;
          setImmediate(flush);
        }
      }
    } finally {
      // Delivered events are applied now, before any retry reads on from the checkpoint.
      flush();
    }
    if (failure !== undefined) throw failure.error;
  }

  /** Drops a file's query indexes for a catch-up from nothing; returns the SQL that recreates them. */
  private dropQueryIndexes(file: ReadModelFile): { db: Database.Database; name: string; indexes: string[] } {
    const { db } = file;
    const definition = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?").pluck();
    const names = file.projections.flatMap((projection) => projection.queryIndexes ?? []);
    const indexes = db.transaction(() =>
      names.flatMap((name) => {
        const sql = definition.get(name) as string | null | undefined;
        if (typeof sql !== 'string') return [];
        db.exec(`DROP INDEX "${name.replaceAll('"', '""')}"`);
        return [sql];
      }),
    )();
    return { db, name: file.name, indexes };
  }

  /** `events` follow `checkpoint`: the first is ordinal `applied` + 1. */
  private applyBatch(events: readonly StoredEvent[]): void {
    const last = events.at(-1)!;
    const lastOrdinal = this.applied + events.length;
    for (const lane of this.lanes) {
      if (lane.applied >= lastOrdinal) continue;
      // A file ahead of the others (they crashed before their commit) already holds the first events.
      const held = lane.applied - this.applied;
      const { db, projections } = lane.file;
      db.transaction(() => {
        for (let i = held; i < events.length; i += 1) {
          const ordinal = this.applied + 1 + i;
          for (const projection of projections) projection.apply(events[i]!, ordinal);
        }
        for (const projection of projections) projection.flush?.();
        lane.saveCheckpoint.run(CHECKPOINT, last.position, lastOrdinal);
      })();
      // Only after the commit: a batch that threw left nothing behind in that file, so neither may its counters.
      lane.position = last.position;
      lane.applied = lastOrdinal;
    }
    this.checkpoint = last.position;
    this.applied = lastOrdinal;
    const ready = this.waiters.filter((waiter) => this.reached(waiter.position));
    if (ready.length > 0) {
      this.waiters = this.waiters.filter((waiter) => !ready.includes(waiter));
      for (const waiter of ready) waiter.resolve();
    }
  }
}
