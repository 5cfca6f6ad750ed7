import type Database from 'better-sqlite3';
import type { StoredEvent } from '../event-store/event-envelope.js';

/**
 * A read model fed by the store's global order. Every projection lives in
 * a read-model SQLite file (ReadModelFile), given to its constructor, and
 * creates its tables and prepared statements there when constructed. The
 * runner calls `apply` in global order inside one transaction with the
 * file's checkpoint, so a crash never skips or doubles an event. Handlers
 * are synchronous (better-sqlite3) and do no other I/O, and read and write
 * only their own tables: files are built independently.
 */
export interface Projection {
  readonly name: string;
  /**
   * Folds one event in. The event's data is as stored: personal data stays
   * sealed (read models never hold contacts in the clear).
   *
   * `ordinal` is the event's place in the global order counted from 1: a
   * plain, dense number, the same after every rebuild. Store positions are
   * opaque strings only the store can order, so a projection that needs to
   * order or page its rows by global order keys them by the ordinal.
   */
  apply(event: StoredEvent, ordinal: number): void;
  /**
   * Called once per batch, inside its transaction, after its last `apply`
   * and before the checkpoint is saved: a projection may keep what `apply`
   * derives in memory and write it here, once per batch. If the batch fails
   * it is applied again from its first event, whose ordinal then does not
   * follow the last one `apply` saw: forget what was kept.
   */
  flush?(): void;
  /** Removes everything it derived, so a rebuild starts from nothing. */
  reset(): void;
  /**
   * Names of indexes only its queries use, never `apply`. While the runner
   * builds the read models from nothing (a rebuild, a new or outdated file)
   * it drops these and creates them once caught up: one sort each instead
   * of an index update per event. The projection must still create them
   * (IF NOT EXISTS) when constructed, which also restores them after a crash
   * in between.
   */
  readonly queryIndexes?: readonly string[];
}

/** A projection class: constructed with the read-model file it lives in. */
export type ProjectionClass = new (db: Database.Database) => Projection;

/** Read-model files by name, each with the projections kept in it (app.module.ts names them). */
export type ReadModelLayout = Readonly<Record<string, readonly ProjectionClass[]>>;
