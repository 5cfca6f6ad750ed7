import { Inject, Injectable, Optional } from '@nestjs/common';
import type { JsonObject, JsonValue } from '../common/json.js';
import {
  EMPTY_STREAM_HEAD,
  verifyChain,
  type NewEvent,
  type StoredEvent,
  type StreamHead,
} from '../event-store/event-envelope.js';
import { EVENT_STORE, type EventStore, type ReadStreamOptions } from '../event-store/event-store.port.js';
import { siteStreamId } from '../event-store/ledger-streams.js';
import { toEventView, type EventView } from '../ledger/event.view.js';
import { requireIntact } from '../ledger/ledger-tampered.js';
import { PersonalDataCodec, REDACTED_CONTACT } from '../ledger/personal-data.codec.js';
import { toRecorded } from '../ledger/recorded-event.js';
import { toNewEvents, type RequestContext } from '../ledger/request-context.js';
import { streamChange, type StreamChange } from '../ledger/stream-change.js';
import { stillStored } from '../snapshots/snapshot.js';
import { evolveSite } from './domain/site.decider.js';
import type { SiteContact, SiteEvent } from './domain/site.events.js';
import { SiteFoldCache, widestBound, type SiteCheckpoint, type TimeBound } from './site-fold-cache.js';
import { SiteSnapshots } from './site-snapshots.js';
import { initialSiteState, type SiteState } from './domain/site.state.js';

/** How many site streams are read at once by `loadMany`. */
const PARALLEL_READS = 32;

/** A site's state as folded from its stream, and where the stream ends. */
export interface LoadedSite {
  state: SiteState;
  /** The stream version the state reflects (0: no events). */
  version: number;
  /** `occurredAt` of the last event read. */
  lastOccurredAt: string | undefined;
}

/** What site reads cost, counted since the service started (for tests and benchmarks). */
export interface SiteReadCounts {
  /** Calls of `load`. */
  loads: number;
  /** Events they read from the store: folded, checked or looked at to trust a snapshot. */
  events: number;
  /** Reads that started from a snapshot. */
  snapshots: number;
}

/** Where a read starts: both verified against the store. */
interface ReadStart {
  /** The fold to start from; undefined: from the stream's first event. */
  base: SiteCheckpoint | undefined;
  /** For a read as of a time, events known to lie after it (see timeBoundOf). */
  bound: TimeBound | undefined;
}

/**
 * Site streams on the event store: reading and folding a site, and turning
 * decided events into sealed, encrypted events to append. The only place
 * that knows how a site maps onto the store.
 */
