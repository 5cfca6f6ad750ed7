import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import type { JsonObject } from '../common/json.js';
import type { Recorded } from '../common/recorded.js';
import { MemoryKeyStore } from '../crypto/memory-key-store.js';
import type { NewEvent } from '../event-store/event-envelope.js';
import { siteStreamId } from '../event-store/ledger-streams.js';
import { MemoryEventStore } from '../event-store/memory/memory-event-store.js';
import { PersonalDataCodec, REDACTED_CONTACT } from '../ledger/personal-data.codec.js';
import type { RequestContext } from '../ledger/request-context.js';
import { evolveSite } from './domain/site.decider.js';
import type { SiteEvent } from './domain/site.events.js';
import { initialSiteState, type SiteState } from './domain/site.state.js';
import { checkpointBytes, SiteFoldCache } from './site-fold-cache.js';
import { MiB } from '../common/heap-size.js';
import { SiteStreams } from './site-streams.js';

const context: RequestContext = {
  principal: { id: 'tester', roles: new Set(['operator']) },
  correlationId: 'c',
  causationId: null,
};
const SITE = 's1';
const START = Date.parse('2026-01-01T00:00:00.000Z');
const at = (minute: number): string => new Date(START + minute * 60_000).toISOString();
const contact = (n: number) => ({ name: `Owner ${n}`, email: `owner${n}@example.com`, role: 'owner' });

/** The fold as it was first written: every event's data opened, then folded. The definition the cache must keep. */
async function replay(
  store: MemoryEventStore,
  codec: PersonalDataCodec,
  upTo: { toVersion?: number; toTime?: string } = {},
) {
  const stored = await store.readStream(siteStreamId(SITE), upTo);
  const reveal = await codec.revealer(SITE);
  let state: SiteState = initialSiteState;
  for (const event of stored) {
    const recorded = {
      type: event.type,
      data: reveal(event.data),
      eventId: event.eventId,
      version: event.version,
      occurredAt: event.metadata.occurredAt,
    } as unknown as Recorded<SiteEvent>;
    state = evolveSite(state, recorded);
  }
  return { state, version: stored.at(-1)?.version ?? 0, lastOccurredAt: stored.at(-1)?.metadata.occurredAt };
}

/** Registration, then suspensions, product and contact changes: `length` events, one a minute. */
function history(length: number): SiteEvent[] {
  const events: SiteEvent[] = [
    {
      type: 'SiteRegistered',
      data: {
        siteId: SITE,
        customerId: 'c1',
        name: 'Shop',
        region: null,
        internal: false,
        products: [],
        contacts: [contact(0)],
        deletionProtection: false,
        retention: 'P30D',
      },
    },
  ];
  for (let n = 1; events.length < length; n += 1) {
    if (n % 5 === 0)
      events.push({ type: 'SiteContactsUpdated', data: { siteId: SITE, contacts: [contact(n), contact(n + 1000)] } });
    else if (n % 3 === 0)
      events.push({ type: 'SiteProductAdded', data: { siteId: SITE, installationId: `i${n}`, productKey: 'p' } });
    else events.push({ type: n % 2 === 0 ? 'SiteSuspended' : 'SiteReactivated', data: { siteId: SITE } });
  }
  return events;
}

