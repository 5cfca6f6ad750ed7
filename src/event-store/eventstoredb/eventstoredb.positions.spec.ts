import { describe, expect, it } from 'vitest';
import { InvalidPositionError } from '../event-store.errors.js';
import {
  START_POSITION,
  compareEventStoreDbPositions,
  decodeEventStoreDbPosition,
  encodeEventStoreDbPosition,
  isEventStoreDbPosition,
} from './eventstoredb.positions.js';

const at = (commit: bigint, prepare = commit): string => encodeEventStoreDbPosition({ commit, prepare });

describe('EventStoreDB positions', () => {
  it('carry commit and prepare position and decode to exactly them', () => {
    const position = at(1_234n, 1_200n);
    expect(position).toMatch(/^1234-1200-[0-9a-f]{8}$/);
    expect(decodeEventStoreDbPosition(position)).toEqual({
      commit: 1_234n,
      prepare: 1_200n,
    });
  });

  it('order as numbers, by commit then prepare, never as strings', () => {
    expect(compareEventStoreDbPositions(at(9n), at(10n))).toBeLessThan(0);
    expect(compareEventStoreDbPositions(at(10n), at(9n))).toBeGreaterThan(0);
    expect(compareEventStoreDbPositions(at(42n), at(42n))).toBe(0);
    expect(compareEventStoreDbPositions(at(42n, 40n), at(42n, 41n))).toBeLessThan(0);
    expect(compareEventStoreDbPositions(START_POSITION, at(1n))).toBeLessThan(0);
  });

  it('stay exact beyond 2^53', () => {
    const big = 2n ** 60n + 1n;
    expect(decodeEventStoreDbPosition(at(big)).commit).toBe(big);
    expect(compareEventStoreDbPositions(at(big), at(2n ** 60n))).toBeGreaterThan(0);
  });

  it.each([
    { case: 'a SQLite position', text: '42' },
    { case: 'an old decimal commit position', text: '1234' },
    { case: 'a wrong check', text: '1234-1234-00000000' },
    { case: 'a changed number', text: at(1234n).replace(/^1234/, '1235') },
    { case: 'an upper-case check', text: at(7n).toUpperCase() },
    { case: 'leading zeros', text: `0${at(7n)}` },
    { case: 'prepare after commit', text: at(7n).replace(/^7-7/, '7-8') },
    { case: 'the "no position" value', text: at(2n ** 64n - 1n) },
    { case: 'a truncated position', text: at(123n).slice(0, -1) },
    { case: 'empty', text: '' },
    { case: 'spaces', text: ` ${at(7n)}` },
  ])('reject $case', ({ text }) => {
    expect(isEventStoreDbPosition(text)).toBe(false);
    expect(() => decodeEventStoreDbPosition(text)).toThrow(InvalidPositionError);
    expect(() => compareEventStoreDbPositions(text, at(1n))).toThrow(InvalidPositionError);
  });

  it('accept every position they issue', () => {
    for (const commit of [0n, 1n, 9n, 10n, 2n ** 63n, 2n ** 64n - 2n]) {
      expect(isEventStoreDbPosition(at(commit))).toBe(true);
    }
  });
});
