import { describe, expect, it } from 'vitest';
import { operationStreamId } from '../event-store/ledger-streams.js';
import { MemoryEventStore } from '../event-store/memory/memory-event-store.js';
import type { RequestContext } from '../ledger/request-context.js';
import type { OperationCommand } from './domain/operation.commands.js';
import { decideOperation } from './domain/operation.decider.js';
import type { ResolvedId } from './domain/operation.events.js';
import type { OperationPolicy } from './domain/operation.plan.js';
import { OperationStreams } from './operation-streams.js';

const policy: OperationPolicy = { maxOperationSites: 1000, largeOperationSites: 10, canarySites: 5 };
const operationId = 'op_cache';
const context = (id: string): RequestContext => ({
  principal: { id, roles: new Set() },
  correlationId: 'c',
  causationId: null,
});
const site = (siteId: string): ResolvedId => ({
  kind: 'site',
  id: siteId,
  site: {
    siteId,
    customerId: 'c1',
    name: siteId,
    internal: false,
    products: [],
    status: 'active',
    deletionProtection: false,
    legalHold: false,
  },
});

describe('OperationStreams.load with its fold cache', () => {
  it('answers as a fresh replay does while events are added, and keeps what it caches frozen', async () => {
    const store = new MemoryEventStore();
    const streams = new OperationStreams(store);
    const decideAndAppend = async (command: (now: string) => OperationCommand, by: string, minute: number) => {
      const loaded = await streams.load(operationId);
      const now = new Date(Date.UTC(2026, 0, 1, 9, minute)).toISOString();
      const events = decideOperation(command(now), loaded.state, policy);
      const change = streams.change(operationId, loaded, events, context(by), now);
      await store.appendMany([change.append]);
      // The state a command answers with, folded without reading back, is what a replay gives.
      expect(change.state).toEqual((await new OperationStreams(store).load(operationId)).state);
    };
    const ids = ['s1', 's2', 's3'];
    await decideAndAppend(
      (now) => ({
        type: 'PlanOperation',
        data: {
          operationId,
          action: 'soft-delete',
          siteIds: ids,
          resolved: new Map(ids.map((id) => [id, site(id)])),
          reason: 'r',
          ticket: null,
        },
        metadata: { now, actor: { id: 'olivia' } },
      }),
      'olivia',
      0,
    );
    const plan = await streams.load(operationId);
    if (plan.state.status !== 'planned') throw new Error(`planned, not ${plan.state.status}`);
    const digest = plan.state.plan.digest;
    await decideAndAppend(
      (now) => ({ type: 'ApproveOperation', data: { operationId, digest }, metadata: { now, actor: { id: 'amy' } } }),
      'amy',
      1,
    );

    const cached = await streams.load(operationId);
    const fresh = await new OperationStreams(store).load(operationId);
    expect(cached).toEqual(fresh);
    expect(cached.version).toBe(2);
    expect(cached.state.status).toBe('approved');
    expect(await store.readStream(operationStreamId(operationId))).toHaveLength(2);
    // A later reader gets the cached fold: nobody may change it in passing.
    const state = (await streams.load(operationId)).state as unknown as { approvals: unknown[] };
    expect(() => state.approvals.push({})).toThrow(TypeError);
  });

  it('loads an operation that does not exist as none, and caches nothing for it', async () => {
    const streams = new OperationStreams(new MemoryEventStore());
    expect(await streams.load('op_missing')).toEqual({
      state: { status: 'none' },
      version: 0,
      lastOccurredAt: undefined,
    });
  });
});
