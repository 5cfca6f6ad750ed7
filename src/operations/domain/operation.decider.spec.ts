import { beforeEach, describe, expect, it } from 'vitest';
import { deciderSpec, record } from '../../testing/decider-spec.js';
import type { OperationCommand, OperationCommandMetadata } from './operation.commands.js';
import { decideOperation, evolveOperation } from './operation.decider.js';
import type { OperationEvent, OperationPlanned, ResolvedId } from './operation.events.js';
import { planDigest, planWaves, type OperationPolicy } from './operation.plan.js';
import { initialOperationState } from './operation.state.js';

const policy: OperationPolicy = { maxOperationSites: 1000, largeOperationSites: 10, canarySites: 5 };
const spec = deciderSpec({
  decide: (command: OperationCommand, state) => decideOperation(command, state, policy),
  evolve: evolveOperation,
  initialState: initialOperationState,
});
const operationId = 'op_1';
const now = '2026-05-01T09:00:00.000Z';
const as = (id: string): OperationCommandMetadata => ({ now, actor: { id } });

function site(siteId: string, extra: Partial<Extract<ResolvedId, { kind: 'site' }>['site']> = {}): ResolvedId {
  return {
    kind: 'site',
    id: siteId,
    site: {
      siteId,
      customerId: `cust-${siteId}`,
      name: `Site ${siteId}`,
      internal: false,
      products: [],
      status: 'active',
      deletionProtection: false,
      legalHold: false,
      ...extra,
    },
  };
}

function planCommand(siteIds: string[], resolutions: ResolvedId[], action = 'soft-delete'): OperationCommand {
  return {
    type: 'PlanOperation',
    data: {
      operationId,
      action,
      siteIds,
      resolved: new Map(resolutions.map((resolution) => [resolution.id, resolution])),
      reason: 'customers churned',
      ticket: 'OPS-1',
    },
    metadata: as('olivia'),
  };
}

function planned(count: number, internal = 0): OperationPlanned {
  const ids = Array.from({ length: count }, (_, i) => `s${i + 1}`);
  const events = decideOperation(
    planCommand(
      ids,
      ids.map((id, i) => site(id, { internal: i < internal })),
    ),
    initialOperationState,
    policy,
  );
  return events[0] as OperationPlanned;
}

const approve = (by: string, digest: string): OperationCommand => ({
  type: 'ApproveOperation',
  data: { operationId, digest },
  metadata: as(by),
});
const approved = (by: string, digest: string): OperationEvent => ({
  type: 'OperationApproved',
  data: { operationId, approvedBy: by, digest },
});

