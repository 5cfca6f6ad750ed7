/** A product installed on a site (an "app installed on" it). */
export interface SiteProduct {
  installationId: string;
  productKey: string;
}

/** A key contact: personal data, stored encrypted with the site's data key. */
export interface Contact {
  name: string;
  email: string;
  role: string;
}

/** A contact whose data key was destroyed by a purge. */
export interface RedactedContact {
  redacted: true;
}

/** Contacts as they read back: in the clear, or redacted after a purge. */
export type SiteContact = Contact | RedactedContact;

export interface LegalHold {
  reason: string;
  reference: string;
  placedBy: string;
  placedAt: string;
}

export type SiteStatus = 'active' | 'suspended' | 'deleted' | 'purged';

/** The statuses a deletion can come from, and a restore goes back to. */
export type LiveStatus = 'active' | 'suspended';

export type SiteRegistered = {
  type: 'SiteRegistered';
  data: {
    siteId: string;
    customerId: string;
    name: string;
    region: string | null;
    internal: boolean;
    products: SiteProduct[];
    contacts: SiteContact[];
    deletionProtection: boolean;
    /** ISO 8601 duration between soft delete and purge. */
    retention: string;
  };
};
export type SiteProductAdded = {
  type: 'SiteProductAdded';
  data: { siteId: string; installationId: string; productKey: string };
};
export type SiteProductRemoved = {
  type: 'SiteProductRemoved';
  data: { siteId: string; installationId: string; productKey: string };
};
export type SiteContactsUpdated = {
  type: 'SiteContactsUpdated';
  data: { siteId: string; contacts: SiteContact[] };
};
export type SiteSuspended = { type: 'SiteSuspended'; data: { siteId: string } };
export type SiteReactivated = { type: 'SiteReactivated'; data: { siteId: string } };
export type SiteDeletionProtectionEnabled = {
  type: 'SiteDeletionProtectionEnabled';
  data: { siteId: string };
};
export type SiteDeletionProtectionDisabled = {
  type: 'SiteDeletionProtectionDisabled';
  data: { siteId: string };
};
export type SiteLegalHoldPlaced = {
  type: 'SiteLegalHoldPlaced';
  data: { siteId: string; legalHold: LegalHold };
};
export type SiteLegalHoldReleased = {
  type: 'SiteLegalHoldReleased';
  data: { siteId: string; reference: string };
};
export type SiteSoftDeleted = {
  type: 'SiteSoftDeleted';
  data: {
    siteId: string;
    operationId: string;
    /** The status a restore returns the site to. */
    previousStatus: LiveStatus;
    /** ISO time after which the retention sweeper may purge the site. */
    purgeAfter: string;
  };
};
export type SiteRestored = {
  type: 'SiteRestored';
  data: {
    siteId: string;
    /** The eventId of the SiteSoftDeleted this restore compensates. */
    compensates: string;
    status: LiveStatus;
  };
};
export type SitePurged = { type: 'SitePurged'; data: { siteId: string } };

export type SiteEvent =
  | SiteRegistered
  | SiteProductAdded
  | SiteProductRemoved
  | SiteContactsUpdated
  | SiteSuspended
  | SiteReactivated
  | SiteDeletionProtectionEnabled
  | SiteDeletionProtectionDisabled
  | SiteLegalHoldPlaced
  | SiteLegalHoldReleased
  | SiteSoftDeleted
  | SiteRestored
  | SitePurged;

export type SiteEventType = SiteEvent['type'];

export const SITE_EVENT_TYPES: readonly SiteEventType[] = [
  'SiteRegistered',
  'SiteProductAdded',
  'SiteProductRemoved',
  'SiteContactsUpdated',
  'SiteSuspended',
  'SiteReactivated',
  'SiteDeletionProtectionEnabled',
  'SiteDeletionProtectionDisabled',
  'SiteLegalHoldPlaced',
  'SiteLegalHoldReleased',
  'SiteSoftDeleted',
  'SiteRestored',
  'SitePurged',
];
