import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JsonObject } from '../src/common/json.js';
import { hashEvent, type StoredEvent } from '../src/event-store/event-envelope.js';
import { siteStreamId } from '../src/event-store/ledger-streams.js';
import { PersonalDataCodec } from '../src/ledger/personal-data.codec.js';
import { toRecorded } from '../src/ledger/recorded-event.js';
import type { RequestContext } from '../src/ledger/request-context.js';
import { RetentionSweeper } from '../src/retention/retention-sweeper.js';
import { evolveSite } from '../src/sites/domain/site.decider.js';
import type { SiteEvent } from '../src/sites/domain/site.events.js';
import { initialSiteState, type SiteState } from '../src/sites/domain/site.state.js';
import { SiteSnapshots, SNAPSHOT_INTERVAL } from '../src/sites/site-snapshots.js';
import { SiteStreams } from '../src/sites/site-streams.js';
import { toSiteView } from '../src/sites/site.view.js';
import { approve, planDeletion, runAllWaves } from './support/operations.js';
import { tampererOf } from './support/tamper.js';
import { startTestApp, type TestApp } from './support/test-app.js';

/**
 * Cold reads (issue 14, point 2): every SNAPSHOT_INTERVAL versions a site's
 * fold is kept, sealed, in the instance's snapshot file, so a service just
 * started reads a site at any moment from the nearest snapshot, checking the
 * chain from the event it ends on, instead of replaying the whole stream.
 */
const SITE = 'long-lived';
const BULK = 2_400;
const COMMANDS = 150;
const operator: RequestContext = {
  principal: { id: 'operator', roles: new Set(['operator']) },
  correlationId: 'seed',
  causationId: null,
};
const contactsOf = (n: number) => [{ name: `Owner ${n}`, email: `owner${n}@example.com`, role: 'owner' }];

