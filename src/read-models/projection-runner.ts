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
import { PROJECTIONS, type Projection } from './projection.js';
import { READ_MODEL_DB } from './read-model.database.js';

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

/**
 * Keeps every projection up to date with the store's global order: catch-up
 * in pages from the stored checkpoint, then live. Each batch and the
 * checkpoint commit in one transaction.
 */
@Injectable()
export class ProjectionRunner implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('Projections');
  private readonly stop = new AbortController();
  private running: Promise<void> | undefined;
  private checkpoint: string | undefined;
  /** Events applied so far: the ordinal of the event at `checkpoint`. */
  private applied = 0;
  private waiters: { position: string; resolve: () => void }[] = [];
  private readonly saveCheckpoint: Database.Statement;
  private health: ProjectionsState = 'catching-up';

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(READ_MODEL_DB) private readonly db: Database.Database,
    @Inject(PROJECTIONS) private readonly projections: Projection[],
  ) {
    this.saveCheckpoint = db.prepare(
      `INSERT INTO checkpoints (name, position, events) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET position = excluded.position, events = excluded.events`,
    );
    const row = db.prepare('SELECT position, events FROM checkpoints WHERE name = ?').get(CHECKPOINT) as
      { position: string; events: number } | undefined;
    this.checkpoint = row?.position;
    this.applied = row?.events ?? 0;
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
    this.db.close();
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
    return this.projections.map((projection) => projection.name);
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
    const deferred = this.applied === 0 ? this.dropQueryIndexes() : [];
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
      if (deferred.length > 0) {
        this.db.transaction(() => deferred.forEach((sql) => this.db.exec(sql)))();
        this.logger.log(`${deferred.length} query indexes built after catching up from the start`);
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

  /** Drops the projections' query indexes for a catch-up from nothing; returns the SQL that recreates them. */
  private dropQueryIndexes(): string[] {
    const definition = this.db.prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?").pluck();
    const names = this.projections.flatMap((projection) => projection.queryIndexes ?? []);
    return this.db.transaction(() =>
      names.flatMap((name) => {
        const sql = definition.get(name) as string | null | undefined;
        if (typeof sql !== 'string') return [];
        this.db.exec(`DROP INDEX "${name.replaceAll('"', '""')}"`);
        return [sql];
      }),
    )();
  }

  private applyBatch(events: readonly StoredEvent[]): void {
    const last = events.at(-1)!;
    let ordinal = this.applied;
    this.db.transaction(() => {
      for (const event of events) {
        ordinal += 1;
        for (const projection of this.projections) projection.apply(event, ordinal);
      }
      for (const projection of this.projections) projection.flush?.();
      this.saveCheckpoint.run(CHECKPOINT, last.position, ordinal);
    })();
    // Only after the commit: a batch that threw left nothing behind, so neither may the counters.
    this.checkpoint = last.position;
    this.applied = ordinal;
    const ready = this.waiters.filter((waiter) => this.reached(waiter.position));
    if (ready.length > 0) {
      this.waiters = this.waiters.filter((waiter) => !ready.includes(waiter));
      for (const waiter of ready) waiter.resolve();
    }
  }
}
