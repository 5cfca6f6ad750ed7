import { describe, expect, it } from 'vitest';
import { deciderSpec, record } from '../../testing/decider-spec.js';
import type { CommandMetadata, SiteCommand, SiteCommandType } from './site.commands.js';
import { decideSite, evolveSite, foldSite, type SitePolicy } from './site.decider.js';
import type { SiteEvent, SiteEventType } from './site.events.js';
import { SITE_EVENT_TYPES } from './site.events.js';
import { initialSiteState } from './site.state.js';

const policy: SitePolicy = { defaultRetention: 'P30D', minRetention: 'P7D' };
const spec = deciderSpec({
  decide: (command: SiteCommand, state) => decideSite(command, state, policy),
  evolve: evolveSite,
  initialState: initialSiteState,
});

const siteId = 'site-1';
const now = '2026-03-01T12:00:00.000Z';
const operator: CommandMetadata = { now, actor: { id: 'olivia', admin: false } };
const admin: CommandMetadata = { now, actor: { id: 'ada', admin: true } };
const contact = { name: 'Kim Lee', email: 'kim@example.com', role: 'owner' };

const registered: SiteEvent = {
  type: 'SiteRegistered',
  data: {
    siteId,
    customerId: 'cust-1',
    name: 'Shop',
    region: 'eu-west',
    internal: false,
    products: [{ installationId: 'inst-1', productKey: 'shop' }],
    contacts: [contact],
    deletionProtection: false,
    retention: 'P30D',
  },
};
const suspended: SiteEvent = { type: 'SiteSuspended', data: { siteId } };
const protectedOn: SiteEvent = { type: 'SiteDeletionProtectionEnabled', data: { siteId } };
const held: SiteEvent = {
  type: 'SiteLegalHoldPlaced',
  data: {
    siteId,
    legalHold: { reason: 'litigation', reference: 'LH-1', placedBy: 'ada', placedAt: now },
  },
};
const softDeleted = (previousStatus: 'active' | 'suspended' = 'active'): SiteEvent => ({
  type: 'SiteSoftDeleted',
  data: { siteId, operationId: 'op_1', previousStatus, purgeAfter: '2026-02-01T00:00:00.000Z' },
});
const purged: SiteEvent = { type: 'SitePurged', data: { siteId } };

function command(type: SiteCommandType, metadata: CommandMetadata = admin): SiteCommand {
  const data: Record<SiteCommandType, object> = {
    RegisterSite: { customerId: 'cust-9', name: 'New' },
    AddSiteProduct: { installationId: 'inst-2', productKey: 'blog' },
    RemoveSiteProduct: { installationId: 'inst-1' },
    UpdateSiteContacts: { contacts: [{ ...contact, name: 'Sam Roe' }] },
    SuspendSite: {},
    ReactivateSite: {},
    EnableDeletionProtection: {},
    DisableDeletionProtection: {},
    PlaceLegalHold: { reason: 'audit', reference: 'LH-2' },
    ReleaseLegalHold: {},
    SoftDeleteSite: { operationId: 'op_2' },
    RestoreSite: {},
    PurgeSite: {},
  };
  return { type, data: { siteId, ...data[type] }, metadata } as SiteCommand;
}

/**
 * Every state × command pair, with the admin role so only the state decides.
 * A cell is the event type recorded, `[]` for an idempotent no-op, or the
 * error code.
 */
