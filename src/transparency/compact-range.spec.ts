import { describe, expect, it } from 'vitest';
import { CompactRange } from './compact-range.js';
import { EMPTY_ROOT, hashLeaf } from './merkle.js';

/*
 * transparency-dev/merkle testonly/constants.go (Apache-2.0): the leaves of
 * the reference tree and CompactTrees(), the frontier after each append.
 */
const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];
const NODE = {
  leaf0: '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  leaf2: '0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7',
  leaf4: 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
  leaf6: 'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
  level1of0: 'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  level1of2: '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
  level2of0: 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  level3of0: '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
};
const FRONTIERS = [
  [],
  [NODE.leaf0],
  [NODE.level1of0],
  [NODE.level1of0, NODE.leaf2],
  [NODE.level2of0],
  [NODE.level2of0, NODE.leaf4],
  [NODE.level2of0, NODE.level1of2],
  [NODE.level2of0, NODE.level1of2, NODE.leaf6],
  [NODE.level3of0],
];

describe('CompactRange', () => {
  it('holds the frontier transparency-dev lists after every append', () => {
    const range = CompactRange.empty();
    expect(range.toState()).toEqual({ size: 0, hashes: [] });
    LEAVES.forEach((leaf, i) => {
      range.append(hashLeaf(Buffer.from(leaf, 'hex')));
      expect(range.toState()).toEqual({ size: i + 1, hashes: FRONTIERS[i + 1] });
    });
    expect(range.root().toString('hex')).toBe(NODE.level3of0);
  });

  it('the empty tree has the root of the empty string', () => {
    expect(CompactRange.empty().root()).toEqual(EMPTY_ROOT);
  });

  it('tells of each leaf and each subtree an append completes, lowest first', () => {
    const range = CompactRange.empty();
    const told: string[] = [];
    for (const leaf of LEAVES)
      range.append(hashLeaf(Buffer.from(leaf, 'hex')), (level, index) => told.push(`${level}/${index}`));
    expect(told).toEqual([
      '0/0',
      '0/1',
      '1/0',
      '0/2',
      '0/3',
      '1/1',
      '2/0',
      '0/4',
      '0/5',
      '1/2',
      '0/6',
      '0/7',
      '1/3',
      '2/1',
      '3/0',
    ]);
  });

  it('a state that no compact range could have written is refused', () => {
    const hash = NODE.leaf0;
    expect(
      CompactRange.fromState({ size: 1, hashes: [hash] })
        .root()
        .toString('hex'),
    ).toBe(hash);
    for (const state of [
      { size: 2, hashes: [hash, hash] }, // 2 = 0b10: one subtree, not two
      { size: 3, hashes: [hash] },
      { size: 1, hashes: [hash.toUpperCase()] },
      { size: 1, hashes: [hash.slice(2)] },
      { size: -1, hashes: [] },
      { size: 1.5, hashes: [hash] },
      { size: Number.POSITIVE_INFINITY, hashes: [] },
      { size: 1, hashes: 'nope' as unknown as string[] },
    ]) {
      expect(() => CompactRange.fromState(state)).toThrow(RangeError);
    }
  });

  it('refuses a leaf hash of the wrong length, and is unchanged by the refusal', () => {
    const range = CompactRange.empty();
    expect(() => range.append(Buffer.from('short'))).toThrow(RangeError);
    expect(range.size).toBe(0);
  });

  it('its state is a copy: changing it changes nothing in the range', () => {
    const range = CompactRange.empty();
    range.append(hashLeaf(Buffer.from('a')));
    const state = range.toState();
    state.hashes[0] = NODE.leaf0;
    expect(range.toState().hashes[0]).not.toBe(NODE.leaf0);
  });
});
