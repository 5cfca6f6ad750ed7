import { describe, expect, it } from 'vitest';
import { evenMoments, isoUtc, parseMoment, span } from './time';

describe('moments', () => {
  it('shows epoch milliseconds as UTC ISO 8601', () => {
    expect(isoUtc(Date.UTC(2026, 10, 30, 15, 10, 35, 493))).toBe('2026-11-30T15:10:35.493Z');
  });

  it('reads what the API accepts (RFC 3339 with an offset) and nothing else', () => {
    expect(parseMoment('2026-11-30T15:10:35Z')).toBe(Date.UTC(2026, 10, 30, 15, 10, 35));
    expect(parseMoment(' 2026-11-30T16:10:35.250+01:00 ')).toBe(Date.UTC(2026, 10, 30, 15, 10, 35, 250));
    for (const text of ['2026-11-30T15:10:35', '2026-11-30', 'yesterday', '', '2026-13-01T00:00:00Z'])
      expect(parseMoment(text), text).toBeUndefined();
  });

  it('spaces moments evenly from start to end, both included', () => {
    expect(evenMoments(1000, 2000, 5)).toEqual([1000, 1250, 1500, 1750, 2000]);
    expect(evenMoments(0, 10, 4)).toEqual([0, 3, 7, 10]);
    expect(evenMoments(5, 5, 24)).toEqual([5]);
    expect(evenMoments(0, 100, 1)).toEqual([100]);
  });

  it('says a span in words', () => {
    expect(span(4_400)).toBe('4 s');
    expect(span(250_000)).toBe('4 min 10 s');
    expect(span(7_500_000)).toBe('2 h 5 min');
    expect(span(3 * 86_400_000 + 4 * 3_600_000)).toBe('3 d 4 h');
  });
});
