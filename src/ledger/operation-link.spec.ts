import { describe, expect, it } from 'vitest';
import { StoredEventFactory } from '../testing/stored-events.js';
import { operationLinkOf, operationsOfStream } from './operation-link.js';

const at = '2026-01-01T00:00:00.000Z';

describe('operationLinkOf', () => {
  const events = new StoredEventFactory();

  it("an operation's own stream, and site events naming it, belong to it; a site restore links to what it compensates", () => {
    expect(operationLinkOf(events.event('operation-op_1', 'OperationPlanned', {}, at))).toEqual({
      kind: 'operation',
      operationId: 'op_1',
    });
    expect(operationLinkOf(events.event('site-a', 'SiteSoftDeleted', {}, at, { operationId: 'op_2' }))).toEqual({
      kind: 'operation',
      operationId: 'op_2',
    });
    expect(operationLinkOf(events.event('site-a', 'SiteRestored', {}, at, { compensates: 'e1' }))).toEqual({
      kind: 'compensation',
      compensates: 'e1',
    });
    expect(operationLinkOf(events.event('policy-purge', 'PurgingPaused', {}, at, { compensates: 'e1' }))).toEqual({
      kind: 'none',
    });
    expect(operationLinkOf(events.event('site-a', 'SiteSuspended', {}, at))).toEqual({ kind: 'none' });
  });

  it("operationsOfStream follows compensations through a site's history", () => {
    const deleted = events.event('site-b', 'SiteSoftDeleted', {}, at, { operationId: 'op_1' });
    const restored = events.event('site-b', 'SiteRestored', {}, at, { compensates: deleted.eventId });
    const reverted = events.event('site-b', 'SiteSuspended', {}, at, { compensates: restored.eventId });
    const other = events.event('site-b', 'SiteReactivated', {}, at);
    const found = operationsOfStream([deleted, restored, reverted, other]);
    expect([...found]).toEqual([
      [deleted.eventId, 'op_1'],
      [restored.eventId, 'op_1'],
      [reverted.eventId, 'op_1'],
    ]);
  });
});
