/**
 * Caches are bounded in bytes, not entries: an entry count bounds nothing
 * when one site's state is 400 bytes and another's 40 kB, and a service
 * under load once grew from 151 MB to 505 MB resident through caches that
 * were "bounded".
 *
 * The heap an object parsed from JSON takes, estimated from that JSON's
 * length: measured at 1.4 bytes per character for site states (100,000
 * states of 415 characters took 589 bytes each), doubled to cover the
 * cache's own entry and key, plus a fixed overhead per entry.
 */
export function heapBytesOfJson(jsonLength: number): number {
  return 2 * jsonLength + 256;
}

export const MiB = 1024 * 1024;
