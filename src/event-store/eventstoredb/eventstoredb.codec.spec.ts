import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EMPTY_STREAM_HEAD, chainEvents, type NewEvent } from '../event-envelope.js';
import {
  ForeignEventError,
  decodeLedgerRecord,
  fromEventStoreDbRecord,
  toEventStoreDbEvent,
  type EventStoreDbRecord,
} from './eventstoredb.codec.js';
import { encodeEventStoreDbPosition } from './eventstoredb.positions.js';

const newEvent = (metadata: Partial<NewEvent['metadata']> = {}): NewEvent => ({
  eventId: randomUUID(),
  type: 'SiteRegistered',
  data: { siteId: 's1', nested: { list: [1, 'two', null] } },
  metadata: {
    actor: 'operator',
    occurredAt: '2026-01-01T00:00:00.000Z',
    correlationId: randomUUID(),
    causationId: null,
    ...metadata,
  },
});

/** What a read hands back: the bytes the client wrote, parsed again. */
const asRead = (
  eventData: ReturnType<typeof toEventStoreDbEvent>,
  streamId: string,
  revision: bigint,
): EventStoreDbRecord => ({
  streamId,
  id: eventData.id,
  revision,
  type: eventData.type,
  isJson: eventData.contentType === 'application/json',
  data: JSON.parse(JSON.stringify(eventData.data)) as unknown,
  metadata: JSON.parse(JSON.stringify(eventData.metadata)) as unknown,
  position: { commit: 100n + revision, prepare: 100n + revision },
});

/**
 * The record a tombstone leaves in the stream, in the shape the client's
 * `convertGrpcRecord` gives it: a binary (non-JSON) `$streamDeleted` event at
 * revision 2^63 - 1, with empty data and no custom metadata.
 */
const tombstone: EventStoreDbRecord = {
  streamId: 'site-s1',
  id: randomUUID(),
  revision: 2n ** 63n - 1n,
  type: '$streamDeleted',
  isJson: false,
  data: new Uint8Array(0),
  metadata: undefined,
  position: { commit: 5_000n, prepare: 5_000n },
};

describe('EventStoreDB codec', () => {
  it('maps an event to ESDB and back to exactly the chained event (revision r is version r + 1)', () => {
    const chained = chainEvents('site-s1', EMPTY_STREAM_HEAD, [newEvent(), newEvent({ reason: 'why' })]);
    const read = chained.map((event, index) =>
      fromEventStoreDbRecord(asRead(toEventStoreDbEvent(event), 'site-s1', BigInt(index))),
    );
    expect(read.map(({ position: _position, ...event }) => event)).toStrictEqual(chained);
    expect(read.map((event) => [event.version, event.position])).toEqual([
      [1, encodeEventStoreDbPosition({ commit: 100n, prepare: 100n })],
      [2, encodeEventStoreDbPosition({ commit: 101n, prepare: 101n })],
    ]);
  });

  it('keeps the chain links in the ESDB metadata beside ours', () => {
    const [chained] = chainEvents('site-s1', EMPTY_STREAM_HEAD, [newEvent()]);
    if (!chained) throw new Error('no event');
    expect(toEventStoreDbEvent(chained).metadata).toEqual({
      ...chained.metadata,
      prevHash: chained.prevHash,
      hash: chained.hash,
    });
  });

  it('refuses an event it did not write', () => {
    const foreign: EventStoreDbRecord = {
      streamId: 'site-s1',
      id: randomUUID(),
      revision: 0n,
      type: 'Other',
      isJson: true,
      data: { a: 1 },
      metadata: { actor: 'x' },
      position: { commit: 1n, prepare: 1n },
    };
    expect(() => fromEventStoreDbRecord(foreign)).toThrow(ForeignEventError);
    expect(() => decodeLedgerRecord(foreign, () => undefined)).toThrow(ForeignEventError);
  });

  it('skips a $-typed record (a tombstone) and says so, instead of failing on it for good', () => {
    expect(() => fromEventStoreDbRecord(tombstone)).toThrow(ForeignEventError);
    const skipped: string[] = [];
    expect(decodeLedgerRecord(tombstone, (message) => skipped.push(message))).toBeUndefined();
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatch(/\$streamDeleted.*site-s1/);
  });

  it('decodes ledger records without a word', () => {
    const [chained] = chainEvents('site-s1', EMPTY_STREAM_HEAD, [newEvent()]);
    if (!chained) throw new Error('no event');
    const skipped: string[] = [];
    const record = asRead(toEventStoreDbEvent(chained), 'site-s1', 0n);
    expect(decodeLedgerRecord(record, (message) => skipped.push(message))).toMatchObject({
      eventId: chained.eventId,
      version: 1,
    });
    expect(skipped).toEqual([]);
  });
});