const states: Record<string, SiteEvent[]> = {
  unregistered: [],
  active: [registered],
  suspended: [registered, suspended],
  protected: [registered, protectedOn],
  held: [registered, held],
  deleted: [registered, softDeleted()],
  'deleted+held': [registered, softDeleted(), held],
  purged: [registered, softDeleted(), purged],
};
type Outcome = SiteEventType | '[]' | `site.${string}`;
// A table: one row per command, its outcome in each state.
// prettier-ignore
const matrix: Record<SiteCommandType, Record<keyof typeof states, Outcome>> = {
  RegisterSite: {
    unregistered: 'SiteRegistered', active: 'site.already-exists', suspended: 'site.already-exists',
    protected: 'site.already-exists', held: 'site.already-exists', deleted: 'site.already-exists',
    'deleted+held': 'site.already-exists', purged: 'site.already-exists',
  },
  AddSiteProduct: {
    unregistered: 'site.not-found', active: 'SiteProductAdded', suspended: 'SiteProductAdded',
    protected: 'SiteProductAdded', held: 'SiteProductAdded', deleted: 'site.deleted',
    'deleted+held': 'site.deleted', purged: 'site.purged',
  },
  RemoveSiteProduct: {
    unregistered: 'site.not-found', active: 'SiteProductRemoved', suspended: 'SiteProductRemoved',
    protected: 'SiteProductRemoved', held: 'SiteProductRemoved', deleted: 'site.deleted',
    'deleted+held': 'site.deleted', purged: 'site.purged',
  },
  UpdateSiteContacts: {
    unregistered: 'site.not-found', active: 'SiteContactsUpdated', suspended: 'SiteContactsUpdated',
    protected: 'SiteContactsUpdated', held: 'SiteContactsUpdated', deleted: 'SiteContactsUpdated',
    'deleted+held': 'SiteContactsUpdated', purged: 'site.purged',
  },
  SuspendSite: {
    unregistered: 'site.not-found', active: 'SiteSuspended', suspended: 'site.already-suspended',
    protected: 'SiteSuspended', held: 'SiteSuspended', deleted: 'site.deleted',
    'deleted+held': 'site.deleted', purged: 'site.purged',
  },
  ReactivateSite: {
    unregistered: 'site.not-found', active: 'site.not-suspended', suspended: 'SiteReactivated',
    protected: 'site.not-suspended', held: 'site.not-suspended', deleted: 'site.deleted',
    'deleted+held': 'site.deleted', purged: 'site.purged',
  },
  EnableDeletionProtection: {
    unregistered: 'site.not-found', active: 'SiteDeletionProtectionEnabled',
    suspended: 'SiteDeletionProtectionEnabled', protected: '[]', held: 'SiteDeletionProtectionEnabled',
    deleted: 'SiteDeletionProtectionEnabled', 'deleted+held': 'SiteDeletionProtectionEnabled',
    purged: 'site.purged',
  },
  DisableDeletionProtection: {
    unregistered: 'site.not-found', active: '[]', suspended: '[]',
    protected: 'SiteDeletionProtectionDisabled', held: '[]', deleted: '[]', 'deleted+held': '[]',
    purged: 'site.purged',
  },
  PlaceLegalHold: {
    unregistered: 'site.not-found', active: 'SiteLegalHoldPlaced', suspended: 'SiteLegalHoldPlaced',
    protected: 'SiteLegalHoldPlaced', held: 'site.legal-hold-exists', deleted: 'SiteLegalHoldPlaced',
    'deleted+held': 'site.legal-hold-exists', purged: 'site.purged',
  },
  ReleaseLegalHold: {
    unregistered: 'site.not-found', active: 'site.no-legal-hold', suspended: 'site.no-legal-hold',
    protected: 'site.no-legal-hold', held: 'SiteLegalHoldReleased', deleted: 'site.no-legal-hold',
    'deleted+held': 'SiteLegalHoldReleased', purged: 'site.purged',
  },
  SoftDeleteSite: {
    unregistered: 'site.not-found', active: 'SiteSoftDeleted', suspended: 'SiteSoftDeleted',
    protected: 'site.deletion-protected', held: 'site.legal-hold', deleted: 'site.already-deleted',
    'deleted+held': 'site.already-deleted', purged: 'site.purged',
  },
  RestoreSite: {
    unregistered: 'site.not-found', active: 'site.not-deleted', suspended: 'site.not-deleted',
    protected: 'site.not-deleted', held: 'site.not-deleted', deleted: 'SiteRestored',
    'deleted+held': 'SiteRestored', purged: 'site.purged',
  },
  PurgeSite: {
    unregistered: 'site.not-found', active: 'site.not-deleted', suspended: 'site.not-deleted',
    protected: 'site.not-deleted', held: 'site.not-deleted', deleted: 'SitePurged',
    'deleted+held': 'site.legal-hold', purged: 'site.purged',
  },
};

