import type { LegalHold, LiveStatus, SiteRegistered } from './site.events.js';

/**
 * What every registered site has, whatever its status: what it was
 * registered with (as changed since), plus what the ledger adds.
 */
export type SiteFacts = SiteRegistered['data'] & {
  legalHold: LegalHold | null;
  registeredAt: string;
  /** Version of the stream after the last event folded in. */
  version: number;
  /** When the last event folded in occurred. */
  updatedAt: string;
};

/** The soft delete a deleted or purged site carries. */
export interface Deletion {
  /** The SiteSoftDeleted eventId, named by the restore that compensates it. */
  eventId: string;
  operationId: string;
  deletedAt: string;
  purgeAfter: string;
  previousStatus: LiveStatus;
}

export type UnregisteredSite = { status: 'unregistered' };
export type LiveSite = SiteFacts & { status: LiveStatus };
export type DeletedSite = SiteFacts & { status: 'deleted'; deletion: Deletion };
export type PurgedSite = SiteFacts & { status: 'purged'; deletion: Deletion; purgedAt: string };

export type SiteState = UnregisteredSite | LiveSite | DeletedSite | PurgedSite;
export type RegisteredSite = Exclude<SiteState, UnregisteredSite>;

export const initialSiteState: SiteState = { status: 'unregistered' };
