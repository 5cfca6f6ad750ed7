import type { Leases } from './leases.port.js';

/**
 * Leases for an engine that runs one instance: SQLite allows one process
 * per data folder (enforced at start), the memory store lives in one
 * process, and several instances on EventStoreDB are not supported for
 * background work (its adapter has no lease). This instance always holds them.
 */
export class LocalLeases implements Leases {
  async acquire(): Promise<boolean> {
    return true;
  }

  async release(): Promise<void> {}
}
