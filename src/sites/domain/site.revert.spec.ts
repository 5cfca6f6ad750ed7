import { describe, expect, it } from 'vitest';
import { record } from '../../testing/decider-spec.js';
import type { CommandMetadata } from './site.commands.js';
import { foldSite, type SitePolicy } from './site.decider.js';
import type { SiteEvent } from './site.events.js';
import { decideRevert } from './site.revert.js';

const policy: SitePolicy = { defaultRetention: 'P30D', minRetention: 'P7D' };
const siteId = 'site-1';
const admin: CommandMetadata = { now: '2026-06-01T00:00:00.000Z', actor: { id: 'ada', admin: true } };
const operator: CommandMetadata = { ...admin, actor: { id: 'olivia', admin: false } };
const kim = { name: 'Kim', email: 'kim@example.com', role: 'owner' };
const sam = { name: 'Sam', email: 'sam@example.com', role: 'billing' };

const registered: SiteEvent = {
  type: 'SiteRegistered',
  data: {
    siteId,
    customerId: 'c',
    name: 'Shop',
    region: null,
    internal: false,
    products: [{ installationId: 'i1', productKey: 'shop' }],
    contacts: [kim],
    deletionProtection: false,
    retention: 'P30D',
  },
};
const history: SiteEvent[] = [
  registered,
  { type: 'SiteSuspended', data: { siteId } },
  { type: 'SiteProductRemoved', data: { siteId, installationId: 'i1', productKey: 'shop' } },
  { type: 'SiteProductAdded', data: { siteId, installationId: 'i2', productKey: 'blog' } },
  { type: 'SiteContactsUpdated', data: { siteId, contacts: [sam] } },
  { type: 'SiteDeletionProtectionEnabled', data: { siteId } },
];
const at = (events: SiteEvent[], version: number) => foldSite(record(events).slice(0, version));

describe('revert', () => {
  it('brings a site back to an earlier version with compensating events', () => {
    const events = decideRevert(at(history, 6), at(history, 1), admin, policy);
    expect(events.map((event) => event.type)).toEqual([
      'SiteReactivated',
      'SiteProductRemoved',
      'SiteProductAdded',
      'SiteContactsUpdated',
      'SiteDeletionProtectionDisabled',
    ]);
    const after = foldSite(record([...history, ...events]));
    const then = at(history, 1);
    expect(after).toMatchObject({
      status: then.status,
      products: (then as { products: unknown }).products,
      contacts: [kim],
      deletionProtection: false,
    });
  });

  it('does nothing when the site is already as it was', () => {
    expect(decideRevert(at(history, 6), at(history, 6), operator, policy)).toEqual([]);
  });

  it('keeps admin-only steps admin-only', () => {
    expect(() => decideRevert(at(history, 6), at(history, 1), operator, policy)).toThrow(
      expect.objectContaining({ code: 'site.admin-required' }) as Error,
    );
  });

  it('restores a deleted site when the target was live', () => {
    const deleted: SiteEvent[] = [
      registered,
      {
        type: 'SiteSoftDeleted',
        data: { siteId, operationId: 'op_1', previousStatus: 'active', purgeAfter: '2026-07-01T00:00:00.000Z' },
      },
    ];
    const events = decideRevert(at(deleted, 2), at(deleted, 1), operator, policy);
    expect(events).toEqual([{ type: 'SiteRestored', data: { siteId, compensates: 'event-2', status: 'active' } }]);
  });

  it('never deletes: a target before the site existed, or a deleted target for a live site, is 409', () => {
    const deleted: SiteEvent[] = [
      registered,
      {
        type: 'SiteSoftDeleted',
        data: { siteId, operationId: 'op_1', previousStatus: 'active', purgeAfter: '2026-07-01T00:00:00.000Z' },
      },
      { type: 'SiteRestored', data: { siteId, compensates: 'event-2', status: 'active' } },
    ];
    expect(() => decideRevert(at(deleted, 3), at(deleted, 2), admin, policy)).toThrow(
      expect.objectContaining({ code: 'site.revert-would-delete' }) as Error,
    );
    expect(() => decideRevert(at(deleted, 3), foldSite([]), admin, policy)).toThrow(
      expect.objectContaining({
        code: 'site.revert-would-delete',
        message: expect.stringContaining('did not exist yet') as string,
      }) as Error,
    );
  });

  it('a purged site cannot be reverted', () => {
    const purged: SiteEvent[] = [
      registered,
      {
        type: 'SiteSoftDeleted',
        data: { siteId, operationId: 'op_1', previousStatus: 'active', purgeAfter: '2026-01-01T00:00:00.000Z' },
      },
      { type: 'SitePurged', data: { siteId } },
    ];
    expect(() => decideRevert(at(purged, 3), at(purged, 1), admin, policy)).toThrow(
      expect.objectContaining({ code: 'site.purged' }) as Error,
    );
  });
});