describe('site decider: every state × command', () => {
  for (const [type, row] of Object.entries(matrix) as [SiteCommandType, Record<string, Outcome>][]) {
    for (const [stateName, outcome] of Object.entries(row)) {
      it(`${type} on a ${stateName} site → ${outcome}`, () => {
        const given = spec.given(states[stateName]!);
        const when = given.when(command(type));
        if (outcome === '[]') when.thenNothing();
        else if (outcome.startsWith('site.')) when.thenThrows(outcome);
        else expect(decideSite(command(type), given.state, policy).map((e) => e.type)).toEqual([outcome]);
      });
    }
  }
});

describe('site decider: what the events say', () => {
  it('registers with defaults: active, no hold, default retention, no protection', () => {
    spec
      .given([])
      .when({ type: 'RegisterSite', data: { siteId, customerId: 'c', name: 'N' }, metadata: operator })
      .thenEmits([
        {
          type: 'SiteRegistered',
          data: {
            siteId,
            customerId: 'c',
            name: 'N',
            region: null,
            internal: false,
            products: [],
            contacts: [],
            deletionProtection: false,
            retention: 'P30D',
          },
        },
      ]);
  });

  it.each(['P6D', 'PT1H'])('refuses a retention of %s, shorter than P7D', (retention) => {
    const error = spec
      .given([])
      .when({ type: 'RegisterSite', data: { siteId, customerId: 'c', name: 'N', retention }, metadata: operator })
      .thenThrows('site.invalid-retention');
    expect(error.kind).toBe('invalid');
    expect(error.problems?.[0]?.field).toBe('retention');
  });

  it('accepts a retention equal to the minimum, written another way', () => {
    spec
      .given([])
      .when({
        type: 'RegisterSite',
        data: { siteId, customerId: 'c', name: 'N', retention: 'P1W' },
        metadata: operator,
      })
      .thenEmits([expect.objectContaining({ type: 'SiteRegistered' }) as SiteEvent]);
  });

  it('refuses a product list naming one installation twice', () => {
    const products = [
      { installationId: 'i', productKey: 'a' },
      { installationId: 'i', productKey: 'b' },
    ];
    spec
      .given([])
      .when({ type: 'RegisterSite', data: { siteId, customerId: 'c', name: 'N', products }, metadata: operator })
      .thenThrows('site.duplicate-installation');
  });

  it('refuses a second product with the same installation id', () => {
    spec
      .given([registered])
      .when({ type: 'AddSiteProduct', data: { siteId, installationId: 'inst-1', productKey: 'x' }, metadata: operator })
      .thenThrows('site.product-exists');
  });

  it('refuses to remove a product the site does not have', () => {
    spec
      .given([registered])
      .when({ type: 'RemoveSiteProduct', data: { siteId, installationId: 'nope' }, metadata: operator })
      .thenThrows('site.product-not-found');
  });

  it('records the product key of a removed product', () => {
    spec
      .given([registered])
      .when({ type: 'RemoveSiteProduct', data: { siteId, installationId: 'inst-1' }, metadata: operator })
      .thenEmits([{ type: 'SiteProductRemoved', data: { siteId, installationId: 'inst-1', productKey: 'shop' } }]);
  });

  it('records nothing when the contacts are unchanged', () => {
    spec
      .given([registered])
      .when({ type: 'UpdateSiteContacts', data: { siteId, contacts: [contact] }, metadata: operator })
      .thenNothing();
  });

  it('records new contacts even over redacted ones', () => {
    const redacted: SiteEvent = { type: 'SiteContactsUpdated', data: { siteId, contacts: [{ redacted: true }] } };
    spec
      .given([registered, redacted])
      .when({ type: 'UpdateSiteContacts', data: { siteId, contacts: [contact] }, metadata: operator })
      .thenEmits([{ type: 'SiteContactsUpdated', data: { siteId, contacts: [contact] } }]);
  });

  it.each([
    ['DisableDeletionProtection', [registered, protectedOn]],
    ['PlaceLegalHold', [registered]],
    ['ReleaseLegalHold', [registered, held]],
  ] as const)('%s needs the admin role', (type, history) => {
    const error = spec.given(history).when(command(type, operator)).thenThrows('site.admin-required');
    expect(error.kind).toBe('forbidden');
  });

  it('lets an operator enable deletion protection', () => {
    spec
      .given([registered])
      .when(command('EnableDeletionProtection', operator))
      .thenEmits([{ type: 'SiteDeletionProtectionEnabled', data: { siteId } }]);
  });

  it('records who placed a legal hold and when', () => {
    spec
      .given([registered])
      .when({ type: 'PlaceLegalHold', data: { siteId, reason: 'court order', reference: 'LH-7' }, metadata: admin })
      .thenEmits([
        {
          type: 'SiteLegalHoldPlaced',
          data: { siteId, legalHold: { reason: 'court order', reference: 'LH-7', placedBy: 'ada', placedAt: now } },
        },
      ]);
  });

  it('soft-deletes with purgeAfter = now + the site retention, remembering the status', () => {
    spec
      .given([registered, suspended])
      .when({ type: 'SoftDeleteSite', data: { siteId, operationId: 'op_9' }, metadata: operator })
      .thenEmits([
        {
          type: 'SiteSoftDeleted',
          data: { siteId, operationId: 'op_9', previousStatus: 'suspended', purgeAfter: '2026-03-31T12:00:00.000Z' },
        },
      ]);
  });

  it('restores to the status before the deletion, naming the deletion it compensates', () => {
    // softDeleted is the 3rd recorded event, so its eventId is event-3.
    spec
      .given([registered, suspended, softDeleted('suspended')])
      .when(command('RestoreSite', operator))
      .thenEmits([{ type: 'SiteRestored', data: { siteId, compensates: 'event-3', status: 'suspended' } }]);
  });

  it('does not purge before purgeAfter', () => {
    const early: CommandMetadata = { ...operator, now: '2026-01-31T23:59:59.999Z' };
    spec.given([registered, softDeleted()]).when(command('PurgeSite', early)).thenThrows('site.retention-not-expired');
  });

  it('purges at purgeAfter exactly', () => {
    const atExpiry: CommandMetadata = { ...operator, now: '2026-02-01T00:00:00.000Z' };
    spec.given([registered, softDeleted()]).when(command('PurgeSite', atExpiry)).thenEmits([purged]);
  });
});

