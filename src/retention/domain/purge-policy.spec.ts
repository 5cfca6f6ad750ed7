import { describe, expect, it } from 'vitest';
import { record } from '../../testing/decider-spec.js';
import { decidePurgePolicy, evolvePurgePolicy, initialPurgePolicy, type PurgePolicyEvent } from './purge-policy.js';

const set = (paused: boolean, reason = 'incident') => ({
  type: 'SetPurgePaused' as const,
  data: { paused, reason },
  metadata: { actor: { id: 'ada' } },
});
const fold = (events: PurgePolicyEvent[]) => record(events).reduce(evolvePurgePolicy, initialPurgePolicy);

describe('purge policy', () => {
  it('purging runs until someone freezes it', () => {
    expect(initialPurgePolicy.paused).toBe(false);
    expect(decidePurgePolicy(set(true), initialPurgePolicy)).toEqual([
      { type: 'PurgingPaused', data: { reason: 'incident', by: 'ada' } },
    ]);
  });

  it('records who froze it, why and when', () => {
    expect(fold([{ type: 'PurgingPaused', data: { reason: 'INC-1', by: 'ada' } }])).toEqual({
      paused: true,
      reason: 'INC-1',
      changedBy: 'ada',
      changedAt: '2026-01-01T00:00:00.000Z',
      version: 1,
    });
  });

  it('a repeated freeze or resume records nothing', () => {
    const frozen = fold([{ type: 'PurgingPaused', data: { reason: 'INC-1', by: 'ada' } }]);
    expect(decidePurgePolicy(set(true), frozen)).toEqual([]);
    expect(decidePurgePolicy(set(false), initialPurgePolicy)).toEqual([]);
    expect(decidePurgePolicy(set(false, 'resolved'), frozen)).toEqual([
      { type: 'PurgingResumed', data: { reason: 'resolved', by: 'ada' } },
    ]);
  });
});

describe('safety rules: the purge switch', () => {
  it('a freeze holds until someone resumes purging, and records who and why', () => {
    const frozen = fold([{ type: 'PurgingPaused', data: { reason: 'INC-1', by: 'ada' } }]);
    expect(frozen.paused).toBe(true);
    const resumed = fold([
      { type: 'PurgingPaused', data: { reason: 'INC-1', by: 'ada' } },
      { type: 'PurgingResumed', data: { reason: 'resolved', by: 'bob' } },
    ]);
    expect(resumed).toEqual({
      paused: false,
      reason: 'resolved',
      changedBy: 'bob',
      changedAt: '2026-01-01T00:01:00.000Z',
      version: 2,
    });
  });
});

describe('purge policy: a type it does not know is a bug, and fails loudly', () => {
  it('refuses to fold an unknown event', () => {
    const [event] = record([
      { type: 'PurgingExploded', data: { reason: 'x', by: 'y' } } as unknown as PurgePolicyEvent,
    ]);
    expect(() => evolvePurgePolicy(initialPurgePolicy, event!)).toThrow(
      'unhandled purge policy event {"type":"PurgingExploded"',
    );
  });
});
