import { beforeEach, describe, expect, it } from 'vitest';
import { record } from '../../testing/decider-spec.js';
import { foldSite, type SitePolicy } from '../../sites/domain/site.decider.js';
import type { SiteEvent } from '../../sites/domain/site.events.js';
import { decideOperation, evolveOperation } from './operation.decider.js';
import type { OperationEvent, ResolvedId } from './operation.events.js';
import type { OperationPolicy } from './operation.plan.js';
import {
  currentWave,
  decideRollback,
  decideWave,
  rollbackTargets,
  type OperationSitePolicies,
  type SiteAtRun,
  type SitesDecision,
} from './operation.sites.js';
import { initialOperationState } from './operation.state.js';

/*
 * Which sites a wave deletes and a rollback restores, in given/when/then
 * form: given the operation's history and each site's history, when the
 * wave runs (or the operation is rolled back), then these site events and
 * these operation events — or this error.
 */

const operationPolicy: OperationPolicy = { maxOperationSites: 1000, largeOperationSites: 10, canarySites: 2 };
const sitePolicy: SitePolicy = { defaultRetention: 'P30D', minRetention: 'P7D' };
const policies: OperationSitePolicies = { site: sitePolicy, operation: operationPolicy };
const operationId = 'op_1';
const now = '2026-05-01T09:00:00.000Z';

/** The events of an operation over `ids` (the first `internal` of them internal), planned by olivia; canary waves of `canarySites`. */
function planEvents(ids: string[], internal = 0, canarySites = operationPolicy.canarySites): OperationEvent[] {
  const resolved = new Map<string, ResolvedId>(
    ids.map((id, i) => [
      id,
      {
        kind: 'site',
        id,
        site: {
          siteId: id,
          customerId: `cust-${id}`,
          name: id,
          internal: i < internal,
          products: [],
          status: 'active',
          deletionProtection: false,
          legalHold: false,
        },
      },
    ]),
  );
  return decideOperation(
    {
      type: 'PlanOperation',
      data: { operationId, action: 'soft-delete', siteIds: ids, resolved, reason: 'churned', ticket: null },
      metadata: { now, actor: { id: 'olivia' } },
    },
    initialOperationState,
    { ...operationPolicy, canarySites },
  );
}

/** Planned, approved by amy, started by oscar: wave 1 is running. */
function running(ids: string[], internal = 0, canarySites?: number): OperationEvent[] {
  const [planned] = planEvents(ids, internal, canarySites);
  if (planned?.type !== 'OperationPlanned') throw new Error('the fixture plan was rejected');
  return [
    planned,
    { type: 'OperationApproved', data: { operationId, approvedBy: 'amy', digest: planned.data.digest } },
    { type: 'OperationExecutionStarted', data: { operationId, startedBy: 'oscar' } },
  ];
}

const waveCompleted = (
  index: number,
  deleted: string[],
  skipped: { siteId: string; reason: string }[] = [],
): OperationEvent => ({
  type: 'OperationWaveCompleted',
  data: { operationId, index, deleted, skipped },
});
const continued = (index: number): OperationEvent => ({
  type: 'OperationContinued',
  data: { operationId, continuedBy: 'oscar', index },
});

const registered = (siteId: string): SiteEvent => ({
  type: 'SiteRegistered',
  data: {
    siteId,
    customerId: `cust-${siteId}`,
    name: siteId,
    region: null,
    internal: false,
    products: [],
    contacts: [],
    deletionProtection: false,
    retention: 'P30D',
  },
});
const deletedBy = (siteId: string, by = operationId): SiteEvent => ({
  type: 'SiteSoftDeleted',
  data: { siteId, operationId: by, previousStatus: 'active', purgeAfter: '2026-05-31T09:00:00.000Z' },
});
const restored = (siteId: string, compensates: string): SiteEvent => ({
  type: 'SiteRestored',
  data: { siteId, compensates, status: 'active' },
});

interface Expected {
  /** The events recorded on each site that changes. */
  sites: Record<string, SiteEvent[]>;
  operation: OperationEvent[];
}

