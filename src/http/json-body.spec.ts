import { describe, expect, it } from 'vitest';
import { hasLoneSurrogate, nestsDeeperThan } from './json-body.js';

describe('nestsDeeperThan', () => {
  const nested = (levels: number): unknown => JSON.parse('['.repeat(levels) + ']'.repeat(levels));

  it('counts arrays and objects as levels, scalars as none', () => {
    expect(nestsDeeperThan('text', 0)).toBe(false);
    expect(nestsDeeperThan({}, 0)).toBe(true);
    expect(nestsDeeperThan({ contacts: [{ name: 'Kim' }] }, 3)).toBe(false);
    expect(nestsDeeperThan({ contacts: [{ name: 'Kim' }] }, 2)).toBe(true);
    expect(nestsDeeperThan(nested(32), 32)).toBe(false);
    expect(nestsDeeperThan(nested(33), 32)).toBe(true);
  });

  it('reads any depth without overflowing the stack', () => {
    expect(nestsDeeperThan(nested(200_000), 32)).toBe(true);
  });
});

describe('hasLoneSurrogate', () => {
  it('finds a lone surrogate in any value or key, and passes paired ones', () => {
    expect(hasLoneSurrogate({ name: 'Kim 😀', tags: ['ö', '€'] })).toBe(false);
    expect(hasLoneSurrogate({ name: 'Kim \ud83d' })).toBe(true);
    expect(hasLoneSurrogate({ contacts: [{ email: '\ude00@example.com' }] })).toBe(true);
    expect(hasLoneSurrogate({ ['\ud800']: 1 })).toBe(true);
    expect(hasLoneSurrogate(42)).toBe(false);
  });
});