/** A deterministic PRNG (mulberry32): the same moments on every run. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('point-in-time reads with the service just started', () => {
  let dataDir: string;
  const apps: TestApp[] = [];
  const start = async () => {
    const app = await startTestApp({ dataDir });
    apps.push(app);
    return app;
  };
  const restart = async (t: TestApp) => {
    await t.close();
    apps.splice(apps.indexOf(t), 1);
    return start();
  };
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'tenant-ledger-snapshots-'));
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /**
   * Registers SITE over HTTP, appends `bulk` events as the command path
   * seals them (one a second, for speed), then runs `commands` commands
   * over HTTP; the commands' folds write the snapshots.
   */
  async function seed(t: TestApp, bulk: number, commands: number, retention = 'P30D'): Promise<void> {
    await t
      .http()
      .post('/v1/sites')
      .set('Authorization', t.auth('operator'))
      .send({ siteId: SITE, customerId: 'c1', name: 'Long-lived shop', contacts: contactsOf(0), retention })
      .expect(201);
    const streams = t.app.get(SiteStreams);
    const startMs = t.clock.now().getTime();
    let version = 1;
    for (let first = 0; first < bulk; first += 500) {
      const prepared = [];
      for (let i = first; i < Math.min(bulk, first + 500); i += 1) {
        const event: SiteEvent =
          i % 10 === 9
            ? { type: 'SiteContactsUpdated', data: { siteId: SITE, contacts: contactsOf(i) } }
            : { type: i % 2 === 0 ? 'SiteSuspended' : 'SiteReactivated', data: { siteId: SITE } };
        const at = new Date(startMs + (i + 1) * 1000).toISOString();
        prepared.push(...(await streams.prepare(SITE, [event], operator, at)));
      }
      await t.store.append(siteStreamId(SITE), version, prepared);
      version += prepared.length;
    }
    t.clock.advance((bulk + 1) * 1000);
    const current = await t.http().get(`/v1/sites/${SITE}`).set('Authorization', t.auth('viewer')).expect(200);
    let suspended = current.body.status === 'suspended';
    for (let i = 0; i < commands; i += 1) {
      if (i % 10 === 9) {
        await t
          .http()
          .put(`/v1/sites/${SITE}/contacts`)
          .set('Authorization', t.auth('operator'))
          .send({ contacts: contactsOf(10_000 + i) })
          .expect(200);
        continue;
      }
      await t
        .http()
        .post(`/v1/sites/${SITE}/${suspended ? 'reactivate' : 'suspend'}`)
        .set('Authorization', t.auth('operator'))
        .send({ reason: 'seed' })
        .expect(200);
      suspended = !suspended;
    }
  }

  /** The stream and what a full replay answers for a prefix of it (contacts opened with the key as it is now). */
  async function replayOf(t: TestApp) {
    const events = await t.store.readStream(siteStreamId(SITE));
    const reveal = await t.app.get(PersonalDataCodec).revealer(SITE);
    const foldUpTo = (keep: (event: StoredEvent) => boolean) => {
      let state: SiteState = initialSiteState;
      for (const event of events) {
        if (keep(event)) state = evolveSite(state, toRecorded<SiteEvent>(event, reveal(event.data as JsonObject)));
      }
      if (state.status === 'unregistered') throw new Error('read before the registration');
      return toSiteView(state);
    };
    return { events, foldUpTo };
  }

  /** GET a site, and how many events the instance read from the store to answer it. */
  async function readCounted(t: TestApp, query: string) {
    const streams = t.app.get(SiteStreams);
    const before = { ...streams.counts };
    const response = await t.http().get(`/v1/sites/${SITE}?${query}`).set('Authorization', t.auth('viewer'));
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    return {
      body: response.body as Record<string, unknown>,
      events: streams.counts.events - before.events,
      fromSnapshot: streams.counts.snapshots > before.snapshots,
    };
  }

  it('answers any moment as a full replay does, reading at most about two snapshot intervals of events', async () => {
    let t = await start();
    await seed(t, BULK, COMMANDS);
    const snapshots = t.app.get(SiteSnapshots).file.all(siteStreamId(SITE));
    const { events, foldUpTo } = await replayOf(t);
    const head = events.length;
    expect(head).toBe(1 + BULK + COMMANDS);
    // The commands' folds wrote a snapshot every interval, up to the newest.
    expect(snapshots.map((snapshot) => snapshot.version)).toEqual(
      Array.from({ length: Math.floor(head / SNAPSHOT_INTERVAL) }, (_, i) => (i + 1) * SNAPSHOT_INTERVAL),
    );
    const tail = head - snapshots.at(-1)!.version;

    const next = random(14);
    const firstMs = Date.parse(events[0]!.metadata.occurredAt);
    const lastMs = Date.parse(events.at(-1)!.metadata.occurredAt);
    // Three fresh instances on the same data, each read from nothing cached.
    for (let instance = 0; instance < 3; instance += 1) {
      t = await restart(t);
      const first = await readCounted(t, `version=${head - 7}`);
      expect(first.fromSnapshot).toBe(true);
      expect(first.events).toBe(1 + (head - 7 - snapshots.at(-1)!.version)); // the snapshot's event, then the rest
      for (let read = 0; read < 12; read += 1) {
        const ms = Math.floor(firstMs - 1_000 + next() * (lastMs - firstMs + 2_000));
        const asOf = new Date(Math.max(ms, firstMs)).toISOString();
        const byTime = await readCounted(t, `asOf=${asOf}`);
        expect(byTime.body).toEqual({ ...foldUpTo((event) => event.metadata.occurredAt <= asOf), asOf });
        // The snapshot's event, fewer than an interval after it, the newest snapshot's event and what follows it.
        expect(byTime.events, `as of ${asOf}`).toBeLessThanOrEqual(SNAPSHOT_INTERVAL + 1 + tail);

        const version = 1 + Math.floor(next() * head);
        const byVersion = await readCounted(t, `version=${version}`);
        expect(byVersion.body).toEqual(foldUpTo((event) => event.version <= version));
        expect(byVersion.events, `version ${version}`).toBeLessThanOrEqual(SNAPSHOT_INTERVAL);
      }
      const now = await readCounted(t, '');
      expect(now.body).toEqual(foldUpTo(() => true));
      expect(now.events).toBeLessThanOrEqual(SNAPSHOT_INTERVAL);
    }

    // The same service without its snapshot file (derived data: deleting it is safe) replays the whole prefix.
    await t.close();
    apps.splice(0);
    for (const suffix of ['', '-wal', '-shm']) rmSync(join(dataDir, `snapshots.db${suffix}`), { force: true });
    t = await start();
    const replayed = await readCounted(t, 'version=2000');
    expect(replayed.body).toEqual(foldUpTo((event) => event.version <= 2000));
    expect(replayed.events).toBe(2000);
    // That read wrote the snapshots again, up to where it folded.
    expect(t.app.get(SiteSnapshots).file.all(siteStreamId(SITE))).toHaveLength(Math.floor(2000 / SNAPSHOT_INTERVAL));
  });

  it('trusts no snapshot edited in its file, and none whose event was rewritten in the store', async () => {
    let t = await start();
    await seed(t, 1_200, 10);
    const { events, foldUpTo } = await replayOf(t);
    await t.close();
    apps.splice(0);

    const forgedAt = 8 * SNAPSHOT_INTERVAL;
    const rewrittenAt = 7 * SNAPSHOT_INTERVAL;
    // A forged snapshot: a state of the forger's choosing, under the snapshot's own hash and MAC.
    const file = new Database(join(dataDir, 'snapshots.db'));
    const forged = file
      .prepare("UPDATE snapshots SET state = replace(state, 'Long-lived shop', 'Forged shop') WHERE version = ?")
      .run(forgedAt);
    file.close();
    expect(forged.changes).toBe(1);
    t = await start();
    const read = await readCounted(t, `version=${forgedAt + 26}`);
    expect(read.body).toEqual(foldUpTo((event) => event.version <= forgedAt + 26));
    expect(read.body['name']).toBe('Long-lived shop');
    expect(t.app.get(SiteSnapshots).refused).toBe(1);

    // The event a snapshot ends on, rewritten in the store with its own hash recomputed.
    await t.http().get(`/v1/sites/${SITE}`).set('Authorization', t.auth('viewer')).expect(200); // snapshots again
    const under = events[rewrittenAt - 1]!;
    const metadata = { ...under.metadata, actor: 'nobody' };
    await tampererOf(t.config).forge(under.eventId, metadata, hashEvent(under.prevHash, { ...under, metadata }));
    t = await restart(t);
    // A snapshot after the rewrite stands for the chain it was verified on, as a cached fold does: the
    // current state is read from the newest one, and the ledger's verification reports the rewrite.
    await t.http().get(`/v1/sites/${SITE}`).set('Authorization', t.auth('viewer')).expect(200);
    const verify = await t.http().get('/v1/ledger/verify').set('Authorization', t.auth('viewer')).expect(200);
    expect(verify.body).toMatchObject({
      ok: false,
      brokenAt: { streamId: siteStreamId(SITE), version: rewrittenAt + 1 },
    });
    // A read that would start from the snapshot on the rewritten event refuses it, replays, and finds the break.
    const tampered = await t
      .http()
      .get(`/v1/sites/${SITE}?version=${rewrittenAt + 50}`)
      .set('Authorization', t.auth('viewer'));
    expect(tampered.status).toBe(500);
    expect(tampered.body).toMatchObject({
      code: 'ledger.tampered',
      streamId: siteStreamId(SITE),
      version: rewrittenAt + 1,
      eventId: events[rewrittenAt]!.eventId,
    });
    expect(t.app.get(SiteSnapshots).refused).toBe(1);
    const asOf = events[rewrittenAt + 20 - 1]!.metadata.occurredAt;
    const byTime = await t.http().get(`/v1/sites/${SITE}?asOf=${asOf}`).set('Authorization', t.auth('viewer'));
    expect(byTime.body).toMatchObject({ code: 'ledger.tampered', version: rewrittenAt + 1 });
  });

  it('keeps contacts sealed: after a purge no snapshot can reveal them, and every read shows them redacted', async () => {
    let t = await start();
    await seed(t, 450, 10, 'P7D');
    const snapshotFiles = () =>
      ['', '-wal']
        .map((suffix) => join(dataDir, `snapshots.db${suffix}`))
        .filter((path) => existsSync(path))
        .map((path) => readFileSync(path));
    const states = () =>
      t.app
        .get(SiteSnapshots)
        .file.all(siteStreamId(SITE))
        .map((snapshot) => snapshot.state)
        .join('\n');
    expect(states()).toContain('"sealed":"v1.');
    expect(states().includes('example.com')).toBe(false);
    expect(snapshotFiles().some((bytes) => bytes.includes('example.com'))).toBe(false);
    const before = await readCounted(t, 'version=305');
    expect(before.body['contacts']).toEqual(contactsOf(299));

    const operation = await planDeletion(t, [SITE]);
    await approve(t, operation).expect(200);
    await runAllWaves(t, operation);
    t.clock.advance(7 * 86_400_000 + 60_000);
    expect((await t.app.get(RetentionSweeper).sweep()).purged).toEqual([SITE]);
    expect(snapshotFiles().some((bytes) => bytes.includes('example.com'))).toBe(false);

    t = await restart(t);
    const { events, foldUpTo } = await replayOf(t);
    const asOf = events[150 - 1]!.metadata.occurredAt;
    const moments = [
      { query: 'version=305', expected: foldUpTo((event) => event.version <= 305) },
      { query: 'version=12', expected: foldUpTo((event) => event.version <= 12) },
      { query: `asOf=${asOf}`, expected: { ...foldUpTo((event) => event.metadata.occurredAt <= asOf), asOf } },
      { query: '', expected: foldUpTo(() => true) },
    ];
    for (const { query, expected } of moments) {
      const read = await readCounted(t, query);
      expect(read.body, query).toEqual(expected);
      expect(read.body['contacts'], query).toEqual([{ redacted: true }]);
      if (query !== 'version=12') expect(read.fromSnapshot, query).toBe(true);
    }
    expect((await readCounted(t, '')).body['status']).toBe('purged');
  });
});