describe('safety rules: revert', () => {
  const deletion: SiteEvent = {
    type: 'SiteSoftDeleted',
    data: { siteId, operationId: 'op_1', previousStatus: 'active', purgeAfter: '2026-07-01T00:00:00.000Z' },
  };
  const restoredAgain: SiteEvent = { type: 'SiteRestored', data: { siteId, compensates: 'event-2', status: 'active' } };

  it('revert never deletes: a live site reverted to a moment it was deleted is refused', () => {
    const events = [registered, deletion, restoredAgain];
    expect(() => decideRevert(at(events, 3), at(events, 2), admin, policy)).toThrow(
      expect.objectContaining({ code: 'site.revert-would-delete' }) as Error,
    );
  });

  it('revert never deletes: a site reverted to before it existed is refused', () => {
    expect(() => decideRevert(at(history, 6), foldSite([]), admin, policy)).toThrow(
      expect.objectContaining({ code: 'site.revert-would-delete' }) as Error,
    );
  });

  it('revert never deletes: a live site reverted to a moment it was purged is refused', () => {
    const purgedThen = foldSite(record([registered, deletion, { type: 'SitePurged', data: { siteId } }]));
    expect(() => decideRevert(at(history, 6), purgedThen, admin, policy)).toThrow(
      expect.objectContaining({ code: 'site.revert-would-delete' }) as Error,
    );
  });

  it('a purged site stays purged: revert refuses it, whatever the target', () => {
    const purgedNow = foldSite(record([registered, deletion, { type: 'SitePurged', data: { siteId } }]));
    expect(() => decideRevert(purgedNow, at(history, 1), admin, policy)).toThrow(
      expect.objectContaining({ code: 'site.purged' }) as Error,
    );
  });

  it('revert keeps admin-only changes admin-only: an operator cannot lift deletion protection by reverting', () => {
    expect(() => decideRevert(at(history, 6), at(history, 5), operator, policy)).toThrow(
      expect.objectContaining({ code: 'site.admin-required' }) as Error,
    );
  });
});

