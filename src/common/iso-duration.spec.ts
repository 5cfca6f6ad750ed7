import { describe, expect, it } from 'vitest';
import { addIsoDuration, isoDurationMs, parseIsoDuration } from './iso-duration.js';

describe('ISO 8601 durations', () => {
  it.each(['P30D', 'P7D', 'PT1M', 'P1Y2M3W4DT5H6M7.5S', 'PT0.25S', 'P0D'])('accepts %s', (text) => {
    expect(parseIsoDuration(text)).toBeDefined();
  });

  it.each(['', 'P', 'PT', '30D', 'P-1D', 'P1.5D', 'PT1H ', 'p30d', 'P1DT', 'P1M1Y'])('rejects %j', (text) => {
    expect(parseIsoDuration(text)).toBeUndefined();
  });

  it('adds calendar parts in UTC', () => {
    const from = new Date('2026-01-31T12:00:00.000Z');
    expect(addIsoDuration(from, parseIsoDuration('P1D')!).toISOString()).toBe('2026-02-01T12:00:00.000Z');
    expect(addIsoDuration(from, parseIsoDuration('P1Y')!).toISOString()).toBe('2027-01-31T12:00:00.000Z');
    expect(addIsoDuration(from, parseIsoDuration('PT1H30M')!).toISOString()).toBe('2026-01-31T13:30:00.000Z');
  });

  it('measures fixed durations in milliseconds', () => {
    expect(isoDurationMs(parseIsoDuration('PT1M')!)).toBe(60_000);
    expect(isoDurationMs(parseIsoDuration('P7D')!)).toBe(7 * 86_400_000);
    expect(isoDurationMs(parseIsoDuration('PT0.25S')!)).toBe(250);
  });
});
