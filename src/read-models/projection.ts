import type { StoredEvent } from '../event-store/event-envelope.js';

/**
 * A read model fed by the store's global order. Every projection lives in
 * the one read-model SQLite file (READ_MODEL_DB) and creates its tables and
 * prepared statements when constructed. The runner calls `apply` in global
 * order inside one transaction with the checkpoint, so a crash never skips
 * or doubles an event. Handlers are synchronous (better-sqlite3) and do no
 * other I/O.
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

/** Nest token for the list of every projection, in the order they are applied. */
export const PROJECTIONS = Symbol('PROJECTIONS');
