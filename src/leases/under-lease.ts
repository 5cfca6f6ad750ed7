import type { Leases } from './leases.port.js';

export type LeasedOutcome<T> = { ran: true; value: T } | { ran: false };

export interface UnderLeaseOptions {
  ttlMs: number;
  /** Told when a renewal failed: the work is asked to stop (its signal aborts). */
  warn(message: string): void;
}

/**
 * Runs `work` while this instance holds the lease `name`, renewing it every
 * third of its ttl; `ran: false` if another instance holds it. If a renewal
 * fails (lost to another instance, or the store unreachable), `lost` aborts:
 * the work should stop before its next commit. It would be safe to go on
 * (commits check versions), but another instance may be doing the same.
 */
export async function underLease<T>(
  leases: Leases,
  name: string,
  options: UnderLeaseOptions,
  work: (lost: AbortSignal) => Promise<T>,
): Promise<LeasedOutcome<T>> {
  if (!(await leases.acquire(name, options.ttlMs))) return { ran: false };
  const lost = new AbortController();
  let renewing: Promise<void> | undefined;
  const renew = (): void => {
    renewing = leases.acquire(name, options.ttlMs).then(
      (held) => {
        if (held || lost.signal.aborted) return;
        options.warn(`lease ${name} was taken by another instance; stopping its work here`);
        lost.abort();
      },
      (error: unknown) => {
        options.warn(`lease ${name} could not be renewed (${error instanceof Error ? error.message : String(error)})`);
        lost.abort();
      },
    );
  };
  const renewal = setInterval(renew, Math.max(1, Math.floor(options.ttlMs / 3)));
  renewal.unref();
  try {
    return { ran: true, value: await work(lost.signal) };
  } finally {
    clearInterval(renewal);
    // A renewal still under way would take the lease again after the release.
    await renewing;
    // Hand the work over at once instead of after the ttl; if this fails, the lease lapses.
    await leases.release(name).catch(() => undefined);
  }
}