function given(operationHistory: OperationEvent[], siteHistories: Record<string, SiteEvent[]>) {
  const operation = record(operationHistory).reduce(evolveOperation, initialOperationState);
  const sites: SiteAtRun[] = Object.entries(siteHistories).map(([siteId, events]) => ({
    siteId,
    state: foldSite(record(events)),
    now,
  }));
  const outcome = (decide: () => SitesDecision) => ({
    then(expected: Expected): SitesDecision {
      const decision = decide();
      expect(Object.fromEntries(decision.sites.map((site) => [site.siteId, site.events]))).toEqual(expected.sites);
      expect(decision.sites.every((site) => site.now === now)).toBe(true);
      expect(decision.operation).toEqual(expected.operation);
      return decision;
    },
    thenThrows(code: string): void {
      expect(decide).toThrow(expect.objectContaining({ code }));
    },
  });
  return {
    whenTheWaveRuns: () => outcome(() => decideWave(operation, sites, now, policies)),
    whenRolledBack: () =>
      outcome(() =>
        decideRollback(operation, sites, { operationId, reason: 'wrong list', now, actor: { id: 'rita' } }, policies),
      ),
    rollbackTargets: () => rollbackTargets(operation, operationId),
  };
}

describe('a wave', () => {
  it('deletes every site of the current wave that may still be deleted, and records the wave', () => {
    given(running(['s1', 's2', 's3']), { s1: [registered('s1')], s2: [registered('s2')] })
      .whenTheWaveRuns()
      .then({ sites: { s1: [deletedBy('s1')], s2: [deletedBy('s2')] }, operation: [waveCompleted(1, ['s1', 's2'])] });
  });

  it('re-checks each site: one protected, held, deleted by another operation or purged since the plan is skipped with the rule, not deleted', () => {
    const ids = ['s1', 's2', 's3', 's4', 's5'];
    given(running(ids, 0, 5), {
      s1: [registered('s1'), { type: 'SiteDeletionProtectionEnabled', data: { siteId: 's1' } }],
      s2: [
        registered('s2'),
        {
          type: 'SiteLegalHoldPlaced',
          data: { siteId: 's2', legalHold: { reason: 'r', reference: 'LH-1', placedBy: 'ada', placedAt: now } },
        },
      ],
      s3: [registered('s3'), deletedBy('s3', 'op_other')],
      s4: [registered('s4'), deletedBy('s4', 'op_other'), { type: 'SitePurged', data: { siteId: 's4' } }],
      s5: [registered('s5')],
    })
      .whenTheWaveRuns()
      .then({
        sites: { s5: [deletedBy('s5')] },
        operation: [
          waveCompleted(
            1,
            ['s5'],
            [
              { siteId: 's1', reason: 'site.deletion-protected' },
              { siteId: 's2', reason: 'site.legal-hold' },
              { siteId: 's3', reason: 'site.already-deleted' },
              { siteId: 's4', reason: 'site.purged' },
            ],
          ),
          { type: 'OperationCompleted', data: { operationId } },
        ],
      });
  });

  it('counts a site this operation already deleted (a wave cut short) as deleted, without deleting it twice', () => {
    given(running(['s1', 's2']), { s1: [registered('s1'), deletedBy('s1')], s2: [registered('s2')] })
      .whenTheWaveRuns()
      .then({
        sites: { s2: [deletedBy('s2')] },
        operation: [waveCompleted(1, ['s1', 's2']), { type: 'OperationCompleted', data: { operationId } }],
      });
  });

  it('runs the internal wave first, and completes the operation after its last wave', () => {
    // Waves: internal [i1], canary [s1, s2], customer [s3].
    const history = [
      ...running(['i1', 's1', 's2', 's3'], 1),
      waveCompleted(1, ['i1']),
      continued(2),
      waveCompleted(2, ['s1', 's2']),
      continued(3),
    ];
    given(history, { s3: [registered('s3')] })
      .whenTheWaveRuns()
      .then({
        sites: { s3: [deletedBy('s3')] },
        operation: [waveCompleted(3, ['s3']), { type: 'OperationCompleted', data: { operationId } }],
      });
  });

  it('does not run for an operation that is paused, aborted or not yet started', () => {
    expect(() =>
      given([...running(['s1', 's2', 's3']), waveCompleted(1, ['s1', 's2'])], {})
        .whenTheWaveRuns()
        .then({ sites: {}, operation: [] }),
    ).toThrow(/paused, without a wave to run/);
    expect(() =>
      given(planEvents(['s1']), {})
        .whenTheWaveRuns()
        .then({ sites: {}, operation: [] }),
    ).toThrow(/planned/);
  });
});

