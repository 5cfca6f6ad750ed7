import { describe, expect, it } from 'vitest';
import { notReadyBecause } from './readiness.js';

describe('readiness', () => {
  const ready = { storeAnswers: true, readModels: 'live' as const, lag: 0, maxLag: 100 };

  it('is ready when the store answers and live read models are at most maxLag behind', () => {
    expect(notReadyBecause(ready)).toBeUndefined();
    expect(notReadyBecause({ ...ready, lag: 100 })).toBeUndefined();
  });

  it('says why not: the store, the read models not live, or too far behind', () => {
    expect(notReadyBecause({ ...ready, storeAnswers: false, lag: undefined })).toBe('the event store does not answer');
    expect(notReadyBecause({ ...ready, readModels: 'catching-up' })).toBe('the read models are catching-up');
    expect(notReadyBecause({ ...ready, readModels: 'failing' })).toBe('the read models are failing');
    expect(notReadyBecause({ ...ready, lag: 101 })).toBe(
      'the read models are 101 events behind the store (at most 100 allowed)',
    );
  });
});
