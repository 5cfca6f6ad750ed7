import { describe, expect, it } from 'vitest';
import { deciderSpec } from '../../testing/decider-spec.js';
import {
  decideIdClaim,
  decideIdClaims,
  evolveIdClaim,
  idUsesOf,
  initialIdClaimState,
  type IdClaimEvent,
  type IdUse,
} from './id-claims.js';
import type { SiteEvent } from './site.events.js';
import { SITE_EVENT_TYPES } from './site.events.js';

const spec = deciderSpec({ decide: decideIdClaim, evolve: evolveIdClaim, initialState: initialIdClaimState });

const id = 'x-1';
const claimedAsSite: IdClaimEvent = { type: 'SiteIdClaimed', data: { siteId: id } };
const claimedBy = (siteId: string): IdClaimEvent => ({
  type: 'InstallationIdClaimed',
  data: { installationId: id, siteId },
});
const releasedBy = (siteId: string): IdClaimEvent => ({
  type: 'InstallationIdReleased',
  data: { installationId: id, siteId },
});

const uses = {
  'claim as site': { kind: 'claim-site', id },
  'claim as installation of s-1': { kind: 'claim-installation', id, siteId: 's-1' },
  'release from s-1': { kind: 'release-installation', id, siteId: 's-1' },
} satisfies Record<string, IdUse>;
type UseName = keyof typeof uses;

const states = {
  free: [],
  'a site ID': [claimedAsSite],
  'installation of s-1': [claimedBy('s-1')],
  'installation of s-2': [claimedBy('s-2')],
  'released by s-1': [claimedBy('s-1'), releasedBy('s-1')],
} satisfies Record<string, IdClaimEvent[]>;

type Outcome = IdClaimEvent['type'] | '[]' | `site.${string}`;
// A table: one row per claim state, its outcome for each use.
// prettier-ignore
const matrix: Record<keyof typeof states, Record<UseName, Outcome>> = {
  free: {
    'claim as site': 'SiteIdClaimed', 'claim as installation of s-1': 'InstallationIdClaimed', 'release from s-1': '[]',
  },
  'a site ID': {
    'claim as site': '[]', 'claim as installation of s-1': 'site.id-collision', 'release from s-1': '[]',
  },
  'installation of s-1': {
    'claim as site': 'site.id-collision', 'claim as installation of s-1': '[]', 'release from s-1': 'InstallationIdReleased',
  },
  'installation of s-2': {
    'claim as site': 'site.id-collision', 'claim as installation of s-1': 'site.installation-taken', 'release from s-1': '[]',
  },
  'released by s-1': {
    'claim as site': 'SiteIdClaimed', 'claim as installation of s-1': 'InstallationIdClaimed', 'release from s-1': '[]',
  },
};

describe('ID claims: every claim state × use', () => {
  for (const [stateName, row] of Object.entries(matrix) as [keyof typeof states, Record<UseName, Outcome>][]) {
    for (const [useName, outcome] of Object.entries(row) as [UseName, Outcome][]) {
      it(`${useName} when ${stateName} → ${outcome}`, () => {
        const given = spec.given(states[stateName]);
        const when = given.when(uses[useName]);
        if (outcome === '[]') when.thenNothing();
        else if (outcome.startsWith('site.')) when.thenThrows(outcome);
        else expect(decideIdClaim(uses[useName], given.state).map((e) => e.type)).toEqual([outcome]);
      });
    }
  }

  it('names the holder in the refusal', () => {
    expect(
      spec
        .given([claimedBy('s-2')])
        .when(uses['claim as installation of s-1'])
        .thenThrows('site.installation-taken').message,
    ).toBe('installation x-1 already belongs to site s-2');
    expect(
      spec
        .given([claimedBy('s-2')])
        .when(uses['claim as site'])
        .thenThrows('site.id-collision').message,
    ).toContain('x-1 is already a product installation on site s-2');
    expect(
      spec.given([claimedAsSite]).when(uses['claim as installation of s-1']).thenThrows('site.id-collision').message,
    ).toContain('x-1 is already a site ID');
  });

  it('records who claims and who releases', () => {
    spec
      .given([])
      .when(uses['claim as installation of s-1'])
      .thenEmits([claimedBy('s-1')]);
    spec
      .given([claimedBy('s-1')])
      .when(uses['release from s-1'])
      .thenEmits([releasedBy('s-1')]);
    spec.given([]).when(uses['claim as site']).thenEmits([claimedAsSite]);
  });

  it('a release by a site that does not hold the ID changes nothing when folded', () => {
    expect(spec.given([claimedBy('s-2'), releasedBy('s-1')]).state).toEqual({ as: 'installation', siteId: 's-2' });
  });
});

