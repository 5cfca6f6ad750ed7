import type { SiteEvent } from './site.events.js';
import { IdCollisionError, InstallationTakenError } from './site.errors.js';

/*
 * Site IDs and product installation IDs share one namespace (SPEC §9): an ID
 * is a site's, or one site's installation, never both, and an installation
 * belongs to one site at a time. The outage of SPEC §1 began with
 * installation IDs taken for site IDs; with distinct namespaces a plan always
 * knows which it was given.
 *
 * Each ID has a claim stream that says who holds it. The claims a command
 * needs are decided here, from its site events and the claim streams as
 * read, and appended in the same append as the site events, each at the
 * version its claim stream was read at: of two commands racing on one new
 * ID, one commits and the other re-reads the claim and is refused.
 */

/** Who holds an ID: a site (as its site ID), or a site as one of its product installations. */
export type IdHolder = { as: 'site'; siteId: string } | { as: 'installation'; siteId: string };

/** A claim stream's state: its holder, or null while the ID is free. */
export type IdClaimState = IdHolder | null;

export const initialIdClaimState: IdClaimState = null;

export type SiteIdClaimed = { type: 'SiteIdClaimed'; data: { siteId: string } };
export type InstallationIdClaimed = { type: 'InstallationIdClaimed'; data: { installationId: string; siteId: string } };
/** The installation was removed from its site: the ID is free again (only installation IDs are ever released). */
export type InstallationIdReleased = {
  type: 'InstallationIdReleased';
  data: { installationId: string; siteId: string };
};

export type IdClaimEvent = SiteIdClaimed | InstallationIdClaimed | InstallationIdReleased;

/** What a site event asks of the namespace. */
export type IdUse =
  | { kind: 'claim-site'; id: string }
  | { kind: 'claim-installation'; id: string; siteId: string }
  | { kind: 'release-installation'; id: string; siteId: string };

/**
 * The IDs that site events take or give back, in order. Derived from the
 * events rather than the commands, so every path that records products
 * (site commands, revert) keeps the claims in step with the sites.
 *
 * Site IDs are never released: a deleted or purged site keeps its ID, as its
 * stream does. An installation ID is released only when its product is
 * removed; a deleted or purged site keeps its installations' IDs.
 */
export function idUsesOf(events: readonly SiteEvent[]): IdUse[] {
  return events.flatMap((event): IdUse[] => {
    switch (event.type) {
      case 'SiteRegistered':
        return [
          { kind: 'claim-site', id: event.data.siteId },
          ...event.data.products.map(({ installationId }): IdUse => ({
            kind: 'claim-installation',
            id: installationId,
            siteId: event.data.siteId,
          })),
        ];
      case 'SiteProductAdded':
        return [{ kind: 'claim-installation', id: event.data.installationId, siteId: event.data.siteId }];
      case 'SiteProductRemoved':
        return [{ kind: 'release-installation', id: event.data.installationId, siteId: event.data.siteId }];
      case 'SiteContactsUpdated':
      case 'SiteSuspended':
      case 'SiteReactivated':
      case 'SiteDeletionProtectionEnabled':
      case 'SiteDeletionProtectionDisabled':
      case 'SiteLegalHoldPlaced':
      case 'SiteLegalHoldReleased':
      case 'SiteSoftDeleted':
      case 'SiteRestored':
      case 'SitePurged':
        return [];
      default: {
        const unhandled: never = event;
        throw new Error(`unhandled site event ${JSON.stringify(unhandled)}`);
      }
    }
  });
}

/**
 * What one use records on its ID's claim stream, given who holds the ID.
 * Claiming what the same holder already holds records nothing (an append
 * carried through after a partial commit finds its own claim); releasing an
 * ID the site does not hold records nothing (the claim is someone else's).
 * @throws IdCollisionError when the ID is taken in the other namespace.
 * @throws InstallationTakenError when the installation belongs to another site.
 */
export function decideIdClaim(use: IdUse, holder: IdClaimState): IdClaimEvent[] {
  switch (use.kind) {
    case 'claim-site':
      if (holder === null) return [{ type: 'SiteIdClaimed', data: { siteId: use.id } }];
      if (holder.as === 'installation')
        throw new IdCollisionError(use.id, `a product installation on site ${holder.siteId}`);
      return [];
    case 'claim-installation':
      if (holder === null)
        return [{ type: 'InstallationIdClaimed', data: { installationId: use.id, siteId: use.siteId } }];
      if (holder.as === 'site') throw new IdCollisionError(use.id, 'a site ID');
      if (holder.siteId !== use.siteId) throw new InstallationTakenError(use.id, holder.siteId);
      return [];
    case 'release-installation':
      return holder?.as === 'installation' && holder.siteId === use.siteId
        ? [{ type: 'InstallationIdReleased', data: { installationId: use.id, siteId: use.siteId } }]
        : [];
    default: {
      const unhandled: never = use;
      throw new Error(`unhandled ID use ${JSON.stringify(unhandled)}`);
    }
  }
}

/** Folds one claim event. Total: never throws. */
export function evolveIdClaim(state: IdClaimState, event: IdClaimEvent): IdClaimState {
  switch (event.type) {
    case 'SiteIdClaimed':
      return { as: 'site', siteId: event.data.siteId };
    case 'InstallationIdClaimed':
      return { as: 'installation', siteId: event.data.siteId };
    case 'InstallationIdReleased':
      // A release names its site; one that does not match the holder changes nothing.
      return state?.as === 'installation' && state.siteId === event.data.siteId ? null : state;
    default: {
      const unhandled: never = event;
      throw new Error(`unhandled claim event ${JSON.stringify(unhandled)}`);
    }
  }
}

/**
 * The claim events of every ID the uses touch, each use decided on the
 * holder the earlier ones left: an ID used twice by one command (a site
 * registered with its own ID as an installation) collides with itself, and
 * a revert that removes and re-adds an installation releases and claims it.
 * @param holders every used ID's holder as read; an ID missing from the map is free.
 * @returns per ID, the events to append to its claim stream (only IDs with events).
 */
export function decideIdClaims(
  uses: readonly IdUse[],
  holders: ReadonlyMap<string, IdClaimState>,
): Map<string, IdClaimEvent[]> {
  const current = new Map(holders);
  const decided = new Map<string, IdClaimEvent[]>();
  for (const use of uses) {
    const events = decideIdClaim(use, current.get(use.id) ?? null);
    if (events.length === 0) continue;
    current.set(use.id, events.reduce(evolveIdClaim, current.get(use.id) ?? null));
    decided.set(use.id, [...(decided.get(use.id) ?? []), ...events]);
  }
  return decided;
}
