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
import { evolveSite } from './domain/site.decider.js';
import type { SiteContact, SiteEvent } from './domain/site.events.js';
import { SiteFoldCache } from './site-fold-cache.js';
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

/**
 * Site streams on the event store: reading and folding a site, and turning
 * decided events into sealed, encrypted events to append. The only place
 * that knows how a site maps onto the store.
 */
@Injectable()
export class SiteStreams {
  private readonly folds: SiteFoldCache;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly personalData: PersonalDataCodec,
    /** Tests pass a small one; the service keeps one per process. */
    @Optional() folds?: SiteFoldCache,
  ) {
    this.folds = folds ?? new SiteFoldCache();
  }

  /**
   * The site's state, optionally as it was at a version or a time.
   *
   * Replays only what the fold cache does not cover: it starts from the
   * newest checkpoint the read may start from and reads the events after
   * it. Events are folded with contacts still sealed, and only the
   * result's contacts are opened, with the key as it is now: the cache
   * never holds personal data in the clear, and once a purge destroys the
   * key every read, of any moment, shows the contacts redacted. (evolveSite
   * copies contacts without looking inside, so folding sealed ones and
   * opening the result gives what opening every event first gave.)
   *
   * Every event folded is checked against the hash chain, from the
   * checkpoint's verified hash on (SHA-256 over a few hundred bytes: cheap
   * beside opening contacts); a chain that does not hold is a
   * LedgerTamperedError, never state.
   */
  async load(
    siteId: string,
    upTo: Pick<ReadStreamOptions, 'toVersion' | 'toTime'> = {},
    { contacts = 'open' }: { contacts?: 'open' | 'withheld' } = {},
  ): Promise<LoadedSite> {
    const toVersion = upTo.toVersion ?? Number.MAX_SAFE_INTEGER;
    // NaN for a malformed time: no checkpoint fits, and the store reports the bad time.
    const toTimeMs = upTo.toTime === undefined ? Number.MAX_SAFE_INTEGER : Date.parse(upTo.toTime);
    const base = this.folds.best(siteId, toVersion, toTimeMs);
    const afterVersion = base?.version ?? 0;
    const streamId = siteStreamId(siteId);
    const bound = upTo.toTime === undefined ? undefined : this.folds.timeBound(siteId, toTimeMs);
    const from = base === undefined ? EMPTY_STREAM_HEAD : { version: base.version, hash: base.hash };
    let stored: StoredEvent[];
    const skipped = bound && afterVersion < bound.skipFrom ? this.folds.at(siteId, bound.newest) : undefined;
    if (bound && skipped) {
      // The same events as one read from afterVersion, minus a stretch known to lie after the moment;
      // the second part's chain is checked from the (verified) checkpoint it starts after.
      stored = await this.readChecked(
        streamId,
        { ...upTo, afterVersion, toVersion: Math.min(toVersion, bound.skipFrom - 1) },
        from,
      );
      if (toVersion > bound.newest) {
        const newest = { version: skipped.version, hash: skipped.hash };
        stored = stored.concat(await this.readChecked(streamId, { ...upTo, afterVersion: bound.newest }, newest));
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
    for (const event of stored) {
      state = evolveSite(state, toRecorded<SiteEvent>(event));
      prefix &&= event.version === version + 1;
      version = event.version;
      hash = event.hash;
      lastOccurredAt = event.metadata.occurredAt;
      const occurredAtMs = Date.parse(lastOccurredAt);
      inTimeOrder &&= occurredAtMs >= maxOccurredAtMs;
      maxOccurredAtMs = Math.max(maxOccurredAtMs, occurredAtMs);
      if (prefix && version % this.folds.limits.interval === 0) {
        this.folds.put(siteId, { version, state, lastOccurredAt, hash, maxOccurredAtMs, inTimeOrder });
      }
    }
    if (prefix && stored.length > 0)
      this.folds.put(siteId, { version, state, lastOccurredAt, hash, maxOccurredAtMs, inTimeOrder });
    const shown = contacts === 'open' ? await this.openContacts(siteId, state) : withheldContacts(state);
    return { state: shown, version, lastOccurredAt };
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
    const check = verifyChain(read, from);
    if (check.ok) return read;
    if (options.toTime === undefined) requireIntact(check);
    const stretch = await this.store.readStream(streamId, {
      afterVersion: from.version,
      toVersion: read.at(-1)!.version,
    });
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
   * fold checkpoint before it (from the stream's start when none is cached).
   */
  async history(siteId: string, afterVersion: number, limit: number): Promise<EventView[]> {
    const base = this.folds.best(siteId, afterVersion, Number.MAX_SAFE_INTEGER);
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