describe('planning', () => {
  it('plans a valid soft delete with targets, summary, waves, approvals and digest', () => {
    const event = planned(3, 1);
    expect(event.type).toBe('OperationPlanned');
    expect(event.data).toMatchObject({
      operationId,
      action: 'soft-delete',
      requestedBy: 'olivia',
      reason: 'customers churned',
      ticket: 'OPS-1',
      summary: { sites: 3, customers: 3, internalSites: 1 },
      requiredApprovals: 1,
      waves: [
        { index: 1, kind: 'internal', siteIds: ['s1'] },
        { index: 2, kind: 'canary', siteIds: ['s2', 's3'] },
      ],
    });
    expect(event.data.targets[0]).toEqual({
      siteId: 's1',
      customerId: 'cust-s1',
      name: 'Site s1',
      internal: true,
      products: [],
      status: 'active',
    });
    const { digest, ...body } = event.data;
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(planDigest(body)).toBe(digest);
  });

  it('needs two approvals above the large-operation threshold', () => {
    expect(planned(10).data.requiredApprovals).toBe(1);
    expect(planned(11).data.requiredApprovals).toBe(2);
  });

  it('rejects the whole plan, listing every problem', () => {
    const resolutions: ResolvedId[] = [
      site('ok'),
      { kind: 'installation', id: 'inst-9', siteId: 'shop-9' },
      { kind: 'unknown', id: 'ghost' },
      site('gone', { status: 'deleted' }),
      site('dust', { status: 'purged' }),
      site('vip', { deletionProtection: true, legalHold: true }),
    ];
    const [event] = decideOperation(
      planCommand(['ok', 'inst-9', 'ghost', 'gone', 'dust', 'vip', 'ok'], resolutions),
      initialOperationState,
      policy,
    );
    expect(event).toMatchObject({
      type: 'OperationRejected',
      data: {
        operationId,
        requestedBy: 'olivia',
        siteIds: ['ok', 'inst-9', 'ghost', 'gone', 'dust', 'vip', 'ok'],
        problems: [
          { id: 'inst-9', problem: 'not-a-site', siteId: 'shop-9', detail: expect.stringContaining('shop-9') },
          { id: 'ghost', problem: 'unknown-id' },
          { id: 'gone', problem: 'already-deleted' },
          { id: 'dust', problem: 'purged' },
          { id: 'vip', problem: 'deletion-protected' },
          { id: 'vip', problem: 'legal-hold' },
          { id: 'ok', problem: 'duplicate-id' },
        ],
      },
    });
  });

  it('rejects an unsupported action, an empty plan and too many targets', () => {
    const problems = (command: OperationCommand, limits = policy) =>
      (
        decideOperation(command, initialOperationState, limits)[0] as Extract<
          OperationEvent,
          { type: 'OperationRejected' }
        >
      ).data.problems.map((p) => p.problem);
    expect(problems(planCommand(['a'], [site('a')], 'purge'))).toEqual(['unsupported-action']);
    expect(problems(planCommand([], []))).toEqual(['no-targets']);
    expect(problems(planCommand(['a', 'b'], [site('a'), site('b')]), { ...policy, maxOperationSites: 1 })).toEqual([
      'too-many-targets',
    ]);
  });

  it('a product installation ID list — the outage of SPEC §1 — is rejected in full', () => {
    const ids = Array.from({ length: 50 }, (_, i) => `app-install-${i}`);
    const [event] = decideOperation(
      planCommand(
        ids,
        ids.map((id, i) => ({ kind: 'installation', id, siteId: `site-${i}` })),
      ),
      initialOperationState,
      policy,
    );
    expect(event!.type).toBe('OperationRejected');
    expect((event as Extract<OperationEvent, { type: 'OperationRejected' }>).data.problems).toHaveLength(50);
  });

  it('refuses to plan over an existing operation', () => {
    spec
      .given([planned(1)])
      .when(planCommand(['s1'], [site('s1')]))
      .thenThrows('operation.exists');
  });
});

