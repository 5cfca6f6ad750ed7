import { addIsoDuration, parseIsoDuration } from '../../common/iso-duration.js';
import type { Recorded } from '../../common/recorded.js';
import type { CommandMetadata, PlaceLegalHold, RegisterSite, SiteCommand } from './site.commands.js';
import type { Contact, LiveStatus, SiteContact, SiteEvent } from './site.events.js';
import {
  AdminRequiredError,
  DeletionProtectedError,
  DuplicateInstallationError,
  InvalidRetentionError,
  LegalHoldAlreadyPlacedError,
  LegalHoldError,
  NoLegalHoldError,
  ProductAlreadyInstalledError,
  ProductNotInstalledError,
  RetentionNotExpiredError,
  SiteAlreadyDeletedError,
  SiteAlreadyExistsError,
  SiteAlreadySuspendedError,
  SiteDeletedError,
  SiteNotDeletedError,
  SiteNotFoundError,
  SiteNotSuspendedError,
  SitePurgedError,
} from './site.errors.js';
import type { DeletedSite, LiveSite, RegisteredSite, SiteState } from './site.state.js';

/** Settings the rules depend on (SPEC §8), passed in so the decider stays pure. */
export interface SitePolicy {
  /** Retention of sites registered without one. */
  defaultRetention: string;
  /** The shortest retention a site may have. */
  minRetention: string;
}

/**
 * Decides what a command does to a site: the events to record, or a
 * DomainError naming the broken rule. Returns [] when the command asks for
 * what is already true (idempotent settings), so nothing is recorded.
 */
export function decideSite(command: SiteCommand, state: SiteState, policy: SitePolicy): SiteEvent[] {
  const { siteId } = command.data;
  if (command.type === 'RegisterSite') {
    if (state.status !== 'unregistered') throw new SiteAlreadyExistsError(siteId);
    return [register(command, policy)];
  }
  if (state.status === 'unregistered') throw new SiteNotFoundError(siteId);
  // A purged site's history is final: nothing but reads.
  if (state.status === 'purged') throw new SitePurgedError(siteId);

  switch (command.type) {
    case 'AddSiteProduct': {
      const site = requireLive(state, 'change its products');
      const { installationId, productKey } = command.data;
      if (site.products.some((product) => product.installationId === installationId)) {
        throw new ProductAlreadyInstalledError(siteId, installationId);
      }
      return [{ type: 'SiteProductAdded', data: { siteId, installationId, productKey } }];
    }
    case 'RemoveSiteProduct': {
      const site = requireLive(state, 'change its products');
      const { installationId } = command.data;
      const product = site.products.find((candidate) => candidate.installationId === installationId);
      if (!product) throw new ProductNotInstalledError(siteId, installationId);
      return [{ type: 'SiteProductRemoved', data: { siteId, installationId, productKey: product.productKey } }];
    }
    case 'UpdateSiteContacts':
      // Allowed on deleted sites too: key contacts must stay reachable (SPEC §1).
      return sameContacts(state.contacts, command.data.contacts)
        ? []
        : [{ type: 'SiteContactsUpdated', data: { siteId, contacts: command.data.contacts } }];
    case 'SuspendSite': {
      const site = requireLive(state, 'suspend it');
      if (site.status === 'suspended') throw new SiteAlreadySuspendedError(siteId);
      return [{ type: 'SiteSuspended', data: { siteId } }];
    }
    case 'ReactivateSite': {
      const site = requireLive(state, 'reactivate it');
      if (site.status !== 'suspended') throw new SiteNotSuspendedError(siteId);
      return [{ type: 'SiteReactivated', data: { siteId } }];
    }
    case 'EnableDeletionProtection':
      return state.deletionProtection ? [] : [{ type: 'SiteDeletionProtectionEnabled', data: { siteId } }];
    case 'DisableDeletionProtection':
      requireAdmin(command.metadata, 'disabling deletion protection');
      return state.deletionProtection ? [{ type: 'SiteDeletionProtectionDisabled', data: { siteId } }] : [];
    case 'PlaceLegalHold':
      return [placeLegalHold(command, state)];
    case 'ReleaseLegalHold':
      requireAdmin(command.metadata, 'releasing a legal hold');
      if (!state.legalHold) throw new NoLegalHoldError(siteId);
      return [{ type: 'SiteLegalHoldReleased', data: { siteId, reference: state.legalHold.reference } }];
    case 'SoftDeleteSite': {
      if (state.status === 'deleted') throw new SiteAlreadyDeletedError(siteId);
      if (state.deletionProtection) throw new DeletionProtectedError(siteId);
      if (state.legalHold) throw new LegalHoldError(siteId, 'deleted');
      const purgeAfter = addIsoDuration(
        new Date(command.metadata.now),
        parseRetention(state.retention, policy),
      ).toISOString();
      return [
        {
          type: 'SiteSoftDeleted',
          data: {
            siteId,
            operationId: command.data.operationId,
            previousStatus: state.status,
            purgeAfter,
          },
        },
      ];
    }
    case 'RestoreSite': {
      const site = requireDeleted(state);
      return [
        {
          type: 'SiteRestored',
          data: { siteId, compensates: site.deletion.eventId, status: site.deletion.previousStatus },
        },
      ];
    }
    case 'PurgeSite': {
      const site = requireDeleted(state);
      if (site.legalHold) throw new LegalHoldError(siteId, 'purged');
      if (command.metadata.now < site.deletion.purgeAfter) {
        throw new RetentionNotExpiredError(siteId, site.deletion.purgeAfter);
      }
      return [{ type: 'SitePurged', data: { siteId } }];
    }
    default: {
      const unhandled: never = command;
      throw new Error(`unhandled site command ${JSON.stringify(unhandled)}`);
    }
  }
}

