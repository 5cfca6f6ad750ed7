import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import type { JsonObject } from '../common/json.js';
import type { StoredEvent } from '../event-store/event-envelope.js';
import { siteIdOfStream } from '../event-store/ledger-streams.js';
import { toEventView, type EventView } from './event.view.js';
import { PersonalDataCodec } from './personal-data.codec.js';

type Reveal = (data: JsonObject) => JsonObject;

export interface ViewSessionOptions {
  /** Sites whose revealer is kept at once; the least recently used goes first. */
  maxSites?: number;
  /**
   * How long a revealer is reused. A purge destroys the key while a long
   * read may still hold it; past this age the key is looked up again, so a
   * purged site's contacts read as redacted from then on.
   */
  ttlMs?: number;
  /**
   * Data exactly as stored and hashed, contacts still sealed: what an
   * auditor needs to recompute hash chains and Merkle leaves offline.
   */
  stored?: boolean;
}

/**
 * A run of event views for one read (an audit page, an export, a stream):
 * contacts opened or redacted exactly as a site's history shows them, with
 * at most one key lookup per site per `ttlMs`, and a bounded cache.
 */
export class EventViewSession {
  /** Each site's revealer, looked up at most once per `ttlMs` while the session reads. */
  private readonly revealers: LRUCache<string, Promise<Reveal>>;
  private readonly stored: boolean;

  constructor(
    private readonly personalData: PersonalDataCodec,
    options: ViewSessionOptions = {},
  ) {
    this.revealers = new LRUCache({ max: options.maxSites ?? 256, ttl: options.ttlMs ?? 1000 });
    this.stored = options.stored ?? false;
  }

  async view(event: StoredEvent): Promise<EventView> {
    if (this.stored) return toEventView(event, event.data);
    const siteId = siteIdOfStream(event.streamId);
    // Only events carrying contacts need a key; most (and every non-site event) do not.
    if (siteId === undefined || !Array.isArray(event.data['contacts'])) {
      if (event.type === 'SitePurged' && siteId !== undefined) this.revealers.delete(siteId);
      return toEventView(event, event.data);
    }
    const reveal = await this.revealerOf(siteId);
    return toEventView(event, reveal(event.data));
  }

  private revealerOf(siteId: string): Promise<Reveal> {
    const cached = this.revealers.get(siteId);
    if (cached !== undefined) return cached;
    const reveal = this.personalData.revealer(siteId);
    // A failed lookup must not stay cached.
    reveal.catch(() => this.revealers.peek(siteId) === reveal && this.revealers.delete(siteId));
    this.revealers.set(siteId, reveal);
    return reveal;
  }
}

/** Makes event views for reads of many events (audit, exports, the live stream). */
@Injectable()
export class EventViewer {
  constructor(private readonly personalData: PersonalDataCodec) {}

  session(options?: ViewSessionOptions): EventViewSession {
    return new EventViewSession(this.personalData, options);
  }
}
