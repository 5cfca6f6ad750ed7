import { Inject, Injectable } from '@nestjs/common';
import type { JsonObject } from '../common/json.js';
import type { Recorded } from '../common/recorded.js';
import type { NewEvent, StoredEvent } from '../event-store/event-envelope.js';
import { EVENT_STORE, type EventStore, type ReadStreamOptions } from '../event-store/event-store.port.js';
import { siteStreamId } from '../event-store/ledger-streams.js';
import { toEventView, type EventView } from '../ledger/event.view.js';
import { PersonalDataCodec } from '../ledger/personal-data.codec.js';
import { toNewEvents, type RequestContext } from '../ledger/request-context.js';
import { evolveSite } from './domain/site.decider.js';
import type { SiteEvent } from './domain/site.events.js';
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
  /** Global position of the last event appended, when this came from an append. */
  position?: string;
}

/**
 * Site streams on the event store: reading and folding a site, and turning
 * decided events into sealed, encrypted events to append. The only place
 * that knows how a site maps onto the store.
 */
@Injectable()
export class SiteStreams {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly personalData: PersonalDataCodec,
  ) {}

  /** The site's state, optionally as it was at a version or a time. */
  async load(siteId: string, upTo: Pick<ReadStreamOptions, 'toVersion' | 'toTime'> = {}): Promise<LoadedSite> {
    const stored = await this.store.readStream(siteStreamId(siteId), upTo);
    const reveal = await this.personalData.revealer(siteId);
    let state = initialSiteState;
    for (const event of stored) state = evolveSite(state, toRecorded(event, reveal(event.data)));
    const last = stored.at(-1);
    return { state, version: last?.version ?? 0, lastOccurredAt: last?.metadata.occurredAt };
  }

  /**
   * Several sites' current state, in the order asked, read a few at a time
   * (plans, waves and rollbacks read hundreds of sites).
   */
  async loadMany(siteIds: readonly string[]): Promise<LoadedSite[]> {
    const loaded: LoadedSite[] = [];
    for (let start = 0; start < siteIds.length; start += PARALLEL_READS) {
      loaded.push(...(await Promise.all(siteIds.slice(start, start + PARALLEL_READS).map((siteId) => this.load(siteId)))));
    }
    return loaded;
  }

  /** Encrypts personal data and adds metadata: events ready for `append`/`appendMany`. */
  async prepare(
    siteId: string,
    events: readonly SiteEvent[],
    context: RequestContext,
    occurredAt: string,
  ): Promise<NewEvent[]> {
    const protectedEvents = await Promise.all(
      events.map(async (event) => ({
        type: event.type,
        data: await this.personalData.protect(siteId, event.data as unknown as JsonObject),
      })),
    );
    return toNewEvents(protectedEvents, context, occurredAt);
  }

  /**
   * Appends prepared events if the stream is still at `expectedVersion`, and
   * returns the state they lead to from `before` (the plaintext events are
   * folded, so nothing is read back).
   * @throws WrongExpectedVersionError if another writer got there first.
   */
  async append(
    loaded: LoadedSite,
    siteId: string,
    decided: readonly SiteEvent[],
    prepared: readonly NewEvent[],
  ): Promise<LoadedSite> {
    const result = await this.store.append(siteStreamId(siteId), loaded.version, prepared);
    let state = loaded.state;
    decided.forEach((event, index) => {
      const envelope = prepared[index]!;
      state = evolveSite(state, {
        ...event,
        eventId: envelope.eventId,
        version: loaded.version + index + 1,
        occurredAt: envelope.metadata.occurredAt,
      });
    });
    return {
      state,
      version: result.nextVersion,
      lastOccurredAt: prepared.at(-1)?.metadata.occurredAt,
      position: result.position,
    };
  }

  /** A page of the site's events with personal data opened (or redacted after a purge). */
  async history(siteId: string, afterVersion: number, limit: number): Promise<EventView[]> {
    const stored = await this.store.readStream(siteStreamId(siteId), { afterVersion, limit });
    const reveal = await this.personalData.revealer(siteId);
    return stored.map((event) => toEventView(event, reveal(event.data)));
  }
}

function toRecorded(event: StoredEvent, data: JsonObject): Recorded<SiteEvent> {
  // The store holds only what SiteStreams wrote, so the type names a SiteEvent.
  return {
    type: event.type,
    data,
    eventId: event.eventId,
    version: event.version,
    occurredAt: event.metadata.occurredAt,
  } as unknown as Recorded<SiteEvent>;
}