describe('revert: each attribute', () => {
  const deletion: SiteEvent = {
    type: 'SiteSoftDeleted',
    data: { siteId, operationId: 'op_1', previousStatus: 'active', purgeAfter: '2026-07-01T00:00:00.000Z' },
  };
  const hold = (reference: string): SiteEvent => ({
    type: 'SiteLegalHoldPlaced',
    data: { siteId, legalHold: { reason: `for ${reference}`, reference, placedBy: 'ada', placedAt: admin.now } },
  });
  const released = (reference: string): SiteEvent => ({ type: 'SiteLegalHoldReleased', data: { siteId, reference } });
  const revert = (events: SiteEvent[], from: number, to: number, metadata = admin) =>
    decideRevert(at(events, from), at(events, to), metadata, policy);

  it('forward as well as back: suspends, swaps products, updates contacts and enables protection', () => {
    expect(revert(history, 1, 6)).toEqual([
      { type: 'SiteSuspended', data: { siteId } },
      { type: 'SiteProductRemoved', data: { siteId, installationId: 'i1', productKey: 'shop' } },
      { type: 'SiteProductAdded', data: { siteId, installationId: 'i2', productKey: 'blog' } },
      { type: 'SiteContactsUpdated', data: { siteId, contacts: [sam] } },
      { type: 'SiteDeletionProtectionEnabled', data: { siteId } },
    ]);
  });

  it('tells products apart by installation and product key together', () => {
    const events: SiteEvent[] = [
      {
        ...registered,
        data: { ...(registered.data as object), products: [{ installationId: 'ab', productKey: 'c' }] },
      } as SiteEvent,
      { type: 'SiteProductRemoved', data: { siteId, installationId: 'ab', productKey: 'c' } },
      { type: 'SiteProductAdded', data: { siteId, installationId: 'a', productKey: 'bc' } },
    ];
    expect(revert(events, 3, 1).map((event) => event.type)).toEqual(['SiteProductRemoved', 'SiteProductAdded']);
  });

  it('releases a hold the target did not have, and places the one it had', () => {
    expect(revert([registered, hold('LH-1')], 2, 1)).toEqual([released('LH-1')]);
    expect(revert([registered, hold('LH-1'), released('LH-1')], 3, 2)).toEqual([
      {
        type: 'SiteLegalHoldPlaced',
        data: { siteId, legalHold: { reason: 'for LH-1', reference: 'LH-1', placedBy: 'ada', placedAt: admin.now } },
      },
    ]);
  });

  it('swaps a hold for the target one when the references differ, and keeps the same one', () => {
    const events = [registered, hold('LH-1'), released('LH-1'), hold('LH-2')];
    expect(revert(events, 4, 2).map((event) => event.type)).toEqual(['SiteLegalHoldReleased', 'SiteLegalHoldPlaced']);
    expect(revert(events, 4, 4)).toEqual([]);
  });

  it('leaves contacts alone when the target only has them redacted', () => {
    const redacted: SiteEvent = { type: 'SiteContactsUpdated', data: { siteId, contacts: [{ redacted: true }] } };
    expect(
      revert([registered, redacted, { type: 'SiteContactsUpdated', data: { siteId, contacts: [sam] } }], 3, 2),
    ).toEqual([]);
  });

  it('a deleted site reverted to an earlier moment it was deleted stays deleted, and only what may change on it changes', () => {
    const events: SiteEvent[] = [
      registered,
      deletion,
      { type: 'SiteContactsUpdated', data: { siteId, contacts: [sam] } },
      { type: 'SiteDeletionProtectionEnabled', data: { siteId } },
    ];
    expect(revert(events, 4, 2)).toEqual([
      { type: 'SiteContactsUpdated', data: { siteId, contacts: [kim] } },
      { type: 'SiteDeletionProtectionDisabled', data: { siteId } },
    ]);
  });

  it('a deleted site reverted to before it existed is refused: that would delete it for good', () => {
    expect(() => decideRevert(at([registered, deletion], 2), foldSite([]), admin, policy)).toThrow(
      expect.objectContaining({
        code: 'site.revert-would-delete',
        message: expect.stringContaining('did not exist yet'),
      }),
    );
  });

  it('a deleted site reverted to a purged state is refused', () => {
    const purgedThen = foldSite(record([registered, deletion, { type: 'SitePurged', data: { siteId } }]));
    expect(() => decideRevert(at([registered, deletion], 2), purgedThen, admin, policy)).toThrow(
      expect.objectContaining({
        code: 'site.revert-would-delete',
        message: expect.stringContaining('plan an operation'),
      }),
    );
  });

  it('a site that does not exist cannot be reverted', () => {
    expect(() => decideRevert(foldSite([]), at(history, 1), admin, policy)).toThrow(
      expect.objectContaining({ code: 'site.not-found', message: expect.stringContaining('(unknown)') }),
    );
  });
});

describe('revert: the details', () => {
  const deletion: SiteEvent = {
    type: 'SiteSoftDeleted',
    data: { siteId, operationId: 'op_1', previousStatus: 'active', purgeAfter: '2026-07-01T00:00:00.000Z' },
  };
  const purged: SiteEvent = { type: 'SitePurged', data: { siteId } };

  it('a purged site is refused as purged, even when reverted to a moment it was deleted', () => {
    const events = [registered, deletion, purged];
    expect(() => decideRevert(at(events, 3), at(events, 2), admin, policy)).toThrow(
      expect.objectContaining({ code: 'site.purged' }) as Error,
    );
  });

  it('refusing to delete is a conflict', () => {
    let thrown: unknown;
    try {
      decideRevert(at([registered, deletion], 1), at([registered, deletion], 2), admin, policy);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ kind: 'conflict', code: 'site.revert-would-delete' });
  });

  it('a deleted site keeps its products when reverted to an earlier deletion: they cannot change while it is deleted', () => {
    const events: SiteEvent[] = [
      registered,
      deletion,
      { type: 'SiteRestored', data: { siteId, compensates: 'event-2', status: 'active' } },
      { type: 'SiteProductAdded', data: { siteId, installationId: 'i2', productKey: 'blog' } },
      { ...deletion, data: { ...(deletion.data as object), operationId: 'op_2' } } as SiteEvent,
    ];
    expect(decideRevert(at(events, 5), at(events, 2), admin, policy)).toEqual([]);
  });
});