@Injectable()
export class SiteStreams {
  private readonly folds: SiteFoldCache;
  readonly counts: SiteReadCounts = { loads: 0, events: 0, snapshots: 0 };

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly personalData: PersonalDataCodec,
    /** Tests pass a small one; the service keeps one per process. */
    @Optional() folds?: SiteFoldCache,
    /** The instance's snapshot file; without it (benchmarks, specs) a process starts every stream from its first event. */
    @Optional() private readonly snapshots?: SiteSnapshots,
  ) {
    this.folds = folds ?? new SiteFoldCache();
  }

  /**
   * The site's state, optionally as it was at a version or a time.
   *
   * Replays only what is not folded already: it starts from the newest
   * fold the read may start from, a checkpoint of the fold cache or a
   * snapshot, and reads the events after it. Events are folded with
   * contacts still sealed, and only the result's contacts are opened, with
   * the key as it is now: neither the cache nor the snapshots ever hold
   * personal data in the clear, and once a purge destroys the key every
   * read, of any moment, shows the contacts redacted. (evolveSite copies
   * contacts without looking inside, so folding sealed ones and opening the
   * result gives what opening every event first gave.)
   *
   * Every event folded is checked against the hash chain, from the start's
   * verified hash on (SHA-256 over a few hundred bytes: cheap beside
   * opening contacts); a chain that does not hold is a LedgerTamperedError,
   * never state. A snapshot is a start only while the store still holds
   * the event it ends on (one event read); otherwise it is dropped and the
   * read starts from the cache or the stream's first event.
   */
  async load(
    siteId: string,
    upTo: Pick<ReadStreamOptions, 'toVersion' | 'toTime'> = {},
    { contacts = 'open' }: { contacts?: 'open' | 'withheld' } = {},
  ): Promise<LoadedSite> {
    this.counts.loads += 1;
    const toVersion = upTo.toVersion ?? Number.MAX_SAFE_INTEGER;
    // NaN for a malformed time: no checkpoint fits, and the store reports the bad time.
    const toTimeMs = upTo.toTime === undefined ? Number.MAX_SAFE_INTEGER : Date.parse(upTo.toTime);
    const streamId = siteStreamId(siteId);
    const { base, bound } = await this.start(siteId, toVersion, toTimeMs, upTo.toTime !== undefined);
    const afterVersion = base?.version ?? 0;
    const from = base === undefined ? EMPTY_STREAM_HEAD : { version: base.version, hash: base.hash };
    let stored: StoredEvent[];
    if (bound && afterVersion < bound.skipFrom) {
      // The same events as one read from afterVersion, minus a stretch known to lie after the moment;
      // the second part's chain is checked from the (verified) fold it starts after.
      stored = await this.readChecked(
        streamId,
        { ...upTo, afterVersion, toVersion: Math.min(toVersion, bound.skipFrom - 1) },
        from,
      );
      if (toVersion > bound.newest.version) {
        stored = stored.concat(
          await this.readChecked(streamId, { ...upTo, afterVersion: bound.newest.version }, bound.newest),
        );
      }
    } else {
      stored = await this.readChecked(streamId, { ...upTo, afterVersion }, from);
    }
    let state = base?.state ?? initialSiteState;
    let version = afterVersion;
    let lastOccurredAt = base?.lastOccurredAt;
    let hash = from.hash;
    let maxOccurredAtMs = base?.maxOccurredAtMs ?? Number.NEGATIVE_INFINITY;
    let inTimeOrder = base?.inTimeOrder ?? true;
    // A checkpoint must be the fold of a whole prefix: only while versions follow on without a gap
    // (a read as of a time skips the events after it, which could be out of time order).
    let prefix = true;
    const snapshotsDue: SiteCheckpoint[] = [];
    for (const event of stored) {
      state = evolveSite(state, toRecorded<SiteEvent>(event));
      prefix &&= event.version === version + 1;
      version = event.version;
      hash = event.hash;
      lastOccurredAt = event.metadata.occurredAt;
      const occurredAtMs = Date.parse(lastOccurredAt);
      inTimeOrder &&= occurredAtMs >= maxOccurredAtMs;
      maxOccurredAtMs = Math.max(maxOccurredAtMs, occurredAtMs);
      if (!prefix) continue;
      if (version % this.folds.limits.interval === 0) {
        this.folds.put(siteId, { version, state, lastOccurredAt, hash, maxOccurredAtMs, inTimeOrder });
      }
      if (this.snapshots && version % this.snapshots.interval === 0 && Number.isFinite(maxOccurredAtMs)) {
        snapshotsDue.push({ version, state, lastOccurredAt, hash, maxOccurredAtMs, inTimeOrder });
      }
    }
    if (prefix && stored.length > 0)
      this.folds.put(siteId, { version, state, lastOccurredAt, hash, maxOccurredAtMs, inTimeOrder });
    if (snapshotsDue.length > 0) this.snapshots!.keep(siteId, snapshotsDue);
    const shown = contacts === 'open' ? await this.openContacts(siteId, state) : withheldContacts(state);
    return { state: shown, version, lastOccurredAt };
  }

  /**
   * Where a read up to `toVersion` and `toTimeMs` starts: the newest fold it
   * may start from, cached or snapshot, and for a read as of a time the
   * widest known stretch after it. Snapshots stand only once the store
   * still holds the event they end on (snapshotStands).
   */
  private async start(siteId: string, toVersion: number, toTimeMs: number, timed: boolean): Promise<ReadStart> {
    let base = this.folds.best(siteId, toVersion, toTimeMs);
    let bound = timed ? this.folds.timeBound(siteId, toTimeMs) : undefined;
    if (this.snapshots === undefined) return { base, bound };
    // Only a snapshot beyond what the cache offers is looked at (one indexed query when there is none).
    const snapshot = this.snapshots.best(siteId, toVersion, toTimeMs, base?.version ?? 0);
    if (snapshot && (await this.snapshotStands(siteId, snapshot))) {
      base = snapshot;
      this.counts.snapshots += 1;
      this.folds.put(siteId, snapshot);
    }
    // The cache knows the events after the moment only around the moments it has read; the
    // snapshots know a fold every interval. Asked only when the cache leaves more than that to read.
    if (timed && (bound === undefined || bound.skipFrom - (base?.version ?? 0) > this.snapshots.interval)) {
      const fromSnapshots = this.snapshots.timeBound(siteId, toTimeMs);
      if (
        fromSnapshots &&
        (fromSnapshots.newest.version <= (bound?.newest.version ?? 0) ||
          (await this.snapshotStands(siteId, fromSnapshots.newest)))
      ) {
        bound = widestBound(bound, fromSnapshots);
      }
    }
    return { base, bound };
  }

  /**
   * Whether the store still holds, intact, the event a snapshot ends on;
   * if not, the snapshot (and every later one of the stream) is refused.
   * A rewritten event then shows as a broken chain to the read that folds
   * from an earlier start instead.
   */
  private async snapshotStands(siteId: string, head: StreamHead): Promise<boolean> {
    const [event] = await this.store.readStream(siteStreamId(siteId), {
      afterVersion: head.version - 1,
      toVersion: head.version,
    });
    this.counts.events += event === undefined ? 0 : 1;
    if (stillStored(event, head)) return true;
    this.snapshots!.refuse(
      siteId,
      head.version,
      event === undefined ? 'the store has no such event' : 'the stored event is not the one it ends on',
    );
    return false;
  }

  /**
   * The events `options` selects, after checking their hash chain from
   * `from` on. A read as of a time returns the events stamped by then: for
   * a stream the service wrote, a prefix (it stamps a stream's events in
   * time order). Only a stream written with another clock can leave a gap,
   * and then the whole stretch is read and checked instead.
   */
  private async readChecked(streamId: string, options: ReadStreamOptions, from: StreamHead): Promise<StoredEvent[]> {
    const read = await this.store.readStream(streamId, options);
    this.counts.events += read.length;
    const check = verifyChain(read, from);
    if (check.ok) return read;
    if (options.toTime === undefined) requireIntact(check);
    const stretch = await this.store.readStream(streamId, {
      afterVersion: from.version,
      toVersion: read.at(-1)!.version,
    });
    this.counts.events += stretch.length;
    requireIntact(verifyChain(stretch, from));
    return read;
  }

  /**
   * Several sites' current state, in the order asked, read a few at a time
   * (plans, waves and rollbacks read hundreds of sites).
   *
   * Contacts are withheld (they read as redacted): plans, waves and
   * rollbacks decide nothing on personal data, so a bulk read neither
   * looks up hundreds of keys nor decrypts anyone's contacts.
   */
  async loadMany(siteIds: readonly string[]): Promise<LoadedSite[]> {
    const loaded: LoadedSite[] = [];
    for (let start = 0; start < siteIds.length; start += PARALLEL_READS) {
      const batch = siteIds.slice(start, start + PARALLEL_READS);
      loaded.push(...(await Promise.all(batch.map((siteId) => this.load(siteId, {}, { contacts: 'withheld' })))));
    }
    return loaded;
  }

  /**
   * The append of decided events at the version the site was loaded at
   * (personal data sealed, metadata added), and the state they lead to from
   * `loaded`: the plaintext events are folded, so nothing is read back.
   */
  async change(
    siteId: string,
    loaded: LoadedSite,
    events: readonly SiteEvent[],
    context: RequestContext,
    occurredAt: string,
  ): Promise<StreamChange<SiteState>> {
    const sealed = await this.seal(siteId, events);
    return streamChange(siteStreamId(siteId), loaded, events, evolveSite, context, occurredAt, sealed);
  }

  /** Events ready to append: personal data sealed, metadata added. */
  async prepare(
    siteId: string,
    events: readonly SiteEvent[],
    context: RequestContext,
    occurredAt: string,
  ): Promise<NewEvent[]> {
    const sealed = await this.seal(siteId, events);
    return toNewEvents(
      events.map((event, index) => ({ type: event.type, data: sealed[index]! })),
      context,
      occurredAt,
    );
  }

  /** Each event's data as stored: contacts sealed with the site's key. */
  private seal(siteId: string, events: readonly SiteEvent[]): Promise<JsonObject[]> {
    return Promise.all(events.map((event) => this.personalData.protect(siteId, event.data as unknown as JsonObject)));
  }

  /** The state with its contacts opened (or redacted once the key is gone); the key is looked up only if there are any. */
  private async openContacts(siteId: string, state: SiteState): Promise<SiteState> {
    if (state.status === 'unregistered' || state.contacts.length === 0) return state;
    const reveal = await this.personalData.revealer(siteId);
    const opened = reveal({ contacts: state.contacts as unknown as JsonValue[] })['contacts'];
    return { ...state, contacts: opened as unknown as SiteContact[] };
  }

  /**
   * A page of the site's events with personal data opened (or redacted
   * after a purge). The page's chain is checked from the nearest verified
   * fold before it, cached or snapshot (from the stream's start when none).
   */
  async history(siteId: string, afterVersion: number, limit: number): Promise<EventView[]> {
    const { base } = await this.start(siteId, afterVersion, Number.MAX_SAFE_INTEGER, false);
    const from = base === undefined ? EMPTY_STREAM_HEAD : { version: base.version, hash: base.hash };
    const read = await this.store.readStream(siteStreamId(siteId), {
      afterVersion: from.version,
      limit: afterVersion - from.version + limit,
    });
    requireIntact(verifyChain(read, from));
    const stored = read.filter((event) => event.version > afterVersion);
    const reveal = await this.personalData.revealer(siteId);
    return stored.map((event) => toEventView(event, reveal(event.data)));
  }
}

/** The state with every contact shown as redacted: for readers that must not (and need not) see personal data. */
function withheldContacts(state: SiteState): SiteState {
  if (state.status === 'unregistered' || state.contacts.length === 0) return state;
  return { ...state, contacts: state.contacts.map(() => REDACTED_CONTACT) };
}
