import type { CommandMetadata, SiteCommand } from './site.commands.js';
import { decideSite, evolveSite, type SitePolicy } from './site.decider.js';
import { DomainError } from '../../common/domain-error.js';
import type { SiteEvent } from './site.events.js';
import { SiteNotFoundError, SitePurgedError } from './site.errors.js';
import type { RegisteredSite, SiteState } from './site.state.js';

export class RevertWouldDeleteError extends DomainError {
  constructor(siteId: string, targetStatus: SiteState['status']) {
    super(
      'conflict',
      'site.revert-would-delete',
      targetStatus === 'unregistered'
        ? `site ${siteId} did not exist yet at that point; reverting to it would delete the site, and revert never deletes — pick a moment after its registration`
        : `reverting site ${siteId} to that point would delete it; revert never deletes — plan an operation instead`,
    );
  }
}

type CommandInput = SiteCommand extends infer C ? (C extends SiteCommand ? Omit<C, 'metadata'> : never) : never;

/**
 * The compensating events that bring a site from `current` back to how it
 * was in `target` (SPEC §5 revert). Each step is a plain site command run
 * through the decider, so every rule holds (admin-only changes stay
 * admin-only, purged stays final). Attributes no event can change (name,
 * customer, region, retention) stay as they are. Never deletes.
 */
export function decideRevert(
  current: SiteState,
  target: SiteState,
  metadata: CommandMetadata,
  policy: SitePolicy,
): SiteEvent[] {
  if (current.status === 'unregistered') throw new SiteNotFoundError('(unknown)');
  const { siteId } = current;
  if (current.status === 'purged') throw new SitePurgedError(siteId);
  if (target.status === 'unregistered' || target.status === 'deleted' || target.status === 'purged') {
    if (current.status !== 'deleted' || target.status === 'unregistered' || target.status === 'purged') {
      throw new RevertWouldDeleteError(siteId, target.status);
    }
  }

  const events: SiteEvent[] = [];
  let state: SiteState = current;
  const run = (input: CommandInput): void => {
    const decided = decideSite({ ...input, metadata } as SiteCommand, state, policy);
    for (const event of decided) {
      events.push(event);
      const version = (state as RegisteredSite).version + 1;
      state = evolveSite(state, { ...event, eventId: `revert-${version}`, version, occurredAt: metadata.now });
    }
  };

  if (state.status === 'deleted' && target.status !== 'deleted') run({ type: 'RestoreSite', data: { siteId } });
  const wanted = target as RegisteredSite;
  const now = (): RegisteredSite => state as RegisteredSite;

  // Here a target that is not live is deleted, and so is the site (anything else was refused above).
  if (now().status !== wanted.status) {
    run({ type: wanted.status === 'suspended' ? 'SuspendSite' : 'ReactivateSite', data: { siteId } });
  }
  if (now().status !== 'deleted') {
    const key = (p: { installationId: string; productKey: string }) => `${p.installationId}\u0000${p.productKey}`;
    const wantedProducts = new Set(wanted.products.map(key));
    for (const product of now().products) {
      if (!wantedProducts.has(key(product)))
        run({ type: 'RemoveSiteProduct', data: { siteId, installationId: product.installationId } });
    }
    const haveProducts = new Set(now().products.map(key));
    for (const product of wanted.products) {
      if (!haveProducts.has(key(product))) run({ type: 'AddSiteProduct', data: { siteId, ...product } });
    }
  }
  const contacts = wanted.contacts.flatMap((contact) => ('redacted' in contact ? [] : [contact]));
  if (contacts.length === wanted.contacts.length) run({ type: 'UpdateSiteContacts', data: { siteId, contacts } });
  if (now().deletionProtection !== wanted.deletionProtection) {
    run({
      type: wanted.deletionProtection ? 'EnableDeletionProtection' : 'DisableDeletionProtection',
      data: { siteId },
    });
  }
  const hold = now().legalHold;
  if (hold && (!wanted.legalHold || wanted.legalHold.reference !== hold.reference)) {
    run({ type: 'ReleaseLegalHold', data: { siteId } });
  }
  if (wanted.legalHold && now().legalHold?.reference !== wanted.legalHold.reference) {
    run({
      type: 'PlaceLegalHold',
      data: { siteId, reason: wanted.legalHold.reason, reference: wanted.legalHold.reference },
    });
  }
  return events;
}
