import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { NewEvent } from '../event-envelope.js';
import { DuplicateEventIdError, EventStoreUnavailableError } from '../event-store.errors.js';
import { describeEventStoreContract } from '../event-store.contract.js';
import { LEDGER_STREAM_PREFIXES } from '../ledger-streams.js';
import { MemoryEventStore } from './memory-event-store.js';

const CONTRACT_PREFIXES = [...LEDGER_STREAM_PREFIXES, 'contract-'];

describeEventStoreContract('memory', async () => {
  const store = new MemoryEventStore({ streamPrefixes: CONTRACT_PREFIXES });
  return {
    store,
    // Memory has no second connection: its data is this one object. Two
    // writers sharing it are two callers of the same instance, whose async
    // calls interleave — which is what the race test then exercises.
    openSecondWriter: async () => store,
    cleanup: () => store.close(),
  };
});

function newEvent(eventId: string = randomUUID()): NewEvent {
  return {
    eventId,
    type: 'Tested',
    data: { list: [1] },
    metadata: {
      actor: 'test',
      occurredAt: new Date().toISOString(),
      correlationId: 'c',
      causationId: null,
    },
  };
}

describe('MemoryEventStore', () => {
  it('shows only the configured stream prefixes in the global order', async () => {
    const store = new MemoryEventStore();
    expect(await store.lastPosition()).toBeUndefined();
    const site = await store.append('site-a', 0, [newEvent()]);
    await store.append('sitekey-a', 0, [newEvent()]);

    expect((await store.readAll({ limit: 10 })).map((e) => e.streamId)).toEqual(['site-a']);
    expect(await store.lastPosition()).toBe(site.position);
    expect(await store.readStream('sitekey-a')).toHaveLength(1);
  });

  it('rejects an event id that is already stored, writing nothing', async () => {
    const store = new MemoryEventStore();
    const event = newEvent();
    await store.append('site-a', 0, [event]);
    await expect(store.append('site-b', 0, [newEvent(event.eventId)])).rejects.toBeInstanceOf(DuplicateEventIdError);
    const twice = newEvent();
    await expect(store.append('site-c', 0, [twice, twice])).rejects.toBeInstanceOf(DuplicateEventIdError);
    expect(await store.readAll({ limit: 10 })).toHaveLength(1);
  });

  it('keeps its own copies: mutating what was passed or read changes nothing', async () => {
    const store = new MemoryEventStore();
    const event = newEvent();
    await store.append('site-a', 0, [event]);
    event.data['list'] = ['changed'];
    const [read] = await store.readStream('site-a');
    expect(read?.data).toEqual({ list: [1] });
    if (read !== undefined) read.data['list'] = ['changed again'];
    expect((await store.readStream('site-a'))[0]?.data).toEqual({ list: [1] });
  });

  it('orders positions as numbers and rejects foreign ones', () => {
    const store = new MemoryEventStore();
    expect(store.comparePositions('9', '10')).toBeLessThan(0);
    expect(store.comparePositions('10', '9')).toBeGreaterThan(0);
    expect(() => store.comparePositions('1', '1.5')).toThrow(RangeError);
  });

  it('fails clearly once closed, and ends running subscriptions', async () => {
    const store = new MemoryEventStore();
    const iterator = store.subscribeAll()[Symbol.asyncIterator]();
    const pending = iterator.next();
    await store.close();
    expect(await pending).toEqual({ done: true, value: undefined });
    await expect(store.append('site-a', 0, [newEvent()])).rejects.toBeInstanceOf(EventStoreUnavailableError);
    await expect(store.ping()).rejects.toBeInstanceOf(EventStoreUnavailableError);
  });
});
