import type { AppendResult, StreamAppend } from './event-store.port.js';

/**
 * GROUP COMMIT: appends from concurrent callers share one transaction.
 *
 * A durable commit costs one flush of the log to disk (an fsync on SQLite,
 * a WAL flush on PostgreSQL), and that flush, not the few inserts before
 * it, bounds how many appends a store commits per second when each has a
 * transaction of its own. So the adapters that own their transactions
 * (`sqlite`, `postgres`) queue every `appendMany` here, and commit what is
 * queued as one group: one transaction, one flush, one wake-up of the
 * subscribers. Each queued append is still decided on its own (its own
 * expected versions, the retry rule, its own errors): one that conflicts
 * fails alone and the others commit. Every promise settles only after the
 * group's transaction has ended, so an acknowledged append is durable, as
 * the port promises.
 *
 * When a group runs: on the next macrotask after the first append of the
 * group arrived (`setImmediate`), and never while the previous group of the
 * same store is still committing. "Arriving while a commit is in flight"
 * has to be made real that way on SQLite, whose driver is synchronous: its
 * commit blocks the event loop, and committing at the call would leave
 * nothing to group. With a queue, the requests whose I/O was handled in the
 * same turn of the event loop (HTTP commands that arrived together, while
 * the previous group's fsync blocked the loop) are queued before the group
 * runs. On PostgreSQL the commit is asynchronous: whatever arrives while a
 * group commits is the next group. A single caller pays one macrotask hop
 * per append, microseconds beside its flush.
 */

/** One caller's `appendMany`, checked (`checkAppends`) and queued. */
export interface QueuedAppend {
  readonly appends: readonly StreamAppend[];
  /** `metadata.occurredAt` of each event in ms, per append, as `checkAppends` returned it. */
  readonly occurredAtMs: readonly number[][];
}

/**
 * What a group's transaction decided for one of its appends: its results,
 * its own failure (a port error), or `deferred`: decide it again in the next
 * group, after this one has committed (the PostgreSQL adapter decides a
 * whole group before it writes, and defers an append that conflicts with an
 * earlier append of the same group, so that it meets the committed state, as
 * one after the other would).
 */
export type GroupOutcome = { results: AppendResult[] } | { error: unknown } | { deferred: true };

/**
 * Commits a group: one outcome per queued append, in order. It settles
 * nothing itself and should not throw; if it does (a bug), every append of
 * the group fails with that error.
 */
export type CommitGroup = (group: readonly QueuedAppend[]) => GroupOutcome[] | Promise<GroupOutcome[]>;

interface Waiting {
  request: QueuedAppend;
  resolve(results: AppendResult[]): void;
  reject(error: unknown): void;
}

export class GroupCommit {
  #queue: Waiting[] = [];
  #scheduled = false;
  /** The group being committed, when `commit` is asynchronous. */
  #running: Promise<void> | undefined;

  constructor(private readonly commit: CommitGroup) {}

  /** Queues an append; resolves once the group that holds it has committed. */
  append(request: QueuedAppend): Promise<AppendResult[]> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ request, resolve, reject });
      this.#schedule();
    });
  }

  /**
   * Commits everything queued, and waits for the group in flight: for a
   * store that is closing. Appends queued meanwhile are committed too.
   */
  async drain(): Promise<void> {
    for (;;) {
      if (this.#running !== undefined) await this.#running;
      else if (this.#queue.length > 0) this.#flush();
      else return;
    }
  }

  #schedule(): void {
    if (this.#scheduled || this.#running !== undefined) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (this.#running === undefined) this.#flush();
    });
  }

  #flush(): void {
    const group = this.#queue.splice(0);
    if (group.length === 0) return;
    let outcomes: GroupOutcome[] | Promise<GroupOutcome[]>;
    try {
      outcomes = this.commit(group.map((waiting) => waiting.request));
    } catch (error) {
      this.#settle(group, undefined, error);
      return;
    }
    if (!(outcomes instanceof Promise)) {
      this.#settle(group, outcomes);
      return;
    }
    this.#running = outcomes
      .then(
        (settled) => this.#settle(group, settled),
        (error: unknown) => this.#settle(group, undefined, error),
      )
      .finally(() => {
        this.#running = undefined;
        if (this.#queue.length > 0) this.#schedule();
      });
  }

  #settle(group: readonly Waiting[], outcomes: readonly GroupOutcome[] | undefined, failure?: unknown): void {
    const deferred: Waiting[] = [];
    group.forEach((waiting, i) => {
      const outcome = outcomes?.[i];
      if (outcome === undefined) waiting.reject(failure ?? new Error('a group commit gave no outcome for an append'));
      else if ('results' in outcome) waiting.resolve(outcome.results);
      else if ('error' in outcome) waiting.reject(outcome.error);
      else deferred.push(waiting);
    });
    if (deferred.length > 0) {
      // First in the next group, in their order: nothing queued after them overtakes them.
      this.#queue.unshift(...deferred);
      this.#schedule();
    }
  }
}
