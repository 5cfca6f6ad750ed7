import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Where the commands of one request left the ledger, so that the HTTP
 * layer can answer it as `Ledger-Position` (SPEC §9) without every handler
 * and answer type carrying it. The command path notes each position it
 * committed; whoever started the tracking reads the last one.
 */
export interface RecordedPosition {
  /** The global position of the last event the request's commands recorded; undefined if they recorded none. */
  position?: string;
}

const current = new AsyncLocalStorage<RecordedPosition>();

/** Runs `work` with a fresh record; everything `work` starts, however asynchronous, notes into it. */
export function trackRecordedPosition<T>(record: RecordedPosition, work: () => T): T {
  return current.run(record, work);
}

/** Called by the command path after each commit; a no-op outside a tracked request (waves, the sweeper). */
export function noteRecordedPosition(position: string): void {
  const record = current.getStore();
  if (record !== undefined) record.position = position;
}