describe('site evolve', () => {
  it('knows every event type', () => {
    const history: SiteEvent[] = [
      registered,
      { type: 'SiteProductAdded', data: { siteId, installationId: 'inst-2', productKey: 'blog' } },
      { type: 'SiteProductRemoved', data: { siteId, installationId: 'inst-1', productKey: 'shop' } },
      { type: 'SiteContactsUpdated', data: { siteId, contacts: [] } },
      suspended,
      { type: 'SiteReactivated', data: { siteId } },
      protectedOn,
      { type: 'SiteDeletionProtectionDisabled', data: { siteId } },
      held,
      { type: 'SiteLegalHoldReleased', data: { siteId, reference: 'LH-1' } },
      softDeleted(),
      { type: 'SiteRestored', data: { siteId, compensates: 'event-11', status: 'active' } },
      softDeleted(),
      purged,
    ];
    expect(new Set(history.map((event) => event.type))).toEqual(new Set(SITE_EVENT_TYPES));
    const state = foldSite(record(history));
    expect(state).toMatchObject({
      status: 'purged',
      version: 14,
      products: [{ installationId: 'inst-2', productKey: 'blog' }],
      contacts: [],
      deletionProtection: false,
      legalHold: null,
      deletion: { eventId: 'event-13', operationId: 'op_1', previousStatus: 'active' },
      purgedAt: '2026-01-01T00:13:00.000Z',
      registeredAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:13:00.000Z',
    });
  });

  it('a restored site carries no deletion', () => {
    const state = foldSite(
      record([
        registered,
        softDeleted(),
        { type: 'SiteRestored', data: { siteId, compensates: 'event-2', status: 'active' } },
      ]),
    );
    expect(state.status).toBe('active');
    expect(state).not.toHaveProperty('deletion');
  });

  it('ignores anything before SiteRegistered', () => {
    expect(foldSite(record([suspended]))).toEqual(initialSiteState);
  });
});

