import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { canonicalJson } from '../common/canonical-json.js';
import type { Recorded } from '../common/recorded.js';
import { MemoryKeyStore } from '../crypto/memory-key-store.js';
import { hashEvent, type StoredEvent } from '../event-store/event-envelope.js';
import type { EventStore } from '../event-store/event-store.port.js';
import { siteStreamId } from '../event-store/ledger-streams.js';
import { MemoryEventStore } from '../event-store/memory/memory-event-store.js';
import { PostgresEventStore } from '../event-store/postgres/postgres-event-store.js';
import { openPostgres } from '../event-store/postgres/postgres.connection.js';
import { SqliteEventStore } from '../event-store/sqlite/sqlite-event-store.js';
import { LedgerTamperedError } from '../ledger/ledger-tampered.js';
import { PersonalDataCodec, REDACTED_CONTACT } from '../ledger/personal-data.codec.js';
import type { RequestContext } from '../ledger/request-context.js';
import { SnapshotFile } from '../snapshots/snapshot-file.js';
import { createTestDatabase, postgresForTests, type TestDatabase } from '../testing/postgres.js';
import { evolveSite } from './domain/site.decider.js';
import type { SiteEvent } from './domain/site.events.js';
import { initialSiteState, type SiteState } from './domain/site.state.js';
import { SiteFoldCache, timeBoundOf, widestBound } from './site-fold-cache.js';
import { SITE_SNAPSHOT_KIND, SiteSnapshots } from './site-snapshots.js';
import { SiteStreams } from './site-streams.js';

const hasPostgres = await postgresForTests();

const context: RequestContext = {
  principal: { id: 'tester', roles: new Set(['operator']) },
  correlationId: 'c',
  causationId: null,
};
const START = Date.parse('2026-01-01T00:00:00.000Z');
const at = (minute: number): string => new Date(START + minute * 60_000).toISOString();
const contact = (n: number) => ({ name: `Owner ${n}`, email: `owner${n}@example.com`, role: 'owner' });

describe('the snapshot kind', () => {
  /**
   * Every state a fold passes through over a history of every event type. A
   * snapshot stores such a state; if evolveSite or SiteState changes what it
   * holds, old snapshots would start new folds from the wrong shape.
   */
  const FINGERPRINTS: Record<string, string> = {
    'site-state/1': '68b7aef88e65b761546ce0391a01951b540e76d57b5118dd0ff8545149cf456a',
  };

  it('names the fold it stores: change evolveSite or SiteState, and this fails until SITE_SNAPSHOT_KIND is bumped', () => {
    const events: SiteEvent[] = [
      {
        type: 'SiteRegistered',
        data: {
          siteId: 's',
          customerId: 'c',
          name: 'Shop',
          region: 'eu',
          internal: false,
          products: [{ installationId: 'i1', productKey: 'p' }],
          contacts: [{ sealed: 'v1.x' } as never],
          deletionProtection: false,
          retention: 'P30D',
        },
      },
      { type: 'SiteProductAdded', data: { siteId: 's', installationId: 'i2', productKey: 'q' } },
      { type: 'SiteProductRemoved', data: { siteId: 's', installationId: 'i1', productKey: 'p' } },
      { type: 'SiteContactsUpdated', data: { siteId: 's', contacts: [{ sealed: 'v1.y' } as never] } },
      { type: 'SiteSuspended', data: { siteId: 's' } },
      { type: 'SiteReactivated', data: { siteId: 's' } },
      { type: 'SiteDeletionProtectionEnabled', data: { siteId: 's' } },
      { type: 'SiteDeletionProtectionDisabled', data: { siteId: 's' } },
      {
        type: 'SiteLegalHoldPlaced',
        data: { siteId: 's', legalHold: { reason: 'r', reference: 'L-1', placedBy: 'admin', placedAt: at(8) } },
      },
      { type: 'SiteLegalHoldReleased', data: { siteId: 's', reference: 'L-1' } },
      {
        type: 'SiteSoftDeleted',
        data: { siteId: 's', operationId: 'op_1', previousStatus: 'active', purgeAfter: at(100) },
      },
      { type: 'SiteRestored', data: { siteId: 's', compensates: 'e11', status: 'active' } },
      {
        type: 'SiteSoftDeleted',
        data: { siteId: 's', operationId: 'op_2', previousStatus: 'active', purgeAfter: at(100) },
      },
      { type: 'SitePurged', data: { siteId: 's' } },
    ];
    let state: SiteState = initialSiteState;
    const states = events.map((event, i) => {
      const recorded = { ...event, eventId: `e${i + 1}`, version: i + 1, occurredAt: at(i) } as Recorded<SiteEvent>;
      return (state = evolveSite(state, recorded));
    });
    const fingerprint = createHash('sha256').update(canonicalJson(states)).digest('hex');
    expect(
      fingerprint,
      `the fold changed: bump SITE_SNAPSHOT_KIND (now ${SITE_SNAPSHOT_KIND}) and record ${fingerprint} for it here`,
    ).toBe(FINGERPRINTS[SITE_SNAPSHOT_KIND]);
  });
});