/** Folds one recorded event into the state. Total: never throws. */
export function evolveSite(state: SiteState, event: Recorded<SiteEvent>): SiteState {
  if (event.type === 'SiteRegistered') {
    return {
      ...event.data,
      status: 'active',
      legalHold: null,
      registeredAt: event.occurredAt,
      version: event.version,
      updatedAt: event.occurredAt,
    };
  }
  // Only SiteRegistered can start a stream; anything else before it is ignored.
  if (state.status === 'unregistered') return state;
  const site: RegisteredSite = { ...state, version: event.version, updatedAt: event.occurredAt };

  switch (event.type) {
    case 'SiteProductAdded':
      return {
        ...site,
        products: [...site.products, { installationId: event.data.installationId, productKey: event.data.productKey }],
      };
    case 'SiteProductRemoved':
      return {
        ...site,
        products: site.products.filter((product) => product.installationId !== event.data.installationId),
      };
    case 'SiteContactsUpdated':
      return { ...site, contacts: event.data.contacts };
    case 'SiteSuspended':
      return withStatus(site, 'suspended');
    case 'SiteReactivated':
      return withStatus(site, 'active');
    case 'SiteDeletionProtectionEnabled':
      return { ...site, deletionProtection: true };
    case 'SiteDeletionProtectionDisabled':
      return { ...site, deletionProtection: false };
    case 'SiteLegalHoldPlaced':
      return { ...site, legalHold: event.data.legalHold };
    case 'SiteLegalHoldReleased':
      return { ...site, legalHold: null };
    case 'SiteSoftDeleted':
      return {
        ...site,
        status: 'deleted',
        deletion: {
          eventId: event.eventId,
          operationId: event.data.operationId,
          deletedAt: event.occurredAt,
          purgeAfter: event.data.purgeAfter,
          previousStatus: event.data.previousStatus,
        },
      };
    case 'SiteRestored':
      return withStatus(site, event.data.status);
    case 'SitePurged':
      return site.status === 'deleted' ? { ...site, status: 'purged', purgedAt: event.occurredAt } : site;
    default: {
      const unhandled: never = event;
      throw new Error(`unhandled site event ${JSON.stringify(unhandled)}`);
    }
  }
}