describe('safety rules: sites', () => {
  const softDelete = (metadata: CommandMetadata = operator): SiteCommand => ({
    type: 'SoftDeleteSite',
    data: { siteId, operationId: 'op_2' },
    metadata,
  });

  it('a site with deletion protection cannot be soft-deleted, even by an admin', () => {
    spec.given([registered, protectedOn]).when(softDelete(admin)).thenThrows('site.deletion-protected');
  });

  it('a site under legal hold cannot be soft-deleted, even by an admin', () => {
    spec.given([registered, held]).when(softDelete(admin)).thenThrows('site.legal-hold');
  });

  it('a site is purged only once its retention has passed', () => {
    const justBefore: CommandMetadata = { ...operator, now: '2026-01-31T23:59:59.999Z' };
    spec
      .given([registered, softDeleted()])
      .when(command('PurgeSite', justBefore))
      .thenThrows('site.retention-not-expired');
  });

  it('a site under legal hold is never purged, however long ago its retention passed', () => {
    const muchLater: CommandMetadata = { ...admin, now: '2030-01-01T00:00:00.000Z' };
    spec.given([registered, softDeleted(), held]).when(command('PurgeSite', muchLater)).thenThrows('site.legal-hold');
  });

  it('a site that is not deleted is never purged', () => {
    const muchLater: CommandMetadata = { ...admin, now: '2030-01-01T00:00:00.000Z' };
    spec.given([registered]).when(command('PurgeSite', muchLater)).thenThrows('site.not-deleted');
  });

  it('purged is final: every command on a purged site is refused', () => {
    for (const type of Object.keys(matrix) as SiteCommandType[]) {
      if (type === 'RegisterSite') continue;
      spec.given([registered, softDeleted(), purged]).when(command(type, admin)).thenThrows('site.purged');
    }
  });

  it('only an admin may disable deletion protection', () => {
    spec
      .given([registered, protectedOn])
      .when(command('DisableDeletionProtection', operator))
      .thenThrows('site.admin-required');
    spec
      .given([registered, protectedOn])
      .when(command('DisableDeletionProtection', admin))
      .thenEmits([{ type: 'SiteDeletionProtectionDisabled', data: { siteId } }]);
  });

  it('only an admin may place a legal hold', () => {
    spec.given([registered]).when(command('PlaceLegalHold', operator)).thenThrows('site.admin-required');
  });

  it('only an admin may release a legal hold', () => {
    spec.given([registered, held]).when(command('ReleaseLegalHold', operator)).thenThrows('site.admin-required');
    spec
      .given([registered, held])
      .when(command('ReleaseLegalHold', admin))
      .thenEmits([{ type: 'SiteLegalHoldReleased', data: { siteId, reference: 'LH-1' } }]);
  });
});

describe('site decider: a type it does not know is a bug, and fails loudly', () => {
  it('refuses an unknown command rather than recording anything', () => {
    const unknown = { type: 'ExplodeSite', data: { siteId }, metadata: admin } as unknown as SiteCommand;
    expect(() => decideSite(unknown, spec.given([registered]).state, policy)).toThrow(
      'unhandled site command {"type":"ExplodeSite"',
    );
  });

  it('refuses to fold an unknown event rather than folding it as something else', () => {
    const [event] = record([{ type: 'SiteExploded', data: { siteId } } as unknown as SiteEvent]);
    expect(() => evolveSite(spec.given([registered]).state, event!)).toThrow(
      'unhandled site event {"type":"SiteExploded"',
    );
  });
});