describe('a rollback', () => {
  // Built before each test, not when the suite is collected, so that each test covers the planning it relies on.
  let done: OperationEvent[];
  beforeEach(() => {
    done = [...running(['s1', 's2', 's3']), waveCompleted(1, ['s1', 's2']), continued(2), waveCompleted(2, ['s3'])];
  });

  it('looks at every target of the plan, and refuses before reading anything when the operation never ran', () => {
    expect(given(done, {}).rollbackTargets()).toEqual(['s1', 's2', 's3']);
    expect(() => given(planEvents(['s1']), {}).rollbackTargets()).toThrow(
      expect.objectContaining({ code: 'operation.not-executed' }),
    );
    expect(() => given([], {}).rollbackTargets()).toThrow(expect.objectContaining({ code: 'operation.not-found' }));
  });

  it('restores every site the operation deleted that is still deleted by it, each compensating that deletion', () => {
    // record() numbers events event-1, event-2, …: each site's deletion is its event-2.
    given(done, {
      s1: [registered('s1'), deletedBy('s1')],
      s2: [registered('s2'), deletedBy('s2')],
      s3: [registered('s3'), deletedBy('s3')],
    })
      .whenRolledBack()
      .then({
        sites: { s1: [restored('s1', 'event-2')], s2: [restored('s2', 'event-2')], s3: [restored('s3', 'event-2')] },
        operation: [
          {
            type: 'OperationRolledBack',
            data: {
              operationId,
              rolledBackBy: 'rita',
              reason: 'wrong list',
              restored: ['s1', 's2', 's3'],
              skipped: [],
            },
          },
        ],
      });
  });

  it('skips, with the reason, a deleted site that was restored, purged or deleted again by another operation since', () => {
    given(done, {
      s1: [registered('s1'), deletedBy('s1'), restored('s1', 'event-2')],
      s2: [registered('s2'), deletedBy('s2'), { type: 'SitePurged', data: { siteId: 's2' } }],
      s3: [registered('s3'), deletedBy('s3'), restored('s3', 'event-2'), deletedBy('s3', 'op_other')],
    })
      .whenRolledBack()
      .then({
        sites: {},
        operation: [
          {
            type: 'OperationRolledBack',
            data: {
              operationId,
              rolledBackBy: 'rita',
              reason: 'wrong list',
              restored: [],
              skipped: [
                { siteId: 's1', reason: 'site.not-deleted' },
                { siteId: 's2', reason: 'site.purged' },
                { siteId: 's3', reason: 'site.deleted-by-another-operation' },
              ],
            },
          },
        ],
      });
  });

  it('does not mention targets the operation never deleted (a wave that did not run, or skipped them)', () => {
    const aborted = [
      ...running(['s1', 's2', 's3']),
      waveCompleted(1, ['s1'], [{ siteId: 's2', reason: 'site.legal-hold' }]),
      { type: 'OperationAborted', data: { operationId, abortedBy: 'oscar', reason: 'stop' } } as OperationEvent,
    ];
    given(aborted, { s1: [registered('s1'), deletedBy('s1')], s2: [registered('s2')], s3: [registered('s3')] })
      .whenRolledBack()
      .then({
        sites: { s1: [restored('s1', 'event-2')] },
        operation: [
          {
            type: 'OperationRolledBack',
            data: { operationId, rolledBackBy: 'rita', reason: 'wrong list', restored: ['s1'], skipped: [] },
          },
        ],
      });
  });

  it('restores nothing twice when repeated', () => {
    const rolledBack: OperationEvent = {
      type: 'OperationRolledBack',
      data: { operationId, rolledBackBy: 'rita', reason: 'wrong list', restored: ['s1', 's2', 's3'], skipped: [] },
    };
    const sites = Object.fromEntries(
      ['s1', 's2', 's3'].map((id) => [id, [registered(id), deletedBy(id), restored(id, 'event-2')]]),
    );
    const decision = given([...done, rolledBack], sites)
      .whenRolledBack()
      .then({ sites: {}, operation: [] }); // restoring nothing, a repeated rollback records nothing
    expect(decision.sites).toEqual([]);
  });

  it('refuses an operation that never ran', () => {
    given(planEvents(['s1']), { s1: [registered('s1')] })
      .whenRolledBack()
      .thenThrows('operation.not-executed');
  });
});

