import {
  NO_STREAM,
  jsonEvent,
  type AppendExpectedRevision,
  type CurrentRevision,
  type EventData,
  type Position,
} from '@eventstore/db-client';
import type { JsonObject } from '../../common/json.js';
import type { ChainedEvent, EventMetadata, StoredEvent } from '../event-envelope.js';
import { NO_LOG_POSITION, encodeEventStoreDbPosition } from './eventstoredb.positions.js';

/**
 * Ledger events ⇄ EventStoreDB records. EventStoreDB keeps id, type, data
 * and its own revision; the rest of our envelope rides in the event's
 * metadata as `{ ...metadata, prevHash, hash }`, so a read gives back exactly
 * the `ChainedEvent` that was written and an operator browsing the stream in
 * the EventStoreDB UI sees actor, time and chain links in plain JSON.
 *
 * Versions: ESDB revision r is our version r + 1; expecting version 0 is
 * `NO_STREAM`, version n is revision n - 1.
 */

export function toEventStoreDbEvent(event: ChainedEvent): EventData {
  return jsonEvent({
    id: event.eventId,
    type: event.type,
    data: event.data,
    metadata: { ...event.metadata, prevHash: event.prevHash, hash: event.hash },
  });
}

/** The fields of an EventStoreDB recorded event that this adapter reads. */
export interface EventStoreDbRecord {
  streamId: string;
  id: string;
  revision: bigint;
  type: string;
  isJson: boolean;
  data: unknown;
  metadata: unknown;
  /** Present on `$all` reads and, from server 22.6 on, on stream reads. */
  position?: Position;
}

/** Thrown when a ledger stream holds something this adapter did not write. */
export class ForeignEventError extends Error {
  constructor(record: EventStoreDbRecord, problem: string) {
    super(`${record.streamId}@${record.revision} (${record.id}) is not a ledger event: ${problem}`);
    this.name = 'ForeignEventError';
  }
}

/**
 * Whether the server wrote this record itself: its type starts with `$`.
 * In a ledger stream that means an operator acted in EventStoreDB — a
 * tombstone writes `$streamDeleted` into the stream — and it is no ledger
 * event. Readers skip it (and say so) rather than fail on it for good.
 */
export function isSystemRecord(record: EventStoreDbRecord): boolean {
  return record.type.startsWith('$');
}

/**
 * The ledger event a record holds, or undefined for a system record, which
 * is reported through `skipped` (one line naming stream, revision and type).
 * @throws ForeignEventError for any other record this adapter did not write.
 */
export function decodeLedgerRecord(
  record: EventStoreDbRecord,
  skipped: (message: string) => void,
): StoredEvent | undefined {
  if (isSystemRecord(record)) {
    skipped(
      `EventStoreDB: skipped system record ${record.type} in ledger stream ${record.streamId} (revision ${record.revision}); an operator acted on the stream in EventStoreDB`,
    );
    return undefined;
  }
  return fromEventStoreDbRecord(record);
}

/** Rebuilds our stored event from what the server returned; the inverse of `toEventStoreDbEvent`. */
export function fromEventStoreDbRecord(record: EventStoreDbRecord): StoredEvent {
  if (!record.isJson || !isJsonObject(record.data)) {
    throw new ForeignEventError(record, 'data is not a JSON object');
  }
  if (!isJsonObject(record.metadata)) {
    throw new ForeignEventError(record, 'metadata is not a JSON object');
  }
  const { prevHash, hash, ...metadata } = record.metadata;
  if (typeof prevHash !== 'string' || typeof hash !== 'string') {
    throw new ForeignEventError(record, 'metadata lacks prevHash/hash');
  }
  if (!isEventMetadata(metadata)) {
    throw new ForeignEventError(record, 'metadata lacks actor/occurredAt/correlationId/causationId');
  }
  const position = record.position;
  if (position === undefined || position.commit === NO_LOG_POSITION) {
    throw new ForeignEventError(
      record,
      'the server sent no log position (stream reads carry one from EventStoreDB 22.6 on)',
    );
  }
  return {
    streamId: record.streamId,
    version: versionAfter(record.revision),
    eventId: record.id,
    type: record.type,
    data: record.data,
    metadata,
    prevHash,
    hash,
    position: encodeEventStoreDbPosition(position),
  };
}

/** Our version after ESDB revision `revision` (revisions count from 0, versions from 1). */
export const versionAfter = (revision: bigint): number => Number(revision) + 1;

/** The ESDB expectation for "the stream is at our version `version`". */
export const expectedRevisionFor = (version: number): AppendExpectedRevision =>
  version === 0 ? NO_STREAM : BigInt(version - 1);

/** Our version for ESDB's "current revision", if an error carried one. */
export function versionOf(current: CurrentRevision | undefined): number | undefined {
  if (current === NO_STREAM) return 0;
  return typeof current === 'bigint' ? versionAfter(current) : undefined;
}

/**
 * A plain object. Only applied to values the client produced with
 * `JSON.parse`, so every member is already a JSON value.
 */
function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function isEventMetadata(value: Record<string, unknown>): value is EventMetadata & Record<string, unknown> {
  const optionalString = (key: string) => value[key] === undefined || typeof value[key] === 'string';
  return (
    typeof value.actor === 'string' &&
    typeof value.occurredAt === 'string' &&
    typeof value.correlationId === 'string' &&
    (value.causationId === null || typeof value.causationId === 'string') &&
    ['operationId', 'reason', 'ticket', 'compensates'].every(optionalString)
  );
}