describe('ID claims: the IDs site events use', () => {
  const product = (installationId: string) => ({ installationId, productKey: 'p' });
  const registered = (siteId: string, installationIds: string[]): SiteEvent => ({
    type: 'SiteRegistered',
    data: {
      siteId,
      customerId: 'c',
      name: 'n',
      region: null,
      internal: false,
      products: installationIds.map(product),
      contacts: [],
      deletionProtection: false,
      retention: 'P30D',
    },
  });

  it('a registration claims its site ID and each installation ID; adding claims, removing releases', () => {
    expect(
      idUsesOf([
        registered('s-1', ['i-1', 'i-2']),
        { type: 'SiteProductAdded', data: { siteId: 's-1', ...product('i-3') } },
        { type: 'SiteProductRemoved', data: { siteId: 's-1', ...product('i-1') } },
      ]),
    ).toEqual([
      { kind: 'claim-site', id: 's-1' },
      { kind: 'claim-installation', id: 'i-1', siteId: 's-1' },
      { kind: 'claim-installation', id: 'i-2', siteId: 's-1' },
      { kind: 'claim-installation', id: 'i-3', siteId: 's-1' },
      { kind: 'release-installation', id: 'i-1', siteId: 's-1' },
    ]);
  });

  it('no other site event takes or gives back an ID (deleted and purged sites keep theirs)', () => {
    const others = SITE_EVENT_TYPES.filter(
      (type) => !['SiteRegistered', 'SiteProductAdded', 'SiteProductRemoved'].includes(type),
    );
    expect(others).toHaveLength(10);
    for (const type of others) {
      expect(idUsesOf([{ type, data: { siteId: 's-1' } } as SiteEvent]), type).toEqual([]);
    }
  });

  describe('decided together, each use on what the earlier ones left', () => {
    it('a site registered with its own ID as an installation collides with itself', () => {
      expect(() => decideIdClaims(idUsesOf([registered('s-1', ['s-1'])]), new Map())).toThrow(
        expect.objectContaining({ code: 'site.id-collision' }),
      );
    });

    it('a revert that removes and re-adds an installation releases and claims it again on one stream', () => {
      const decided = decideIdClaims(
        [
          { kind: 'release-installation', id: 'i-1', siteId: 's-1' },
          { kind: 'claim-installation', id: 'i-1', siteId: 's-1' },
        ],
        new Map([['i-1', { as: 'installation', siteId: 's-1' }]]),
      );
      expect([...decided]).toEqual([
        [
          'i-1',
          [
            { type: 'InstallationIdReleased', data: { installationId: 'i-1', siteId: 's-1' } },
            { type: 'InstallationIdClaimed', data: { installationId: 'i-1', siteId: 's-1' } },
          ],
        ],
      ]);
    });

    it('answers only the IDs that record something; an ID missing from what was read is free', () => {
      const decided = decideIdClaims(
        idUsesOf([registered('s-1', ['i-1', 'i-2'])]),
        new Map([['s-1', { as: 'site', siteId: 's-1' }]]),
      );
      expect([...decided.keys()]).toEqual(['i-1', 'i-2']);
    });

    it('one refused ID refuses the whole decision', () => {
      expect(() =>
        decideIdClaims(
          idUsesOf([registered('s-1', ['i-1', 'i-2'])]),
          new Map([['i-2', { as: 'installation', siteId: 's-9' }]]),
        ),
      ).toThrow(expect.objectContaining({ code: 'site.installation-taken' }));
    });
  });
});

describe('safety rules: IDs never collide', () => {
  it('a site ID can never be taken as a product installation ID', () => {
    spec.given([claimedAsSite]).when(uses['claim as installation of s-1']).thenThrows('site.id-collision');
  });

  it('a product installation ID can never be taken as a site ID', () => {
    spec
      .given([claimedBy('s-1')])
      .when(uses['claim as site'])
      .thenThrows('site.id-collision');
  });

  it('a product installation belongs to one site at a time', () => {
    spec
      .given([claimedBy('s-2')])
      .when(uses['claim as installation of s-1'])
      .thenThrows('site.installation-taken');
  });

  it('a site cannot release an installation ID another site holds', () => {
    spec
      .given([claimedBy('s-2')])
      .when(uses['release from s-1'])
      .thenNothing();
  });
});

describe('ID claims: a type it does not know is a bug, and fails loudly', () => {
  it('refuses an unknown site event, an unknown use and an unknown claim event', () => {
    expect(() => idUsesOf([{ type: 'SiteExploded', data: { siteId: 's-1' } } as unknown as SiteEvent])).toThrow(
      'unhandled site event {"type":"SiteExploded"',
    );
    expect(() => decideIdClaim({ kind: 'steal', id } as unknown as IdUse, null)).toThrow(
      'unhandled ID use {"kind":"steal"',
    );
    expect(() => evolveIdClaim(null, { type: 'IdStolen', data: {} } as unknown as IdClaimEvent)).toThrow(
      'unhandled claim event {"type":"IdStolen"',
    );
  });
});

describe('ID claims: folding a release', () => {
  it('a release of a free ID leaves it free', () => {
    expect(spec.given([releasedBy('s-1')]).state).toBeNull();
  });

  it('a site ID is never freed by a release', () => {
    expect(
      spec.given([claimedAsSite, { type: 'InstallationIdReleased', data: { installationId: id, siteId: id } }]).state,
    ).toEqual({ as: 'site', siteId: id });
  });
});