describe('timeBoundOf and widestBound', () => {
  const point = (version: number, minute: number, inTimeOrder = true) => ({
    version,
    hash: `h${version}`,
    maxOccurredAtMs: START + minute * 60_000,
    inTimeOrder,
  });

  it('skips from the first fold past the moment up to the newest, only when the newest is in time order and past it', () => {
    expect(timeBoundOf(point(40, 40), point(20, 20), START + 15 * 60_000)).toEqual({
      skipFrom: 20,
      newest: { version: 40, hash: 'h40' },
    });
    expect(timeBoundOf(point(40, 40, false), point(20, 20), START + 15 * 60_000)).toBeUndefined();
    expect(timeBoundOf(point(40, 40), point(20, 20), START + 40 * 60_000)).toBeUndefined();
    expect(timeBoundOf(point(40, 40), point(20, 20), START + 25 * 60_000)).toBeUndefined(); // 20 is not past 25
    expect(timeBoundOf(point(40, 40), undefined, START)).toBeUndefined();
    expect(timeBoundOf(undefined, point(20, 20), START)).toBeUndefined();
    expect(timeBoundOf(point(40, 40), point(50, 50), START)).toBeUndefined();
  });

  it('takes two bounds together: from the lower first fold past the moment up to the newer newest', () => {
    const cached = { skipFrom: 30, newest: { version: 90, hash: 'h90' } };
    const snapshotted = { skipFrom: 20, newest: { version: 60, hash: 'h60' } };
    expect(widestBound(cached, snapshotted)).toEqual({ skipFrom: 20, newest: { version: 90, hash: 'h90' } });
    expect(widestBound(snapshotted, cached)).toEqual({ skipFrom: 20, newest: { version: 90, hash: 'h90' } });
    expect(widestBound(undefined, snapshotted)).toBe(snapshotted);
    expect(widestBound(cached, undefined)).toBe(cached);
    expect(widestBound(undefined, undefined)).toBeUndefined();
  });
});