describe('site decider: the details', () => {
  it('registers with what it is given: region, internal, products, contacts, retention', () => {
    const products = [{ installationId: 'i-1', productKey: 'shop' }];
    spec
      .given([])
      .when({
        type: 'RegisterSite',
        data: {
          siteId,
          customerId: 'c',
          name: 'N',
          region: 'eu',
          internal: true,
          products,
          contacts: [contact],
          retention: 'P90D',
        },
        metadata: operator,
      })
      .thenEmits([
        {
          type: 'SiteRegistered',
          data: {
            siteId,
            customerId: 'c',
            name: 'N',
            region: 'eu',
            internal: true,
            products,
            contacts: [contact],
            deletionProtection: false,
            retention: 'P90D',
          },
        },
      ]);
  });

  it.each(['soon', 'P', '30D'])('refuses a retention of %s, which is not an ISO 8601 duration', (retention) => {
    spec
      .given([])
      .when({ type: 'RegisterSite', data: { siteId, customerId: 'c', name: 'N', retention }, metadata: operator })
      .thenThrows('site.invalid-retention');
  });

  it('refuses any retention while the minimum itself is not a duration', () => {
    const broken = deciderSpec({
      decide: (command: SiteCommand, state) => decideSite(command, state, { ...policy, minRetention: 'a week' }),
      evolve: evolveSite,
      initialState: initialSiteState,
    });
    broken
      .given([])
      .when({
        type: 'RegisterSite',
        data: { siteId, customerId: 'c', name: 'N', retention: 'P30D' },
        metadata: operator,
      })
      .thenThrows('site.invalid-retention');
  });

  it.each([
    ['a name', { ...contact, name: 'Sam Roe' }],
    ['an email', { ...contact, email: 'sam@example.com' }],
    ['a role', { ...contact, role: 'billing' }],
  ])('records contacts that differ only in %s', (_what, changed) => {
    spec
      .given([registered])
      .when({ type: 'UpdateSiteContacts', data: { siteId, contacts: [changed] }, metadata: operator })
      .thenEmits([{ type: 'SiteContactsUpdated', data: { siteId, contacts: [changed] } }]);
  });

  it('records contacts when one is added or removed', () => {
    const sam = { name: 'Sam Roe', email: 'sam@example.com', role: 'billing' };
    spec
      .given([registered])
      .when({ type: 'UpdateSiteContacts', data: { siteId, contacts: [contact, sam] }, metadata: operator })
      .thenEmits([{ type: 'SiteContactsUpdated', data: { siteId, contacts: [contact, sam] } }]);
    spec
      .given([registered])
      .when({ type: 'UpdateSiteContacts', data: { siteId, contacts: [] }, metadata: operator })
      .thenEmits([{ type: 'SiteContactsUpdated', data: { siteId, contacts: [] } }]);
  });

  it('says what was refused on a deleted site, and what needs the admin role', () => {
    const onDeleted = (type: SiteCommandType) =>
      spec.given([registered, softDeleted()]).when(command(type)).thenThrows('site.deleted').message;
    expect(onDeleted('AddSiteProduct')).toContain('change its products');
    expect(onDeleted('RemoveSiteProduct')).toContain('change its products');
    expect(onDeleted('SuspendSite')).toContain('suspend it');
    expect(onDeleted('ReactivateSite')).toContain('reactivate it');
    const needsAdmin = (type: SiteCommandType, history: SiteEvent[]) =>
      spec.given(history).when(command(type, operator)).thenThrows('site.admin-required').message;
    expect(needsAdmin('DisableDeletionProtection', [registered, protectedOn])).toContain(
      'disabling deletion protection',
    );
    expect(needsAdmin('PlaceLegalHold', [registered])).toContain('placing a legal hold');
    expect(needsAdmin('ReleaseLegalHold', [registered, held])).toContain('releasing a legal hold');
  });

  it('folds a purge only onto a deleted site', () => {
    const active = foldSite(record([registered]));
    const [purge] = record([purged], '2026-02-01T00:00:00.000Z');
    expect(evolveSite(active, purge!)).toMatchObject({ status: 'active', version: 1 });
  });
});

describe('site decider: more details', () => {
  it('suspends and reactivates the site named', () => {
    spec
      .given([registered])
      .when(command('SuspendSite', operator))
      .thenEmits([{ type: 'SiteSuspended', data: { siteId } }]);
    spec
      .given([registered, suspended])
      .when(command('ReactivateSite', operator))
      .thenEmits([{ type: 'SiteReactivated', data: { siteId } }]);
  });

  it('says whether a legal hold blocks a deletion or a purge', () => {
    expect(spec.given([registered, held]).when(command('SoftDeleteSite')).thenThrows('site.legal-hold').message).toBe(
      'site site-1 is under legal hold and cannot be deleted',
    );
    expect(
      spec.given([registered, softDeleted(), held]).when(command('PurgeSite')).thenThrows('site.legal-hold').message,
    ).toBe('site site-1 is under legal hold and cannot be purged');
  });

  it('records contacts when any one of several differs', () => {
    const sam = { name: 'Sam Roe', email: 'sam@example.com', role: 'billing' };
    const both = [contact, sam];
    const changed = [contact, { ...sam, role: 'owner' }];
    spec
      .given([registered, { type: 'SiteContactsUpdated', data: { siteId, contacts: both } }])
      .when({ type: 'UpdateSiteContacts', data: { siteId, contacts: changed }, metadata: operator })
      .thenEmits([{ type: 'SiteContactsUpdated', data: { siteId, contacts: changed } }]);
  });
});