/** Rebuilds a site's state from its recorded events, oldest first. */
export function foldSite(events: Iterable<Recorded<SiteEvent>>): SiteState {
  let state: SiteState = { status: 'unregistered' };
  for (const event of events) state = evolveSite(state, event);
  return state;
}

function register(command: RegisterSite, policy: SitePolicy): SiteEvent {
  const { siteId, customerId, name } = command.data;
  const retention = command.data.retention ?? policy.defaultRetention;
  parseRetention(retention, policy, command.metadata.now);
  const products = command.data.products ?? [];
  const seen = new Set<string>();
  for (const { installationId } of products) {
    if (seen.has(installationId)) throw new DuplicateInstallationError(installationId);
    seen.add(installationId);
  }
  return {
    type: 'SiteRegistered',
    data: {
      siteId,
      customerId,
      name,
      region: command.data.region ?? null,
      internal: command.data.internal ?? false,
      products,
      contacts: command.data.contacts ?? [],
      deletionProtection: false,
      retention,
    },
  };
}

function placeLegalHold(command: PlaceLegalHold, state: RegisteredSite): SiteEvent {
  requireAdmin(command.metadata, 'placing a legal hold');
  const { siteId, reason, reference } = command.data;
  if (state.legalHold) throw new LegalHoldAlreadyPlacedError(siteId, state.legalHold.reference);
  return {
    type: 'SiteLegalHoldPlaced',
    data: {
      siteId,
      legalHold: {
        reason,
        reference,
        placedBy: command.metadata.actor.id,
        placedAt: command.metadata.now,
      },
    },
  };
}

/**
 * The retention as a duration, checked against the policy's minimum at
 * `now` (calendar durations such as P1M have no fixed length).
 */
function parseRetention(retention: string, policy: SitePolicy, now?: string) {
  const duration = parseIsoDuration(retention);
  const minimum = parseIsoDuration(policy.minRetention);
  if (!duration || !minimum) throw new InvalidRetentionError(retention, policy.minRetention);
  if (now !== undefined) {
    const at = new Date(now);
    if (addIsoDuration(at, duration) < addIsoDuration(at, minimum)) {
      throw new InvalidRetentionError(retention, policy.minRetention);
    }
  }
  return duration;
}

function requireLive(state: LiveSite | DeletedSite, action: string): LiveSite {
  if (state.status === 'deleted') throw new SiteDeletedError(state.siteId, action);
  return state;
}

function requireDeleted(state: LiveSite | DeletedSite): DeletedSite {
  if (state.status !== 'deleted') throw new SiteNotDeletedError(state.siteId, state.status);
  return state;
}

function requireAdmin(metadata: CommandMetadata, action: string): void {
  if (!metadata.actor.admin) throw new AdminRequiredError(action);
}

function withStatus(site: RegisteredSite, status: LiveStatus): LiveSite {
  // Dropping `deletion`/`purgedAt` keeps a restored site free of its deleted past.
  const { siteId, customerId, name, region, internal, products, contacts } = site;
  const { deletionProtection, legalHold, retention, registeredAt, version, updatedAt } = site;
  return {
    siteId,
    customerId,
    name,
    region,
    internal,
    products,
    contacts,
    deletionProtection,
    legalHold,
    retention,
    registeredAt,
    version,
    updatedAt,
    status,
  };
}

function sameContacts(current: readonly SiteContact[], next: readonly Contact[]): boolean {
  return (
    current.length === next.length &&
    current.every((contact, index) => {
      const other = next[index];
      return (
        other !== undefined &&
        !('redacted' in contact) &&
        contact.name === other.name &&
        contact.email === other.email &&
        contact.role === other.role
      );
    })
  );
}
