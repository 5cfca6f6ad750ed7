import { describe, expect, it } from 'vitest';
import type { Stats } from './api.types';
import { bandsOf, nearestSample, scales, type ChartBox, type Sample } from './fleet-chart';

const box: ChartBox = { width: 120, height: 110, margin: { left: 10, right: 10, top: 5, bottom: 5 } };
const stats = (active: number, suspended: number, deleted: number, purged: number): Stats => ({
  total: active + suspended + deleted + purged,
  byStatus: { active, suspended, deleted, purged },
});
const samples: Sample[] = [
  { at: 1000, stats: stats(10, 0, 0, 0) },
  { at: 2000, stats: stats(6, 0, 4, 0) },
  { at: 3000, stats: stats(9, 1, 0, 0) },
];

describe('the fleet chart', () => {
  it('spans the samples across the plot and the largest total up it', () => {
    const { x, y, top } = scales(samples, box);
    expect([x(1000), x(2000), x(3000)]).toEqual([10, 60, 110]);
    expect(top).toBe(10);
    expect([y(0), y(5), y(10)]).toEqual([105, 55, 5]);
  });

  it('stacks each status on the ones before it, as steps that hold until the next sample', () => {
    const [active, suspended, deleted, purged] = bandsOf(samples, ['active', 'suspended', 'deleted', 'purged'], box);
    // active: from 0 up to its count; 10 → 6 → 9 (y 5 → 45 → 15), stepping at each sample.
    expect(active!.path).toBe(
      'M 10 5 L 60 5 L 60 45 L 110 45 L 110 15 L 110 105 L 110 105 L 60 105 L 60 105 L 10 105 Z',
    );
    // deleted sits on active + suspended: 4 deleted at the second sample fill y 45 → 5.
    expect(deleted!.path).toContain('L 60 5 L 110 5');
    expect(suspended!.path.startsWith('M 10 5 L 60 5 L 60 45')).toBe(true);
    // Nothing was ever purged: a band of no height along the top of the stack.
    expect(purged!.path).toBe('M 10 5 L 60 5 L 60 5 L 110 5 L 110 5 L 110 5 L 110 5 L 60 5 L 60 5 L 10 5 Z');
  });

  it('finds the sample nearest a click', () => {
    expect(nearestSample(samples, box, 12)?.at).toBe(1000);
    expect(nearestSample(samples, box, 80)?.at).toBe(2000);
    expect(nearestSample(samples, box, 100)?.at).toBe(3000);
    expect(nearestSample([], box, 50)).toBeUndefined();
  });
});