describe('waves', () => {
  const targets = (internal: number, customer: number) => [
    ...Array.from({ length: internal }, (_, i) => ({
      siteId: `i${i}`,
      customerId: 'us',
      name: 'x',
      internal: true,
      products: [],
      status: 'active' as const,
    })),
    ...Array.from({ length: customer }, (_, i) => ({
      siteId: `c${i}`,
      customerId: `c${i}`,
      name: 'x',
      internal: false,
      products: [],
      status: 'active' as const,
    })),
  ];

  it('runs internal sites first, then 5, 10, 20, … customer sites', () => {
    const waves = planWaves(targets(3, 883), 5);
    expect(waves.map((wave) => [wave.kind, wave.siteIds.length])).toEqual([
      ['internal', 3],
      ['canary', 5],
      ['customer', 10],
      ['customer', 20],
      ['customer', 40],
      ['customer', 80],
      ['customer', 160],
      ['customer', 320],
      ['customer', 248],
    ]);
    expect(waves.map((wave) => wave.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(new Set(waves.flatMap((wave) => wave.siteIds)).size).toBe(886);
  });

  it('starts with the canary when there are no internal sites', () => {
    expect(planWaves(targets(0, 4), 5).map((wave) => wave.kind)).toEqual(['canary']);
  });
});

describe('approval and execution', () => {
  // Built before each test, not when the suite is collected, so that each test covers the planning it relies on.
  let p: OperationPlanned;
  let digest: string;
  beforeEach(() => {
    p = planned(2);
    digest = p.data.digest;
  });

  it('an approver other than the requester approves; enough approvals make it approved', () => {
    spec
      .given([p])
      .when(approve('ada', digest))
      .thenEmits([approved('ada', digest)]);
    expect(spec.given([p, approved('ada', digest)]).state.status).toBe('approved');
  });

  it('the requester cannot approve their own plan (403)', () => {
    const error = spec.given([p]).when(approve('olivia', digest)).thenThrows('operation.self-approval');
    expect(error.kind).toBe('forbidden');
  });

  it('nobody approves twice, and a wrong digest is refused', () => {
    const big = planned(11);
    spec
      .given([big, approved('ada', big.data.digest)])
      .when(approve('ada', big.data.digest))
      .thenThrows('operation.duplicate-approval');
    spec
      .given([p])
      .when(approve('ada', 'sha256:' + '0'.repeat(64)))
      .thenThrows('operation.digest-mismatch');
  });

  it('a large plan stays planned after one approval and cannot run', () => {
    const big = planned(11);
    const given = spec.given([big, approved('ada', big.data.digest)]);
    expect(given.state.status).toBe('planned');
    given
      .when({ type: 'ExecuteOperation', data: { operationId, digest: big.data.digest }, metadata: as('olivia') })
      .thenThrows('operation.approvals-missing');
    spec
      .given([big, approved('ada', big.data.digest), approved('bob', big.data.digest)])
      .when({ type: 'ExecuteOperation', data: { operationId, digest: big.data.digest }, metadata: as('olivia') })
      .thenEmits([{ type: 'OperationExecutionStarted', data: { operationId, startedBy: 'olivia' } }]);
  });

  it('execute needs the digest and an approved plan, once', () => {
    const execute = (d: string): OperationCommand => ({
      type: 'ExecuteOperation',
      data: { operationId, digest: d },
      metadata: as('olivia'),
    });
    spec.given([p]).when(execute(digest)).thenThrows('operation.approvals-missing');
    spec
      .given([p, approved('ada', digest)])
      .when(execute('sha256:x'))
      .thenThrows('operation.digest-mismatch');
    spec
      .given([
        p,
        approved('ada', digest),
        { type: 'OperationExecutionStarted', data: { operationId, startedBy: 'olivia' } },
      ])
      .when(execute(digest))
      .thenThrows('operation.already-started');
  });
});

describe('waves, pauses, abort and rollback', () => {
  let p: OperationPlanned; // waves: internal [s1], canary [s2..s6]
  let digest: string;
  let started: OperationEvent[];
  beforeEach(() => {
    p = planned(6, 1);
    digest = p.data.digest;
    started = [
      p,
      approved('ada', digest),
      { type: 'OperationExecutionStarted', data: { operationId, startedBy: 'olivia' } },
    ];
  });
  const wave = (index: number, deleted: string[]): OperationCommand => ({
    type: 'CompleteWave',
    data: { operationId, index, deleted, skipped: [] },
    metadata: as('olivia'),
  });
  const waveDone = (index: number, deleted: string[]): OperationEvent => ({
    type: 'OperationWaveCompleted',
    data: { operationId, index, deleted, skipped: [] },
  });

  it('a wave completes and the operation pauses', () => {
    spec
      .given(started)
      .when(wave(1, ['s1']))
      .thenEmits([waveDone(1, ['s1'])]);
    expect(spec.given([...started, waveDone(1, ['s1'])]).state.status).toBe('paused');
  });

  it('the last wave completes the operation', () => {
    const resumed: OperationEvent[] = [
      ...started,
      waveDone(1, ['s1']),
      { type: 'OperationContinued', data: { operationId, continuedBy: 'olivia', index: 2 } },
    ];
    spec
      .given(resumed)
      .when(wave(2, ['s2', 's3', 's4', 's5', 's6']))
      .thenEmits([waveDone(2, ['s2', 's3', 's4', 's5', 's6']), { type: 'OperationCompleted', data: { operationId } }]);
  });

  it('refuses a wave out of order, and a wave while paused', () => {
    spec.given(started).when(wave(2, [])).thenThrows('operation.wave-mismatch');
    spec
      .given([...started, waveDone(1, ['s1'])])
      .when(wave(2, []))
      .thenThrows('operation.not-running');
  });

  it('continue only from paused', () => {
    const next: OperationCommand = { type: 'ContinueOperation', data: { operationId }, metadata: as('olivia') };
    spec.given(started).when(next).thenThrows('operation.not-paused');
    spec
      .given([...started, waveDone(1, ['s1'])])
      .when(next)
      .thenEmits([{ type: 'OperationContinued', data: { operationId, continuedBy: 'olivia', index: 2 } }]);
  });

  it('abort stops a planned, running or paused operation, not a finished one', () => {
    const abort: OperationCommand = {
      type: 'AbortOperation',
      data: { operationId, reason: 'wrong list' },
      metadata: as('ada'),
    };
    spec
      .given([...started, waveDone(1, ['s1'])])
      .when(abort)
      .thenEmits([{ type: 'OperationAborted', data: { operationId, abortedBy: 'ada', reason: 'wrong list' } }]);
    spec
      .given([p])
      .when(abort)
      .thenEmits([{ type: 'OperationAborted', data: { operationId, abortedBy: 'ada', reason: 'wrong list' } }]);
    spec
      .given([
        ...started,
        waveDone(1, ['s1']),
        { type: 'OperationAborted', data: { operationId, abortedBy: 'ada', reason: 'x' } },
      ])
      .when(abort)
      .thenThrows('operation.not-abortable');
  });

  it('rollback is recorded once the operation ran, and may be repeated', () => {
    const rollback: OperationCommand = {
      type: 'RecordRollback',
      data: { operationId, reason: 'mistake', restored: ['s1'], skipped: [] },
      metadata: as('olivia'),
    };
    spec
      .given([p, approved('ada', digest)])
      .when(rollback)
      .thenThrows('operation.not-executed');
    const rolledBack: OperationEvent = {
      type: 'OperationRolledBack',
      data: { operationId, rolledBackBy: 'olivia', reason: 'mistake', restored: ['s1'], skipped: [] },
    };
    spec
      .given([...started, waveDone(1, ['s1'])])
      .when(rollback)
      .thenEmits([rolledBack]);
    const after = spec.given([...started, waveDone(1, ['s1']), rolledBack]);
    expect(after.state.status).toBe('rolled-back');
    // Repeated: it records what it restored; restoring nothing, it records nothing.
    after.when(rollback).thenEmits([rolledBack]);
    after
      .when({ ...rollback, data: { ...rollback.data, restored: [], skipped: [] } } as OperationCommand)
      .thenEmits([]);
  });

  it('the first rollback records even when it restores nothing', () => {
    spec
      .given([...started, waveDone(1, ['s1'])])
      .when({
        type: 'RecordRollback',
        data: {
          operationId,
          reason: 'restored by hand',
          restored: [],
          skipped: [{ siteId: 's1', reason: 'site.not-deleted' }],
        },
        metadata: as('olivia'),
      })
      .thenEmits([
        {
          type: 'OperationRolledBack',
          data: {
            operationId,
            rolledBackBy: 'olivia',
            reason: 'restored by hand',
            restored: [],
            skipped: [{ siteId: 's1', reason: 'site.not-deleted' }],
          },
        },
      ]);
  });

  it('commands on an unknown or rejected operation', () => {
    spec.given([]).when(approve('ada', digest)).thenThrows('operation.not-found');
    const [rejected] = decideOperation(
      planCommand(['x'], [{ kind: 'unknown', id: 'x' }]),
      initialOperationState,
      policy,
    );
    spec.given([rejected!]).when(approve('ada', digest)).thenThrows('operation.plan-rejected');
    spec
      .given([rejected!])
      .when({ type: 'ExecuteOperation', data: { operationId, digest }, metadata: as('bob') })
      .thenThrows('operation.plan-rejected');
  });
});

describe('safety rules: plan, approval and execution', () => {
  const rejectedProblems = (resolutions: ResolvedId[]) => {
    const [event] = decideOperation(
      planCommand(
        resolutions.map((resolution) => resolution.id),
        resolutions,
      ),
      initialOperationState,
      policy,
    );
    if (event?.type !== 'OperationRejected') throw new Error(`expected a rejection, got ${event?.type}`);
    return event.data.problems.map(({ id, problem }) => ({ id, problem }));
  };

  it('deletion protection on any target rejects the whole plan at plan time', () => {
    expect(rejectedProblems([site('a'), site('b', { deletionProtection: true })])).toEqual([
      { id: 'b', problem: 'deletion-protected' },
    ]);
  });

  it('a legal hold on any target rejects the whole plan at plan time', () => {
    expect(rejectedProblems([site('a'), site('b', { legalHold: true })])).toEqual([{ id: 'b', problem: 'legal-hold' }]);
  });

  it('a purged or already deleted target rejects the whole plan', () => {
    expect(rejectedProblems([site('a', { status: 'purged' }), site('b', { status: 'deleted' })])).toEqual([
      { id: 'a', problem: 'purged' },
      { id: 'b', problem: 'already-deleted' },
    ]);
  });

  it('the requester can never approve their own plan', () => {
    const p = planned(1);
    spec.given([p]).when(approve('olivia', p.data.digest)).thenThrows('operation.self-approval');
  });

  it('nobody approves the same plan twice', () => {
    const big = planned(11);
    spec
      .given([big, approved('ada', big.data.digest)])
      .when(approve('ada', big.data.digest))
      .thenThrows('operation.duplicate-approval');
  });

  it('approval needs the digest of the plan as planned', () => {
    const p = planned(1);
    spec
      .given([p])
      .when(approve('ada', planned(2).data.digest))
      .thenThrows('operation.digest-mismatch');
  });

  it('execution needs the digest of the plan as approved', () => {
    const p = planned(1);
    spec
      .given([p, approved('ada', p.data.digest)])
      .when({ type: 'ExecuteOperation', data: { operationId, digest: planned(2).data.digest }, metadata: as('bob') })
      .thenThrows('operation.digest-mismatch');
  });

  it('a plan above the large-operation threshold needs two approvals before it may execute', () => {
    const big = planned(policy.largeOperationSites + 1);
    expect(big.data.requiredApprovals).toBe(2);
    const once = spec.given([big, approved('ada', big.data.digest)]);
    expect(once.state.status).toBe('planned');
    once
      .when({ type: 'ExecuteOperation', data: { operationId, digest: big.data.digest }, metadata: as('bob') })
      .thenThrows('operation.approvals-missing');
    expect(spec.given([big, approved('ada', big.data.digest), approved('bob', big.data.digest)]).state.status).toBe(
      'approved',
    );
    expect(planned(policy.largeOperationSites).data.requiredApprovals).toBe(1);
  });

  it('internal sites are deleted first, in a wave of their own, before any customer site', () => {
    const p = planned(4, 2);
    expect(p.data.waves).toEqual([
      { index: 1, kind: 'internal', siteIds: ['s1', 's2'] },
      { index: 2, kind: 'canary', siteIds: ['s3', 's4'] },
    ]);
  });

  it('the first customer wave is a canary of LEDGER_CANARY_SITES sites, and each later wave at most doubles', () => {
    const p = planned(30);
    expect(p.data.waves.map((wave) => [wave.kind, wave.siteIds.length])).toEqual([
      ['canary', policy.canarySites],
      ['customer', 2 * policy.canarySites],
      ['customer', 30 - 3 * policy.canarySites],
    ]);
  });
});

describe('operation decider: a type it does not know is a bug, and fails loudly', () => {
  it('refuses an unknown command, an unknown event and an unknown kind of resolved ID', () => {
    const p = planned(1);
    const state = spec.given([p]).state;
    expect(() =>
      decideOperation(
        { type: 'Explode', data: { operationId }, metadata: as('x') } as unknown as OperationCommand,
        state,
        policy,
      ),
    ).toThrow('unhandled operation command {"type":"Explode"');
    const [event] = record([{ type: 'OperationExploded', data: { operationId } } as unknown as OperationEvent]);
    expect(() => evolveOperation(state, event!)).toThrow('unhandled operation event {"type":"OperationExploded"');
    expect(() =>
      decideOperation(
        planCommand(['x'], [{ kind: 'alias', id: 'x' } as unknown as ResolvedId]),
        initialOperationState,
        policy,
      ),
    ).toThrow('unhandled resolution {"kind":"alias"');
  });
});

describe('operation decider: the details', () => {
  const execute = (digest: string, by = 'bob'): OperationCommand => ({
    type: 'ExecuteOperation',
    data: { operationId, digest },
    metadata: as(by),
  });
  const abort: OperationCommand = {
    type: 'AbortOperation',
    data: { operationId, reason: 'stop' },
    metadata: as('ada'),
  };
  const rollback = (restored: string[] = []): OperationCommand => ({
    type: 'RecordRollback',
    data: { operationId, reason: 'oops', restored, skipped: [] },
    metadata: as('rita'),
  });
  /** A two-wave operation (internal [s1], canary [s2]) at each step of its life. */
  const life = () => {
    const p = planned(2, 1);
    const digest = p.data.digest;
    const approvedOnce: OperationEvent[] = [p, approved('ada', digest)];
    const running: OperationEvent[] = [
      ...approvedOnce,
      { type: 'OperationExecutionStarted', data: { operationId, startedBy: 'oscar' } },
    ];
    const paused: OperationEvent[] = [
      ...running,
      { type: 'OperationWaveCompleted', data: { operationId, index: 1, deleted: ['s1'], skipped: [] } },
    ];
    const completed: OperationEvent[] = [
      ...paused,
      { type: 'OperationContinued', data: { operationId, continuedBy: 'oscar', index: 2 } },
      { type: 'OperationWaveCompleted', data: { operationId, index: 2, deleted: ['s2'], skipped: [] } },
      { type: 'OperationCompleted', data: { operationId } },
    ];
    const aborted: OperationEvent[] = [
      ...paused,
      { type: 'OperationAborted', data: { operationId, abortedBy: 'ada', reason: 'stop' } },
    ];
    const rolledBack: OperationEvent[] = [
      ...completed,
      {
        type: 'OperationRolledBack',
        data: { operationId, rolledBackBy: 'rita', reason: 'oops', restored: ['s1'], skipped: [] },
      },
    ];
    return { p, digest, planned: [p], approved: approvedOnce, running, paused, completed, aborted, rolledBack };
  };

  it('says which step was refused, and why', () => {
    const l = life();
    const refusal = (history: OperationEvent[], command: OperationCommand, code: string) =>
      spec.given(history).when(command).thenThrows(code).message;
    expect(refusal(l.approved, approve('bob', l.digest), 'operation.not-awaiting-approval')).toBe(
      'operation op_1 is approved: cannot approve it',
    );
    expect(refusal(l.running, execute(l.digest), 'operation.already-started')).toBe(
      'operation op_1 is running: cannot execute it',
    );
    expect(
      refusal(
        l.paused,
        { type: 'CompleteWave', data: { operationId, index: 2, deleted: [], skipped: [] }, metadata: as('x') },
        'operation.not-running',
      ),
    ).toBe('operation op_1 is paused: cannot complete a wave');
    expect(
      refusal(
        l.running,
        { type: 'ContinueOperation', data: { operationId }, metadata: as('x') },
        'operation.not-paused',
      ),
    ).toBe('operation op_1 is running: cannot continue it');
    expect(refusal(l.completed, abort, 'operation.not-abortable')).toBe('operation op_1 is completed: cannot abort it');
    expect(refusal(l.approved, rollback(), 'operation.not-executed')).toBe(
      'operation op_1 is approved: cannot roll it back (it never ran)',
    );
    expect(refusal(l.planned, execute(l.digest), 'operation.approvals-missing')).toContain('has 0 of the 1 approvals');
  });

  it('an operation may be aborted while planned, approved, running or paused, and never after', () => {
    const l = life();
    for (const history of [l.planned, l.approved, l.running, l.paused]) {
      spec
        .given(history)
        .when(abort)
        .thenEmits([{ type: 'OperationAborted', data: { operationId, abortedBy: 'ada', reason: 'stop' } }]);
    }
    for (const history of [l.completed, l.aborted, l.rolledBack]) {
      spec.given(history).when(abort).thenThrows('operation.not-abortable');
    }
  });

  it('an operation may be rolled back once it ran: running, paused, completed, aborted or rolled back', () => {
    const l = life();
    for (const history of [l.running, l.paused, l.completed, l.aborted, l.rolledBack]) {
      spec
        .given(history)
        .when(rollback(['s1']))
        .thenEmits([
          {
            type: 'OperationRolledBack',
            data: { operationId, rolledBackBy: 'rita', reason: 'oops', restored: ['s1'], skipped: [] },
          },
        ]);
    }
    for (const history of [l.planned, l.approved])
      spec.given(history).when(rollback()).thenThrows('operation.not-executed');
  });

  it('records every step in the state: approvals, who set each wave going, outcomes, abort and rollbacks', () => {
    const l = life();
    const state = spec.given([...l.completed, ...l.rolledBack.slice(-1)]).state;
    // record(): event n occurs n-1 minutes after 2026-01-01T00:00Z.
    expect(state).toEqual({
      status: 'rolled-back',
      plan: l.p.data,
      createdAt: '2026-01-01T00:00:00.000Z',
      approvals: [{ approvedBy: 'ada', approvedAt: '2026-01-01T00:01:00.000Z' }],
      nextWave: 3,
      activation: { by: 'oscar', eventId: 'event-5' },
      waveStarts: [
        { index: 1, startedAt: '2026-01-01T00:02:00.000Z', startedBy: 'oscar' },
        { index: 2, startedAt: '2026-01-01T00:04:00.000Z', startedBy: 'oscar' },
      ],
      waveOutcomes: [
        { index: 1, deleted: ['s1'], skipped: [], completedAt: '2026-01-01T00:03:00.000Z' },
        { index: 2, deleted: ['s2'], skipped: [], completedAt: '2026-01-01T00:05:00.000Z' },
      ],
      rollbacks: [
        { rolledBackBy: 'rita', reason: 'oops', restored: ['s1'], skipped: [], at: '2026-01-01T00:07:00.000Z' },
      ],
      version: 8,
      updatedAt: '2026-01-01T00:07:00.000Z',
    });
    expect(spec.given(l.aborted).state).toMatchObject({
      status: 'aborted',
      activation: { by: 'oscar', eventId: 'event-3' },
      abort: { abortedBy: 'ada', reason: 'stop', at: '2026-01-01T00:04:00.000Z' },
    });
  });

  it('records a rejection in the state, and ignores anything recorded after it or before a plan', () => {
    const [rejected] = decideOperation(
      planCommand(['x'], [{ kind: 'unknown', id: 'x' }]),
      initialOperationState,
      policy,
    );
    const state = spec.given([rejected!, approved('ada', 'sha256:x')]).state;
    expect(state).toEqual({
      status: 'rejected',
      rejection: (rejected as Extract<OperationEvent, { type: 'OperationRejected' }>).data,
      createdAt: '2026-01-01T00:00:00.000Z',
      version: 1,
      updatedAt: '2026-01-01T00:00:00.000Z',
    });
    expect(spec.given([approved('ada', 'sha256:x')]).state).toEqual(initialOperationState);
    spec.given([rejected!]).when(rollback()).thenThrows('operation.plan-rejected');
  });

  it('approving records who approved and the digest they saw', () => {
    const l = life();
    spec
      .given(l.planned)
      .when(approve('bob', l.digest))
      .thenEmits([{ type: 'OperationApproved', data: { operationId, approvedBy: 'bob', digest: l.digest } }]);
  });
});

describe('planning: the details', () => {
  const problemsOf = (command: OperationCommand, limits = policy) => {
    const [event] = decideOperation(command, initialOperationState, limits);
    return event?.type === 'OperationRejected' ? event.data.problems : [];
  };

  it('explains every problem in words', () => {
    expect(
      problemsOf(
        planCommand(
          ['inst-9', 'ghost', 'gone', 'dust', 'vip', 'vip'],
          [
            { kind: 'installation', id: 'inst-9', siteId: 'shop-9' },
            { kind: 'unknown', id: 'ghost' },
            site('gone', { status: 'deleted' }),
            site('dust', { status: 'purged' }),
            site('vip', { deletionProtection: true, legalHold: true }),
          ],
          'purge',
        ),
        { ...policy, maxOperationSites: 3 },
      ),
    ).toEqual([
      { problem: 'unsupported-action', detail: 'action "purge" is not supported; the only action is soft-delete' },
      { problem: 'too-many-targets', detail: '5 sites exceed the limit of 3 per operation' },
      {
        id: 'inst-9',
        problem: 'not-a-site',
        siteId: 'shop-9',
        detail: 'inst-9 is a product installation on site shop-9, not a site',
      },
      {
        id: 'ghost',
        problem: 'unknown-id',
        detail: 'ghost is neither a site nor a product installation in the ledger',
      },
      { id: 'gone', problem: 'already-deleted', detail: 'site gone is already deleted' },
      { id: 'dust', problem: 'purged', detail: 'site dust was purged' },
      { id: 'vip', problem: 'deletion-protected', detail: 'site vip has deletion protection' },
      { id: 'vip', problem: 'legal-hold', detail: 'site vip is under legal hold' },
      { id: 'vip', problem: 'duplicate-id', detail: 'vip is listed more than once' },
    ]);
    expect(problemsOf(planCommand([], []))).toEqual([{ problem: 'no-targets', detail: 'the plan names no site' }]);
  });

  it('allows exactly the maximum number of sites, counting each site once', () => {
    const limits = { ...policy, maxOperationSites: 2 };
    expect(problemsOf(planCommand(['a', 'b'], [site('a'), site('b')]), limits)).toEqual([]);
    expect(problemsOf(planCommand(['a', 'b', 'b'], [site('a'), site('b')]), limits).map((p) => p.problem)).toEqual([
      'duplicate-id',
    ]);
  });

  it('plans a suspended site, remembering its status and products', () => {
    const products = [{ installationId: 'i-1', productKey: 'shop' }];
    const [event] = decideOperation(
      planCommand(['a'], [site('a', { status: 'suspended', products })]),
      initialOperationState,
      policy,
    );
    expect(event).toMatchObject({
      type: 'OperationPlanned',
      data: { targets: [{ siteId: 'a', status: 'suspended', products }] },
    });
  });

  it('counts customers once each in the summary', () => {
    const [event] = decideOperation(
      planCommand(['a', 'b', 'c'], [site('a', { customerId: 'k' }), site('b', { customerId: 'k' }), site('c')]),
      initialOperationState,
      policy,
    );
    expect(event).toMatchObject({ data: { summary: { sites: 3, customers: 2, internalSites: 0 } } });
  });

  it('the digest covers the whole resolved plan: any change makes another digest', () => {
    const [a] = decideOperation(planCommand(['a'], [site('a')]), initialOperationState, policy);
    const [b] = decideOperation(planCommand(['a'], [site('a', { name: 'Other' })]), initialOperationState, policy);
    const digest = (event: OperationEvent | undefined) => (event?.type === 'OperationPlanned' ? event.data.digest : '');
    expect(digest(a)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(digest(a)).not.toBe(digest(b));
  });
});

describe('planning: IDs the resolver did not answer', () => {
  it('an ID missing from what was resolved is unknown', () => {
    const [event] = decideOperation(planCommand(['a', 'b'], [site('a')]), initialOperationState, policy);
    expect(event).toMatchObject({
      type: 'OperationRejected',
      data: { problems: [{ id: 'b', problem: 'unknown-id' }] },
    });
  });
});

describe('approval: the second approver', () => {
  it('a second, different approver may approve a large plan the first approved', () => {
    const big = planned(policy.largeOperationSites + 1);
    spec
      .given([big, approved('ada', big.data.digest)])
      .when(approve('bob', big.data.digest))
      .thenEmits([approved('bob', big.data.digest)]);
  });
});