describe('safety rules: waves and rollbacks', () => {
  const rolledBack = (restoredIds: string[], skipped: { siteId: string; reason: string }[] = []): OperationEvent => ({
    type: 'OperationRolledBack',
    data: { operationId, rolledBackBy: 'rita', reason: 'wrong list', restored: restoredIds, skipped },
  });

  it('a rollback restores only sites this operation deleted, never one deleted by another operation', () => {
    // s2 was skipped by this operation's wave (held), released and deleted later by op_other: rolling back
    // this operation must leave it deleted, and say nothing of it.
    const history = [...running(['s1', 's2']), waveCompleted(1, ['s1'], [{ siteId: 's2', reason: 'site.legal-hold' }])];
    given(history, {
      s1: [registered('s1'), deletedBy('s1')],
      s2: [registered('s2'), deletedBy('s2', 'op_other')],
    })
      .whenRolledBack()
      .then({ sites: { s1: [restored('s1', 'event-2')] }, operation: [rolledBack(['s1'])] });
  });

  it('a rollback of op A leaves a site that A deleted, was restored, then op B deleted, deleted by B', () => {
    const history = [
      ...running(['s1']),
      waveCompleted(1, ['s1']),
      { type: 'OperationCompleted', data: { operationId } },
    ];
    given(history as OperationEvent[], {
      s1: [registered('s1'), deletedBy('s1'), restored('s1', 'event-2'), deletedBy('s1', 'op_B')],
    })
      .whenRolledBack()
      .then({
        sites: {},
        operation: [rolledBack([], [{ siteId: 's1', reason: 'site.deleted-by-another-operation' }])],
      });
  });

  it('a repeated rollback of op A does not restore a site op B deleted after the first rollback', () => {
    const history = [...running(['s1']), waveCompleted(1, ['s1']), rolledBack(['s1'])];
    given(history, { s1: [registered('s1'), deletedBy('s1'), restored('s1', 'event-2'), deletedBy('s1', 'op_B')] })
      .whenRolledBack()
      .then({ sites: {}, operation: [] });
  });

  it('a wave re-checks deletion protection: a site protected after the plan is skipped, not deleted', () => {
    given(running(['s1']), {
      s1: [registered('s1'), { type: 'SiteDeletionProtectionEnabled', data: { siteId: 's1' } }],
    })
      .whenTheWaveRuns()
      .then({
        sites: {},
        operation: [
          waveCompleted(1, [], [{ siteId: 's1', reason: 'site.deletion-protected' }]),
          { type: 'OperationCompleted', data: { operationId } },
        ],
      });
  });

  it('a wave re-checks legal holds: a site held after the plan is skipped, not deleted', () => {
    const hold = { reason: 'r', reference: 'LH-1', placedBy: 'ada', placedAt: now };
    given(running(['s1']), {
      s1: [registered('s1'), { type: 'SiteLegalHoldPlaced', data: { siteId: 's1', legalHold: hold } }],
    })
      .whenTheWaveRuns()
      .then({
        sites: {},
        operation: [
          waveCompleted(1, [], [{ siteId: 's1', reason: 'site.legal-hold' }]),
          { type: 'OperationCompleted', data: { operationId } },
        ],
      });
  });

  it('a wave never counts a site deleted by another operation as its own deletion', () => {
    given(running(['s1']), { s1: [registered('s1'), deletedBy('s1', 'op_other')] })
      .whenTheWaveRuns()
      .then({
        sites: {},
        operation: [
          waveCompleted(1, [], [{ siteId: 's1', reason: 'site.already-deleted' }]),
          { type: 'OperationCompleted', data: { operationId } },
        ],
      });
  });

  it('a wave never deletes a site twice when it resumes after a crash', () => {
    given(running(['s1']), { s1: [registered('s1'), deletedBy('s1')] })
      .whenTheWaveRuns()
      .then({
        sites: {},
        operation: [waveCompleted(1, ['s1']), { type: 'OperationCompleted', data: { operationId } }],
      });
  });

  it('a purged site stays purged: a wave skips it and a rollback does not restore it', () => {
    const purged: SiteEvent = { type: 'SitePurged', data: { siteId: 's1' } };
    given(running(['s1']), { s1: [registered('s1'), deletedBy('s1', 'op_other'), purged] })
      .whenTheWaveRuns()
      .then({
        sites: {},
        operation: [
          waveCompleted(1, [], [{ siteId: 's1', reason: 'site.purged' }]),
          { type: 'OperationCompleted', data: { operationId } },
        ],
      });
    given([...running(['s1']), waveCompleted(1, ['s1'])], { s1: [registered('s1'), deletedBy('s1'), purged] })
      .whenRolledBack()
      .then({ sites: {}, operation: [rolledBack([], [{ siteId: 's1', reason: 'site.purged' }])] });
  });
});

