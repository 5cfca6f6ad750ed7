import { describe, expect, it } from 'vitest';
import { isRfc3339, parseRfc3339 } from './rfc3339.js';

describe('parseRfc3339', () => {
  it.each([
    ['2026-11-21T07:37:00Z', '2026-11-21T07:37:00.000Z'],
    ['2026-11-21t07:37:00z', '2026-11-21T07:37:00.000Z'],
    ['2026-11-21T07:37:00.25Z', '2026-11-21T07:37:00.250Z'],
    ['2026-11-21T07:37:00.123456789Z', '2026-11-21T07:37:00.123Z'],
    ['2026-11-21T08:37:00+01:00', '2026-11-21T07:37:00.000Z'],
    ['2026-11-21T02:07:00-05:30', '2026-11-21T07:37:00.000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ['2000-02-29T23:59:59.999Z', '2000-02-29T23:59:59.999Z'],
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z'],
  ])('reads %s as %s', (text, iso) => {
    expect(new Date(parseRfc3339(text)!).toISOString()).toBe(iso);
  });

  // ISO 8601 forms a validator accepted but Date could not read (they answered 500), and other near misses.
  it.each([
    '2026-W01-1T00:00Z',
    '2026-001T00:00Z',
    '2026-01-01T00Z',
    '20260101T000000Z',
    '2026-01-01T00:00:00,5Z',
    '+2026-01-01T00:00Z',
    '2026-01-01T00:00Z',
    '2026-01-01T00:00:00',
    '2026-01-01 00:00:00Z',
    '2026-01-01',
    '2026-13-01T00:00:00Z',
    '2026-02-29T00:00:00Z',
    '1900-02-29T00:00:00Z',
    '2026-04-31T00:00:00Z',
    '2026-01-01T24:00:00Z',
    '2026-01-01T00:60:00Z',
    '2026-12-31T23:59:60Z',
    '2026-01-01T00:00:00+24:00',
    '2026-01-01T00:00:00+0100',
    '2026-01-01T00:00:00.Z',
    '2026-01-01T00:00:00.1234567890Z',
    ' 2026-01-01T00:00:00Z',
    '2026-01-01T00:00:00Z\n',
    '',
  ])('refuses %j', (text) => {
    expect(parseRfc3339(text)).toBeUndefined();
    expect(isRfc3339(text)).toBe(false);
  });

  it('agrees with Date.parse on every form both read', () => {
    for (let ms = Date.UTC(1999, 11, 31, 22); ms < Date.UTC(2000, 2, 2); ms += 3_600_007) {
      const iso = new Date(ms).toISOString();
      expect(parseRfc3339(iso)).toBe(Date.parse(iso));
    }
  });

  it('is not a string: not a time', () => {
    expect(isRfc3339(20260101)).toBe(false);
    expect(isRfc3339(undefined)).toBe(false);
  });
});
