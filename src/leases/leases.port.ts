/**
 * Who runs background work that should run on one instance at a time: an
 * operation's waves, the retention sweeper (SPEC §9). A lease is an
 * efficiency, never a safety: two holders at once (a paused process that
 * wakes after its lease lapsed) cost a lost race, because every wave and
 * purge commits only at the expected versions of its streams.
 */
export interface Leases {
  /**
   * Takes the lease `name` for this instance for `ttlMs`, or extends it if
   * this instance already holds it.
   * @returns false while another instance holds it.
   * @throws EventStoreUnavailableError when the store cannot be asked.
   */
  acquire(name: string, ttlMs: number): Promise<boolean>;

  /** Gives the lease up early, if this instance holds it. Best effort: an unreleased lease lapses after its ttl. */
  release(name: string): Promise<void>;
}

/** Nest injection token for the configured `Leases`. */
export const LEASES = Symbol('LEASES');