describe('waves and rollbacks: the details', () => {
  it('a wave fails loudly on an error that breaks no rule (a bug), rather than skipping the site', () => {
    const operation = record(running(['s1'])).reduce(evolveOperation, initialOperationState);
    const site: SiteAtRun = { siteId: 's1', state: foldSite(record([registered('s1')])), now: 'not a time' };
    expect(() => decideWave(operation, [site], now, policies)).toThrow(RangeError);
  });

  it('a wave stamps each site deletion with that site’s own time', () => {
    const operation = record(running(['s1'])).reduce(evolveOperation, initialOperationState);
    const later = '2026-05-02T09:00:00.000Z';
    const decision = decideWave(
      operation,
      [{ siteId: 's1', state: foldSite(record([registered('s1')])), now: later }],
      now,
      policies,
    );
    expect(decision.sites).toEqual([
      {
        siteId: 's1',
        now: later,
        events: [{ ...deletedBy('s1'), data: { ...deletedBy('s1').data, purgeAfter: '2026-06-01T09:00:00.000Z' } }],
      },
    ]);
  });

  it('runs the wave the operation is at, by its index', () => {
    const history = [...running(['s1', 's2', 's3']), waveCompleted(1, ['s1', 's2']), continued(2)];
    given(history, { s3: [registered('s3')] })
      .whenTheWaveRuns()
      .then({
        sites: { s3: [deletedBy('s3')] },
        operation: [waveCompleted(2, ['s3']), { type: 'OperationCompleted', data: { operationId } }],
      });
  });
});

describe('the current wave', () => {
  const stateOf = (events: OperationEvent[]) => record(events).reduce(evolveOperation, initialOperationState);

  it('is the wave a running operation is at, and none while it is not running', () => {
    const history = [...running(['s1', 's2', 's3']), waveCompleted(1, ['s1', 's2'])];
    expect(currentWave(stateOf(running(['s1', 's2', 's3'])))).toEqual({
      index: 1,
      kind: 'canary',
      siteIds: ['s1', 's2'],
    });
    expect(currentWave(stateOf(history))).toBeUndefined();
    expect(currentWave(stateOf([...history, continued(2)]))).toEqual({ index: 2, kind: 'customer', siteIds: ['s3'] });
  });

  it('a running operation without a wave left, or without who set it going, runs nothing (states events cannot produce)', () => {
    const state = stateOf(running(['s1']));
    if (state.status !== 'running') throw new Error('fixture');
    expect(() => decideWave({ ...state, nextWave: 2 }, [], now, policies)).toThrow(
      'operation is running, without a wave to run',
    );
    expect(() => decideWave({ ...state, activation: undefined }, [], now, policies)).toThrow(
      'operation is running, without a wave to run',
    );
  });
});