describe('SiteStreams.load with the fold cache', () => {
  let store: MemoryEventStore;
  let keys: MemoryKeyStore;
  let codec: PersonalDataCodec;
  let cache: SiteFoldCache;
  let streams: SiteStreams;

  async function write(events: readonly SiteEvent[], firstMinute = 0): Promise<void> {
    let version = await store.streamVersion(siteStreamId(SITE));
    for (const [i, event] of events.entries()) {
      const prepared = await streams.prepare(SITE, [event], context, at(firstMinute + i));
      await store.append(siteStreamId(SITE), version, prepared);
      version += 1;
    }
  }

  beforeEach(() => {
    store = new MemoryEventStore();
    keys = new MemoryKeyStore();
    codec = new PersonalDataCodec(keys);
    cache = new SiteFoldCache({ interval: 4, maxBytes: 10 * MiB });
    streams = new SiteStreams(store, codec, cache);
  });

  it('answers every version and every moment exactly as a full replay does, before and after checkpoints exist', async () => {
    await write(history(30));
    // Late reads first: they leave checkpoints that earlier reads must not misuse.
    for (const version of [30, 17, 16, 15, 4, 3, 1, 0, 31]) {
      expect(await streams.load(SITE, { toVersion: version })).toEqual(
        await replay(store, codec, { toVersion: version }),
      );
    }
    expect(cache.size).toBeGreaterThan(1);
    for (const minute of [29.5, 12, 11.99, 8, 0, -1, 45]) {
      const toTime = at(minute);
      expect(await streams.load(SITE, { toTime })).toEqual(await replay(store, codec, { toTime }));
    }
    expect(await streams.load(SITE)).toEqual(await replay(store, codec));
  });

  it('reads as of a time without visiting the later events it knows happened after it, and still finds backdated new ones', async () => {
    await write(history(40));
    await streams.load(SITE); // checkpoints every 4 versions up to 40, all in time order
    const asked: { afterVersion?: number; toVersion?: number }[] = [];
    const readStream = store.readStream.bind(store);
    store.readStream = async (streamId, options) => {
      asked.push({ afterVersion: options?.afterVersion, toVersion: options?.toVersion });
      return readStream(streamId, options);
    };
    expect(await streams.load(SITE, { toTime: at(9.5) })).toEqual(await replay(store, codec, { toTime: at(9.5) }));
    // From the checkpoint at 8 up to 11 (event 12, at minute 11, is past it), then whatever came after 40.
    expect(asked.slice(0, 2)).toEqual([
      { afterVersion: 8, toVersion: 11 },
      { afterVersion: 40, toVersion: undefined },
    ]);
    // Another writer's clock: two events after version 40 stamped at minute 3.
    const backdated: NewEvent[] = ['SiteSuspended', 'SiteReactivated'].map((type) => ({
      eventId: randomUUID(),
      type,
      data: { siteId: SITE },
      metadata: { actor: 'x', occurredAt: at(3), correlationId: 'c', causationId: null },
    }));
    await store.append(siteStreamId(SITE), 40, backdated);
    for (const minute of [3, 9.5, 39, 50]) {
      const toTime = at(minute);
      expect(await streams.load(SITE, { toTime })).toEqual(await replay(store, codec, { toTime }));
    }
    await streams.load(SITE); // the newest checkpoint (42) is out of time order: no bound any more
    expect(await streams.load(SITE, { toTime: at(9.5) })).toEqual(await replay(store, codec, { toTime: at(9.5) }));
  });

  it('reads new events on top of a checkpoint', async () => {
    await write(history(10));
    await streams.load(SITE);
    await write([{ type: 'SiteContactsUpdated', data: { siteId: SITE, contacts: [contact(77)] } }], 10);
    const loaded = await streams.load(SITE);
    expect(loaded).toEqual(await replay(store, codec));
    expect(loaded.version).toBe(11);
    expect(loaded.state.status === 'unregistered' ? [] : loaded.state.contacts).toEqual([contact(77)]);
  });

  it('starts a read as of a time only from a checkpoint whose events all happened by then, even when times go backwards', async () => {
    await write(history(7)); // minutes 0..6
    await write(
      [{ type: 'SiteProductAdded', data: { siteId: SITE, installationId: 'at-minute-7', productKey: 'p' } }],
      7,
    );
    // Three events stamped earlier than the ones before them (another writer's clock).
    const late: NewEvent[] = ['SiteSuspended', 'SiteReactivated', 'SiteSuspended'].map((type, i) => ({
      eventId: randomUUID(),
      type,
      data: { siteId: SITE },
      metadata: { actor: 'x', occurredAt: at(2.5 + i), correlationId: 'c', causationId: null },
    }));
    await store.append(siteStreamId(SITE), 8, late);
    // As of minute 6 skips version 8 (minute 7) but reads 9..11: that fold is no prefix and must not be kept.
    expect(await streams.load(SITE, { toTime: at(6) })).toEqual(await replay(store, codec, { toTime: at(6) }));
    expect(await streams.load(SITE)).toEqual(await replay(store, codec));
    expect(await streams.load(SITE, { toVersion: 11 })).toEqual(await replay(store, codec, { toVersion: 11 }));
    for (const minute of [2, 2.5, 3.5, 4, 6, 7, 100]) {
      const toTime = at(minute);
      expect(await streams.load(SITE, { toTime })).toEqual(await replay(store, codec, { toTime }));
    }
  });

  it('keeps contacts sealed in the cache, and reads them redacted at every moment once the key is destroyed', async () => {
    await write(history(12));
    const before = await streams.load(SITE);
    const asOfEarlier = await streams.load(SITE, { toTime: at(6) });
    expect(JSON.stringify(before.state)).toContain('owner10@example.com');
    const cached = cache.best(SITE, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    expect(cached?.version).toBe(12);
    expect(JSON.stringify(cached)).not.toContain('example.com');
    expect(JSON.stringify(cached)).toContain('"sealed":"v1.');
    expect(JSON.stringify(asOfEarlier.state)).toContain('owner5@example.com');

    await keys.destroyKey(SITE); // what a purge does
    for (const read of [
      streams.load(SITE),
      streams.load(SITE, { toTime: at(6) }),
      streams.load(SITE, { toVersion: 1 }),
    ]) {
      const { state } = await read;
      expect(state.status).not.toBe('unregistered');
      if (state.status === 'unregistered') continue;
      expect(state.contacts.length).toBeGreaterThan(0);
      expect(state.contacts.every((each) => JSON.stringify(each) === JSON.stringify(REDACTED_CONTACT))).toBe(true);
    }
    expect(await streams.load(SITE)).toEqual(await replay(store, codec));
  });

  it('withholds contacts from bulk reads (plans, waves, rollbacks need no personal data)', async () => {
    await write(history(6));
    const [many] = await streams.loadMany([SITE]);
    const one = await streams.load(SITE);
    expect(many!.version).toBe(one.version);
    if (many!.state.status === 'unregistered' || one.state.status === 'unregistered') throw new Error('registered');
    expect(many!.state.contacts).toEqual([REDACTED_CONTACT, REDACTED_CONTACT]);
    expect(one.state.contacts).toEqual([contact(5), contact(1005)]);
    expect({ ...many!.state, contacts: [] }).toEqual({ ...one.state, contacts: [] });
  });

  it('looks no key up for a site without contacts', async () => {
    const [registered] = history(1);
    if (registered?.type !== 'SiteRegistered') throw new Error('history starts with a registration');
    await write([{ ...registered, data: { ...registered.data, contacts: [] } }]);
    let lookups = 0;
    const counting = new SiteStreams(
      store,
      new PersonalDataCodec({
        ...keys,
        findKey: async (siteId: string) => {
          lookups += 1;
          return keys.findKey(siteId);
        },
        obtainKey: (siteId: string) => keys.obtainKey(siteId),
        destroyKey: (siteId: string) => keys.destroyKey(siteId),
        close: () => keys.close(),
      }),
      cache,
    );
    expect((await counting.load(SITE)).state.status).toBe('active');
    expect(lookups).toBe(0);
  });
});

describe('SiteFoldCache', () => {
  const checkpoint = (version: number, data: JsonObject = {}) => ({
    version,
    state: { status: 'active', ...data } as unknown as SiteState,
    lastOccurredAt: at(version),
    hash: `hash-${version}`,
    maxOccurredAtMs: START + version * 60_000,
    inTimeOrder: true,
  });

  it('keeps one checkpoint per interval and the newest, and picks the newest that fits', () => {
    const cache = new SiteFoldCache({ interval: 4, maxBytes: 10 * MiB });
    for (const version of [1, 3, 4, 6, 8, 9, 2]) cache.put('a', checkpoint(version));
    expect(cache.size).toBe(3); // 4, 8 and 9
    expect(cache.best('a', 100, Number.MAX_SAFE_INTEGER)?.version).toBe(9);
    expect(cache.best('a', 7, Number.MAX_SAFE_INTEGER)?.version).toBe(4);
    expect(cache.best('a', 100, START + 5 * 60_000)?.version).toBe(4);
    expect(cache.best('a', 3, Number.MAX_SAFE_INTEGER)).toBeUndefined();
    expect(cache.best('b', 100, Number.MAX_SAFE_INTEGER)).toBeUndefined();
  });

  it('bounds a read as of a time only when the cached events happened in time order', () => {
    const cache = new SiteFoldCache({ interval: 4, maxBytes: 10 * MiB });
    for (const version of [4, 8, 12, 14]) cache.put('a', checkpoint(version));
    // Checkpoint 12 is the first past minute 8.5: events 12..14 happened after it and need no reading.
    expect(cache.timeBound('a', START + 8.5 * 60_000)).toEqual({
      skipFrom: 12,
      newest: { version: 14, hash: 'hash-14' },
    });
    expect(cache.timeBound('a', START + 14 * 60_000)).toBeUndefined(); // nothing cached lies after the moment
    cache.put('b', checkpoint(4));
    cache.put('b', { ...checkpoint(8), inTimeOrder: false });
    expect(cache.timeBound('b', START)).toBeUndefined();
  });

  it('evicts the least recently used streams beyond its limit in bytes', () => {
    const cache = new SiteFoldCache({ interval: 100, maxBytes: 3 * checkpointBytes(checkpoint(1)) });
    cache.put('a', checkpoint(1));
    cache.put('b', checkpoint(1));
    cache.put('c', checkpoint(1));
    cache.best('a', 10, Number.MAX_SAFE_INTEGER); // a is used again: b is now the oldest
    cache.put('d', checkpoint(1));
    expect(cache.size).toBe(3);
    expect(cache.bytes).toBe(3 * checkpointBytes(checkpoint(1)));
    expect(cache.best('b', 10, Number.MAX_SAFE_INTEGER)).toBeUndefined();
    expect(cache.best('a', 10, Number.MAX_SAFE_INTEGER)?.version).toBe(1);
  });

  it('freezes what it keeps, so no caller can change a cached answer', () => {
    const cache = new SiteFoldCache();
    const kept = checkpoint(1, { products: [{ installationId: 'i', productKey: 'p' }] });
    cache.put('a', kept);
    const state = cache.best('a', 10, Number.MAX_SAFE_INTEGER)!.state as unknown as { products: unknown[] };
    expect(() => state.products.push('x')).toThrow(TypeError);
  });
});
