import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  EMPTY_STREAM_HEAD,
  chainEvents,
  type NewEvent,
} from '../event-envelope.js';
import { describeEventStoreContract } from '../event-store.contract.js';
import type { EventStore } from '../event-store.port.js';
import { LEDGER_STREAM_PREFIXES } from '../ledger-streams.js';
import {
  EventStoreDbEventStore,
  ForeignEventError,
  compareEventStoreDbPositions,
  decodeEventStoreDbPosition,
  encodeEventStoreDbPosition,
  fromEventStoreDbRecord,
  toEventStoreDbEvent,
} from './eventstoredb-event-store.js';

const connectionString = process.env.EVENTSTORE_CONNECTION_STRING;

if (!connectionString) {
  console.warn(
    'skipped: no EventStoreDB (set EVENTSTORE_CONNECTION_STRING, e.g. esdb://localhost:2113?tls=false, to run the store contract against a server)',
  );
}

describe.skipIf(!connectionString)(
  'EventStoreDB (server at EVENTSTORE_CONNECTION_STRING)',
  () => {
    describeEventStoreContract('eventstoredb', async () => {
      if (!connectionString)
        throw new Error('EVENTSTORE_CONNECTION_STRING is not set');
      // Contract streams are `contract-<uuid>`; the ledger's own prefixes stay
      // in so the suite sees the global order as the service would.
      const connect = (): EventStore =>
        new EventStoreDbEventStore(connectionString, {
          streamPrefixes: [...LEDGER_STREAM_PREFIXES, 'contract-'],
        });
      let store = connect();
      const others: EventStore[] = [];
      return {
        get store() {
          return store;
        },
        async openSecondWriter() {
          const other = connect();
          others.push(other);
          return other;
        },
        async reopen() {
          await store.close();
          store = connect();
          return store;
        },
        atomicAppendMany: false,
        // The server outlives the run; the contract's streams stay behind
        // under fresh names and the suite never reads from before its start.
        async cleanup() {
          await Promise.all([store, ...others].map((s) => s.close()));
        },
      };
    });
  },
);

// What follows needs no server: the adapter's own encodings.
describe('EventStoreDB positions', () => {
  it('are the decimal commit position and order as numbers, not as strings', () => {
    expect(
      encodeEventStoreDbPosition({ commit: 1_234n, prepare: 1_234n }),
    ).toBe('1234');
    expect(compareEventStoreDbPositions('9', '10')).toBeLessThan(0);
    expect(compareEventStoreDbPositions('10', '9')).toBeGreaterThan(0);
    expect(compareEventStoreDbPositions('42', '42')).toBe(0);
  });

  it('stay exact beyond 2^53', () => {
    const big = 2n ** 60n + 1n;
    const position = encodeEventStoreDbPosition({ commit: big, prepare: big });
    expect(decodeEventStoreDbPosition(position)).toBe(big);
    expect(
      compareEventStoreDbPositions(position, String(2n ** 60n)),
    ).toBeGreaterThan(0);
  });

  it.each(['', '-1', '01', '1.5', '1e3', ' 1', 'abc', '12/12'])(
    'reject %j',
    (text) => {
      expect(() => decodeEventStoreDbPosition(text)).toThrow(RangeError);
    },
  );
});

describe('EventStoreDB envelope', () => {
  const newEvent = (
    metadata: Partial<NewEvent['metadata']> = {},
  ): NewEvent => ({
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
  ) => ({
    streamId,
    id: eventData.id,
    revision,
    type: eventData.type,
    isJson: eventData.contentType === 'application/json',
    data: JSON.parse(JSON.stringify(eventData.data)) as unknown,
    metadata: JSON.parse(JSON.stringify(eventData.metadata)) as unknown,
    position: { commit: 100n + revision, prepare: 100n + revision },
  });

  it('maps an event to ESDB and back to exactly the chained event (revision r is version r + 1)', () => {
    const chained = chainEvents('site-s1', EMPTY_STREAM_HEAD, [
      newEvent(),
      newEvent({ reason: 'why' }),
    ]);
    const read = chained.map((event, index) =>
      fromEventStoreDbRecord(
        asRead(toEventStoreDbEvent(event), 'site-s1', BigInt(index)),
      ),
    );
    expect(
      read.map(({ position: _position, ...event }) => event),
    ).toStrictEqual(chained);
    expect(read.map((event) => [event.version, event.position])).toEqual([
      [1, '100'],
      [2, '101'],
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
    const foreign = {
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
  });
});
