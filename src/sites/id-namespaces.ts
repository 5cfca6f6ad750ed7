import { Inject, Injectable } from '@nestjs/common';
import { EVENT_STORE, type EventStore, type StreamAppend } from '../event-store/event-store.port.js';
import { idClaimStreamId, siteStreamId } from '../event-store/ledger-streams.js';
import { toNewEvents, type RequestContext } from '../ledger/request-context.js';
import { InstallationsProjection } from './installations.projection.js';
import {
  decideIdClaims,
  evolveIdClaim,
  idUsesOf,
  initialIdClaimState,
  type IdClaimEvent,
  type IdClaimState,
} from './domain/id-claims.js';
import type { SiteEvent } from './domain/site.events.js';

/** A claim stream as read: who holds the ID, and the version to append at. */
interface ReadClaim {
  holder: IdClaimState;
  version: number;
}

/**
 * Keeps site IDs and product installation IDs apart, and each installation
 * on one site (the rules: domain/id-claims.ts), with one claim stream per ID
 * in the shared store. A command's attempt calls `claims` after deciding its
 * site events and appends what it returns in the same append, so the store
 * itself decides a race on one new ID: the loser's claim is not at the
 * version it read, the command core runs its attempt again, and the attempt
 * reads the winner's claim and is refused. No local read model decides.
 */
@Injectable()
export class IdNamespaces {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly installations: InstallationsProjection,
  ) {}

  /**
   * The claim appends that `events` (just decided for a site) need, read and
   * decided afresh: call it inside the attempt, on every attempt. Empty for
   * events that take or give back no ID.
   * @throws IdCollisionError, InstallationTakenError when the events would
   *   put an ID in both namespaces or an installation on a second site.
   */
  async claims(events: readonly SiteEvent[], context: RequestContext, occurredAt: string): Promise<StreamAppend[]> {
    const uses = idUsesOf(events);
    if (uses.length === 0) return [];
    const ids = [...new Set(uses.map((use) => use.id))];
    const read = new Map(await Promise.all(ids.map(async (id) => [id, await this.read(id)] as const)));
    const decided = decideIdClaims(uses, new Map([...read].map(([id, claim]) => [id, claim.holder])));
    return [...decided].map(([id, claimEvents]) => ({
      streamId: idClaimStreamId(id),
      // 0 for an ID without a claim stream: the append fails if a racer created it meanwhile.
      expectedVersion: read.get(id)!.version,
      events: toNewEvents(claimEvents, context, occurredAt),
    }));
  }

  private async read(id: string): Promise<ReadClaim> {
    const stored = await this.store.readStream(idClaimStreamId(id));
    if (stored.length === 0) return { holder: await this.holderBeforeClaims(id), version: 0 };
    const holder = stored.reduce<IdClaimState>(
      (state, event) => evolveIdClaim(state, { type: event.type, data: event.data } as IdClaimEvent),
      initialIdClaimState,
    );
    return { holder, version: stored.at(-1)!.version };
  }

  /**
   * Who holds an ID that has no claim stream. Every ID used since claims
   * exist has one; only ledgers recorded before them hold IDs without, and
   * for those today's earlier checks still answer: a site ID by its site
   * stream (in the shared store), an installation ID by the installations
   * read model. That read model is local to each instance: an instance
   * whose read models have not caught up with the ledger yet may not see
   * such an old holder. Races stay decided by the store either way: the
   * claim of an ID read as free expects its claim stream not to exist
   * (version 0), so of two racers only one can create it.
   */
  private async holderBeforeClaims(id: string): Promise<IdClaimState> {
    if ((await this.store.streamVersion(siteStreamId(id))) > 0) return { as: 'site', siteId: id };
    const siteId = this.installations.siteOf(id);
    return siteId === undefined ? null : { as: 'installation', siteId };
  }
}