/** The fold as first written: every event's data opened, then folded. What every read must answer. */
async function replay(store: EventStore, codec: PersonalDataCodec, siteId: string, upTo = {}) {
  const stored = await store.readStream(siteStreamId(siteId), upTo);
  const reveal = await codec.revealer(siteId);
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

/** Registration, then suspensions, product and contact changes: `length` events. */
function history(siteId: string, length: number): SiteEvent[] {
  const events: SiteEvent[] = [
    {
      type: 'SiteRegistered',
      data: {
        siteId,
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
      events.push({ type: 'SiteContactsUpdated', data: { siteId, contacts: [contact(n), contact(n + 1000)] } });
    else if (n % 3 === 0)
      events.push({ type: 'SiteProductAdded', data: { siteId, installationId: `i${n}`, productKey: 'p' } });
    else events.push({ type: n % 2 === 0 ? 'SiteSuspended' : 'SiteReactivated', data: { siteId } });
  }
  return events;
}

/** The store as a forger left it: event `version` of every stream read back rewritten. */
function rewrittenAt(store: EventStore, version: number, rewrite: (event: StoredEvent) => StoredEvent): EventStore {
  return new Proxy(store, {
    get(target, property) {
      if (property === 'readStream') {
        return async (streamId: string, options?: Parameters<EventStore['readStream']>[1]) =>
          (await target.readStream(streamId, options)).map((event) =>
            event.version === version ? rewrite(event) : event,
          );
      }
      const value = Reflect.get(target, property) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

const INTERVAL = 10;
const LENGTH = 95; // snapshots at 10..90, five events after the newest

interface OpenedStore {
  store: EventStore;
  close(): Promise<void>;
}

/**
 * SiteStreams with a snapshot file over one store: what a service just
 * started (a new fold cache, the same file) reads and answers. Each test
 * writes its own site, so one database serves the whole file.
 */
function describeSnapshotReads(name: string, openStore: (dir: string) => Promise<OpenedStore>): void {
  describe(`site snapshots on ${name}`, () => {
    let dir: string;
    let opened: OpenedStore;
    let store: EventStore;
    let keys: MemoryKeyStore;
    let codec: PersonalDataCodec;
    let file: SnapshotFile;
    let snapshots: SiteSnapshots;
    let siteId: string;
    const warnings: string[] = [];

    /** A service just started: an empty fold cache, the instance's snapshot file. */
    const cold = (over: EventStore = store, with_: SiteSnapshots | undefined = snapshots) =>
      new SiteStreams(over, codec, new SiteFoldCache({ interval: INTERVAL, maxBytes: 1 << 24 }), with_);
    const kept = () => file.all(siteStreamId(siteId)).map((snapshot) => snapshot.version);

    beforeEach(async () => {
      dir = mkdtempSync(join(tmpdir(), 'tenant-ledger-site-snapshots-'));
      opened = await openStore(dir);
      store = opened.store;
      keys = new MemoryKeyStore();
      codec = new PersonalDataCodec(keys);
      file = new SnapshotFile(join(dir, 'snapshots.db'));
      warnings.length = 0;
      snapshots = new SiteSnapshots(file, randomBytes(32), INTERVAL, (message) => warnings.push(message));
      siteId = `s-${randomUUID().slice(0, 8)}`;
      const writer = new SiteStreams(store, codec);
      const events = history(siteId, LENGTH);
      for (let start = 0; start < events.length; start += 40) {
        const prepared = [];
        for (const [i, event] of events.slice(start, start + 40).entries())
          prepared.push(...(await writer.prepare(siteId, [event], context, at(start + i))));
        await store.append(siteStreamId(siteId), start, prepared);
      }
    });
    afterEach(async () => {
      file.close();
      await opened.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('a cold read of any version or moment answers what a full replay does, reading a bounded number of events', async () => {
      const withoutSnapshots = cold(store, undefined);
      await withoutSnapshots.load(siteId, { toVersion: 90 });
      expect(withoutSnapshots.counts.events).toBe(90); // what a cold read cost before

      await cold().load(siteId); // the first read folds everything once, leaving a snapshot every INTERVAL
      expect(kept()).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90]);

      for (let version = 0; version <= LENGTH + 1; version += 1) {
        const streams = cold();
        expect(await streams.load(siteId, { toVersion: version })).toEqual(
          await replay(store, codec, siteId, { toVersion: version }),
        );
        // One event to trust the snapshot, then fewer than INTERVAL after it.
        expect(streams.counts.events, `version ${version}`).toBeLessThanOrEqual(INTERVAL);
        expect(streams.counts.snapshots).toBe(version >= INTERVAL ? 1 : 0);
      }
      for (let minute = -1; minute <= LENGTH + 1; minute += 0.5) {
        const toTime = at(minute);
        const streams = cold();
        expect(await streams.load(siteId, { toTime })).toEqual(await replay(store, codec, siteId, { toTime }));
        // The snapshot's event, fewer than INTERVAL after it, the newest snapshot's event and what follows it.
        expect(streams.counts.events, `minute ${minute}`).toBeLessThanOrEqual(INTERVAL + 1 + (LENGTH % INTERVAL));
      }
      expect(snapshots.refused).toBe(0);
    });

    it('a cold read as of a time visits no event the snapshots show happened after it', async () => {
      await cold().load(siteId);
      const asked: { afterVersion?: number; toVersion?: number }[] = [];
      const watched = new Proxy(store, {
        get(target, property) {
          if (property === 'readStream')
            return (streamId: string, options?: Parameters<EventStore['readStream']>[1]) => {
              asked.push({ afterVersion: options?.afterVersion, toVersion: options?.toVersion });
              return target.readStream(streamId, options);
            };
          const value = Reflect.get(target, property) as unknown;
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      });
      const toTime = at(47.5); // event 48 (minute 47) is the last by then
      expect(await cold(watched).load(siteId, { toTime })).toEqual(await replay(store, codec, siteId, { toTime }));
      expect(asked).toEqual([
        { afterVersion: 39, toVersion: 40 }, // the snapshot at 40 still stands
        { afterVersion: 89, toVersion: 90 }, // and the newest, at 90
        { afterVersion: 40, toVersion: 49 }, // up to the first snapshot past the moment (50)
        { afterVersion: 90, toVersion: undefined }, // and whatever came after the newest
      ]);
    });

    it('a history page deep in the stream checks its chain from a snapshot, not from the first event', async () => {
      await cold().load(siteId);
      let read = 0;
      const counting = new Proxy(store, {
        get(target, property) {
          if (property === 'readStream')
            return async (streamId: string, options?: Parameters<EventStore['readStream']>[1]) => {
              const events = await target.readStream(streamId, options);
              read += events.length;
              return events;
            };
          const value = Reflect.get(target, property) as unknown;
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      });
      const page = await cold(counting).history(siteId, 85, 5);
      expect(page.map((event) => event.version)).toEqual([86, 87, 88, 89, 90]);
      expect(read).toBeLessThanOrEqual(INTERVAL + 1);
    });

    it('a snapshot edited in the file is not trusted: it and later ones are dropped, and the read replays', async () => {
      await cold().load(siteId);
      const [forged] = file.all(siteStreamId(siteId)).filter((snapshot) => snapshot.version === 50);
      const state = JSON.parse(forged!.state) as { status: string; name: string };
      file.keep([{ ...forged!, state: JSON.stringify({ ...state, name: 'Forged shop', status: 'active' }) }]);

      const streams = cold();
      expect(await streams.load(siteId, { toVersion: 55 })).toEqual(
        await replay(store, codec, siteId, { toVersion: 55 }),
      );
      expect(snapshots.refused).toBe(1);
      expect(streams.counts.snapshots).toBe(0);
      expect(warnings.join('\n')).toMatch(/at version 50 refused \(its MAC does not hold\)/);
      expect(kept()).toEqual([10, 20, 30, 40, 50]); // 50..90 dropped, then 10..50 written again by the replay
    });

    it('snapshots sealed under another key are never used: its file is emptied, and a snapshot copied in is refused', async () => {
      await cold().load(siteId);
      const copied = file.all(siteStreamId(siteId));
      const foreign = new SiteSnapshots(file, randomBytes(32), INTERVAL, (message) => warnings.push(message));
      expect(kept()).toEqual([]);
      expect(warnings.join('\n')).toMatch(/another layout or key; emptied/);
      file.keep(copied); // behind the new owner's back
      const streams = cold(store, foreign);
      expect(await streams.load(siteId, { toTime: at(47.5) })).toEqual(
        await replay(store, codec, siteId, { toTime: at(47.5) }),
      );
      expect(foreign.refused).toBe(1);
      expect(streams.counts.snapshots).toBe(0);
    });

    it('a snapshot whose event was rewritten in the store is refused, and the read answers ledger.tampered', async () => {
      await cold().load(siteId);
      // Rewritten with its own hash recomputed: the next event's link breaks.
      const forger = rewrittenAt(store, 20, (event) => {
        const metadata = { ...event.metadata, actor: 'nobody' };
        return { ...event, metadata, hash: hashEvent(event.prevHash, { ...event, metadata }) };
      });
      const refusal = await cold(forger)
        .load(siteId, { toVersion: 25 })
        .catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(LedgerTamperedError);
      expect((refusal as LedgerTamperedError).brokenAt.version).toBe(21);
      expect(snapshots.refused).toBe(1);
      expect(kept()).toEqual([10]);

      // Content changed, hash column left alone: the event no longer hashes to what the snapshot ends on.
      await cold().load(siteId);
      const editor = rewrittenAt(store, 20, (event) => ({ ...event, data: { ...event.data, siteId: 'elsewhere' } }));
      const edited = await cold(editor)
        .load(siteId, { toTime: at(22) })
        .catch((error: unknown) => error);
      expect((edited as LedgerTamperedError).brokenAt?.version).toBe(20);
      expect(snapshots.refused).toBe(2);

      // A read that ends before the rewrite cannot see it, with a snapshot or without.
      await cold().load(siteId);
      expect(await cold(forger).load(siteId, { toVersion: 15 })).toEqual(
        await replay(store, codec, siteId, { toVersion: 15 }),
      );
    });

    it('holds contacts sealed only: once the key is destroyed (purge), every read shows them redacted', async () => {
      await cold().load(siteId);
      const stored = file
        .all(siteStreamId(siteId))
        .map((snapshot) => snapshot.state)
        .join('\n');
      expect(stored).toContain('"sealed":"v1.');
      expect(stored.includes('example.com'), 'plaintext contacts in a snapshot').toBe(false);
      for (const suffix of ['', '-wal']) {
        const path = join(dir, `snapshots.db${suffix}`);
        if (existsSync(path)) expect(readFileSync(path).includes('example.com')).toBe(false);
      }
      const before = await cold().load(siteId, { toVersion: 57 });
      expect(JSON.stringify(before.state)).toContain('owner55@example.com');

      await keys.destroyKey(siteId); // what a purge does
      for (const upTo of [{}, { toVersion: 57 }, { toVersion: 12 }, { toTime: at(33.5) }]) {
        const streams = cold();
        const { state } = await streams.load(siteId, upTo);
        expect(streams.counts.snapshots).toBe(1);
        if (state.status === 'unregistered') throw new Error('registered');
        expect(state.contacts.length).toBeGreaterThan(0);
        expect(state.contacts).toEqual(state.contacts.map(() => REDACTED_CONTACT));
        expect(await cold().load(siteId, upTo)).toEqual(await replay(store, codec, siteId, upTo));
      }
    });
  });
}

describeSnapshotReads('the memory store', async () => {
  const store = new MemoryEventStore();
  return { store, close: () => store.close() };
});

describeSnapshotReads('SQLite', async (dir) => {
  const store = new SqliteEventStore(join(dir, 'ledger.db'));
  return { store, close: () => store.close() };
});

describe.skipIf(!hasPostgres)('on PostgreSQL (server at LEDGER_TEST_POSTGRES_URL)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });
  describeSnapshotReads('PostgreSQL', async () => {
    const connection = await openPostgres(db.url, { log: () => undefined });
    const store = new PostgresEventStore(connection);
    return {
      store,
      async close() {
        await store.close();
        await connection.close();
      },
    };
  });
});
