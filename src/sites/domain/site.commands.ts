import type { Contact, SiteProduct } from './site.events.js';

/** Who asks, and when. Time comes in here: the decider never reads a clock. */
export interface CommandMetadata {
  /** ISO 8601 UTC. */
  now: string;
  actor: { id: string; admin: boolean };
}

/** Every site command names its site; `Data` holds the rest. */
type Command<Type extends string, Data = Record<never, never>> = {
  type: Type;
  data: { siteId: string } & Data;
  metadata: CommandMetadata;
};

export type RegisterSite = Command<
  'RegisterSite',
  {
    customerId: string;
    name: string;
    region?: string | null;
    internal?: boolean;
    products?: SiteProduct[];
    contacts?: Contact[];
    /** ISO 8601 duration; the policy's default when omitted. */
    retention?: string;
  }
>;
export type AddSiteProduct = Command<'AddSiteProduct', SiteProduct>;
export type RemoveSiteProduct = Command<'RemoveSiteProduct', { installationId: string }>;
export type UpdateSiteContacts = Command<'UpdateSiteContacts', { contacts: Contact[] }>;
export type SuspendSite = Command<'SuspendSite'>;
export type ReactivateSite = Command<'ReactivateSite'>;
export type EnableDeletionProtection = Command<'EnableDeletionProtection'>;
export type DisableDeletionProtection = Command<'DisableDeletionProtection'>;
export type PlaceLegalHold = Command<'PlaceLegalHold', { reason: string; reference: string }>;
export type ReleaseLegalHold = Command<'ReleaseLegalHold'>;
/** Only a deletion operation's wave sends this (SPEC §4). */
export type SoftDeleteSite = Command<'SoftDeleteSite', { operationId: string }>;
export type RestoreSite = Command<'RestoreSite'>;
/** Only the retention sweeper sends this. */
export type PurgeSite = Command<'PurgeSite'>;

export type SiteCommand =
  | RegisterSite
  | AddSiteProduct
  | RemoveSiteProduct
  | UpdateSiteContacts
  | SuspendSite
  | ReactivateSite
  | EnableDeletionProtection
  | DisableDeletionProtection
  | PlaceLegalHold
  | ReleaseLegalHold
  | SoftDeleteSite
  | RestoreSite
  | PurgeSite;

export type SiteCommandType = SiteCommand['type'];
