import { describe, expect, it } from 'vitest';
import { naivePath, naiveProof, naiveRoot } from '../testing/naive-merkle.js';
import { CompactRange } from './compact-range.js';
import { EMPTY_ROOT, hashChildren, hashLeaf, verifyConsistency, verifyInclusion } from './merkle.js';
import type { ConsistencyClaim, InclusionClaim } from './merkle.js';
import { MemoryNodeHashes, consistencyProof, inclusionProof, nodesFromLeafHashes, treeRoot } from './merkle-proofs.js';

/*
 * Known vectors of RFC 6962/9162 trees, copied from transparency-dev/merkle
 * (Apache-2.0): testonly/constants.go (leaves, node and root hashes),
 * rfc6962/rfc6962_test.go (hashing), proof/verify_test.go (proofs and the
 * ways it corrupts them), proof/proof_test.go (which nodes make each proof).
 * Every vector is also recomputed by the naive implementation of the RFC's
 * definitions (src/testing/naive-merkle.ts), so a miscopied one fails too.
 */
const hex = (text: string): Buffer => Buffer.from(text, 'hex');
const show = (hashes: readonly Uint8Array[]): string[] => hashes.map((hash) => Buffer.from(hash).toString('hex'));

const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(
  hex,
);

/** NODES[level][index]: every complete subtree of the 8-leaf tree. */
const NODES = [
  [
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
    '0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7',
    '07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7',
    'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    '4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658',
    'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
    '46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1',
  ],
  [
    'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
    '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
    '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
    'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
  ],
  [
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
  ],
  ['5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328'],
];

/** ROOTS[size], from the empty tree to all eight leaves. */
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

/** proof/verify_test.go: inclusion proofs (index 0-based here; 1-based there) and consistency proofs. */
const INCLUSION_VECTORS = [
  { index: 0, size: 1, proof: [] },
  {
    index: 0,
    size: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    index: 5,
    size: 8,
    proof: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  { index: 2, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  {
    index: 1,
    size: 5,
    proof: [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
];

const CONSISTENCY_VECTORS = [
  { oldSize: 1, newSize: 1, proof: [] },
  {
    oldSize: 1,
    newSize: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    oldSize: 6,
    newSize: 8,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  {
    oldSize: 2,
    newSize: 5,
    proof: [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
  {
    oldSize: 6,
    newSize: 7,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];

const n = (level: number, index: number): string => NODES[level]![index]!;
/** A node the reference does not store, rehashed from two that it does (proof_test.go's `rehash`). */
const h = (left: string, right: string): string => hashChildren(hex(left), hex(right)).toString('hex');

/** proof/proof_test.go TestInclusion, the trees of up to 8 leaves: [size, index, the nodes of the path]. */
const INCLUSION_NODES: [number, number, string[]][] = [
  [1, 0, []],
  [2, 0, [n(0, 1)]],
  [2, 1, [n(0, 0)]],
  [3, 1, [n(0, 0), n(0, 2)]],
  [7, 0, [n(0, 1), n(1, 1), h(n(1, 2), n(0, 6))]],
  [7, 1, [n(0, 0), n(1, 1), h(n(1, 2), n(0, 6))]],
  [7, 2, [n(0, 3), n(1, 0), h(n(1, 2), n(0, 6))]],
  [7, 3, [n(0, 2), n(1, 0), h(n(1, 2), n(0, 6))]],
  [7, 4, [n(0, 5), n(0, 6), n(2, 0)]],
  [7, 5, [n(0, 4), n(0, 6), n(2, 0)]],
  [7, 6, [n(1, 2), n(2, 0)]],
  [4, 2, [n(0, 3), n(1, 0)]],
  [5, 3, [n(0, 2), n(1, 0), n(0, 4)]],
  [6, 3, [n(0, 2), n(1, 0), n(1, 2)]],
  [6, 4, [n(0, 5), n(2, 0)]],
];

/** proof/proof_test.go TestConsistency, the trees of up to 8 leaves: [old size, new size, the nodes of the proof]. */
const CONSISTENCY_NODES: [number, number, string[]][] = [
  [1, 2, [n(0, 1)]],
  [1, 4, [n(0, 1), n(1, 1)]],
  [1, 6, [n(0, 1), n(1, 1), n(1, 2)]],
  [2, 3, [n(0, 2)]],
  [2, 8, [n(1, 1), n(2, 1)]],
  [3, 7, [n(0, 2), n(0, 3), n(1, 0), h(n(1, 2), n(0, 6))]],
  [4, 7, [h(n(1, 2), n(0, 6))]],
  [5, 7, [n(0, 4), n(0, 5), n(0, 6), n(2, 0)]],
  [6, 7, [n(1, 2), n(0, 6), n(2, 0)]],
  [7, 8, [n(0, 6), n(0, 7), n(1, 2), n(2, 0)]],
  [2, 4, [n(1, 1)]],
  [3, 5, [n(0, 2), n(0, 3), n(1, 0), n(0, 4)]],
  [3, 6, [n(0, 2), n(0, 3), n(1, 0), n(1, 2)]],
  [4, 6, [n(1, 2)]],
  [1, 7, [n(0, 1), n(1, 1), h(n(1, 2), n(0, 6))]],
  ...[1, 2, 3, 4, 5, 7, 8].map((size): [number, number, string[]] => [size, size, []]),
];

const leafHashes = LEAVES.map(hashLeaf);
const stored = new MemoryNodeHashes();
const tree = CompactRange.empty();
for (const leafHash of leafHashes) tree.append(leafHash, (level, index, hash) => stored.put(level, index, hash));
const fromLeaves = nodesFromLeafHashes({ size: leafHashes.length, get: (index) => leafHashes[index]! });

describe('RFC 6962 hashing (transparency-dev/merkle rfc6962_test.go)', () => {
  it('the empty tree, an empty leaf, a leaf and a node', () => {
    expect(EMPTY_ROOT.toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(hashLeaf(Buffer.alloc(0)).toString('hex')).toBe(
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    );
    expect(hashLeaf(Buffer.from('L123456')).toString('hex')).toBe(
      '395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56',
    );
    expect(hashChildren(Buffer.from('N123'), Buffer.from('N456')).toString('hex')).toBe(
      'aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb',
    );
  });

  it('a leaf never hashes like the node of its two halves (the prefixes)', () => {
    const [left, right] = [hashLeaf(Buffer.from('Hello')), hashLeaf(Buffer.from('World'))];
    expect(hashChildren(left, right)).not.toEqual(hashLeaf(Buffer.concat([left, right])));
    expect(hashChildren(left, right)).not.toEqual(hashChildren(right, left));
  });
});

describe('the reference tree of 8 leaves (transparency-dev/merkle testonly/constants.go)', () => {
  it('the vectors themselves are what the RFC definitions give', () => {
    for (let size = 0; size <= 8; size += 1) expect(naiveRoot(LEAVES.slice(0, size)).toString('hex')).toBe(ROOTS[size]);
    NODES.forEach((row, level) =>
      row.forEach((hash, index) =>
        expect(naiveRoot(LEAVES.slice(index * 2 ** level, (index + 1) * 2 ** level)).toString('hex')).toBe(hash),
      ),
    );
  });

  it('roots of every size, from stored nodes and from leaf hashes alone', () => {
    for (let size = 0; size <= 8; size += 1) {
      expect(treeRoot(stored, size).toString('hex')).toBe(ROOTS[size]);
      expect(treeRoot(fromLeaves, size).toString('hex')).toBe(ROOTS[size]);
    }
  });

  it('the compact range hands out exactly the complete subtrees', () => {
    NODES.forEach((row, level) =>
      row.forEach((hash, index) => expect(stored.node(level, index).toString('hex')).toBe(hash)),
    );
    expect(() => stored.node(3, 1)).toThrow(RangeError);
  });

  it.each(INCLUSION_NODES)(
    'inclusion in a tree of %i, leaf %i: the nodes proof_test.go lists',
    (size, index, nodes) => {
      expect(show(inclusionProof(stored, index, size))).toEqual(nodes);
      expect(show(inclusionProof(fromLeaves, index, size))).toEqual(nodes);
      expect(show(naivePath(index, LEAVES.slice(0, size)))).toEqual(nodes);
    },
  );

  it.each(CONSISTENCY_NODES)('consistency from %i to %i: the nodes proof_test.go lists', (oldSize, newSize, nodes) => {
    expect(show(consistencyProof(stored, oldSize, newSize))).toEqual(nodes);
    expect(show(consistencyProof(fromLeaves, oldSize, newSize))).toEqual(nodes);
    if (oldSize < newSize) expect(show(naiveProof(oldSize, LEAVES.slice(0, newSize)))).toEqual(nodes);
  });

  it('refuses proofs of leaves or sizes the tree does not have', () => {
    expect(() => inclusionProof(stored, 0, 0)).toThrow(RangeError);
    expect(() => inclusionProof(stored, 8, 7)).toThrow(RangeError);
    expect(() => inclusionProof(stored, -1, 7)).toThrow(RangeError);
    expect(() => consistencyProof(stored, 5, 0)).toThrow(RangeError);
    expect(() => consistencyProof(stored, 9, 8)).toThrow(RangeError);
    expect(() => treeRoot(stored, 1.5)).toThrow(RangeError);
  });
});

/** proof/verify_test.go corruptInclusionProof: every probe must fail. */
function corruptInclusion(claim: InclusionClaim): [string, InclusionClaim][] {
  const { index, size, proof, root } = claim;
  const probes: [string, InclusionClaim][] = [
    ['index - 1', { ...claim, index: index - 1 }],
    ['index + 1', { ...claim, index: index + 1 }],
    ['index ^ 2', { ...claim, index: index ^ 2 }],
    ['size * 2', { ...claim, size: size * 2 }],
    ['size / 2', { ...claim, size: Math.floor(size / 2) }],
    ['wrong leaf', { ...claim, leafHash: Buffer.from('WrongLeaf') }],
    ['empty root', { ...claim, root: EMPTY_ROOT }],
    ['random root', { ...claim, root: hex('abacaba000000000000000000000000000000000000000000060061e00123456') }],
    ['trailing garbage', { ...claim, proof: [...proof, Buffer.alloc(0)] }],
    ['trailing root', { ...claim, proof: [...proof, root] }],
    ['preceding garbage', { ...claim, proof: [Buffer.alloc(0), ...proof] }],
    ['preceding root', { ...claim, proof: [root, ...proof] }],
  ];
  proof.forEach((_, i) => probes.push([`proof[${i}] bit 3`, { ...claim, proof: flipped(proof, i, 0, 3) }]));
  if (proof.length > 0) probes.push(['removed component', { ...claim, proof: proof.slice(0, -1) }]);
  if (proof.length > 1) {
    probes.push(['inserted component', { ...claim, proof: [proof[0]!, hex(ROOTS[3]!), ...proof.slice(1)] }]);
  }
  return probes;
}

/** proof/verify_test.go corruptConsistencyProof: every probe must fail. */
function corruptConsistency(claim: ConsistencyClaim): [string, ConsistencyClaim][] {
  const { oldSize, newSize, oldRoot, newRoot, proof } = claim;
  const probes: [string, ConsistencyClaim][] = [
    ['oldSize - 1', { ...claim, oldSize: oldSize - 1 }],
    ['oldSize + 1', { ...claim, oldSize: oldSize + 1 }],
    ['oldSize ^ 2', { ...claim, oldSize: oldSize ^ 2 }],
    ['newSize * 2', { ...claim, newSize: newSize * 2 }],
    ['newSize / 2', { ...claim, newSize: Math.floor(newSize / 2) }],
    ['wrong old root', { ...claim, oldRoot: Buffer.from('WrongRoot') }],
    ['wrong new root', { ...claim, newRoot: Buffer.from('WrongRoot') }],
    ['swapped roots', { ...claim, oldRoot: newRoot, newRoot: oldRoot }],
    ['empty proof', { ...claim, proof: [] }],
    ['trailing garbage', { ...claim, proof: [...proof, Buffer.alloc(0)] }],
    ['trailing old root', { ...claim, proof: [...proof, oldRoot] }],
    ['trailing new root', { ...claim, proof: [...proof, newRoot] }],
    ['preceding garbage', { ...claim, proof: [Buffer.alloc(0), ...proof] }],
    ['preceding old root', { ...claim, proof: [oldRoot, ...proof] }],
    ['preceding new root', { ...claim, proof: [newRoot, ...proof] }],
    ['preceding proof[0]', { ...claim, proof: [proof[0]!, ...proof] }],
    ['truncated proof', { ...claim, proof: proof.slice(0, -1) }],
  ];
  proof.forEach((_, i) => probes.push([`proof[${i}] bit 4`, { ...claim, proof: flipped(proof, i, 0, 4) }]));
  return probes;
}

function flipped(hashes: readonly Uint8Array[], element: number, byte: number, bit: number): Buffer[] {
  return hashes.map((hash, i) => {
    const copy = Buffer.from(hash);
    if (i === element) copy[byte]! ^= 1 << bit;
    return copy;
  });
}

describe('verification of the reference proofs (transparency-dev/merkle proof/verify_test.go)', () => {
  it.each(INCLUSION_VECTORS)('inclusion of leaf $index in a tree of $size, and every corruption of it', (vector) => {
    const claim: InclusionClaim = {
      index: vector.index,
      size: vector.size,
      leafHash: leafHashes[vector.index]!,
      proof: vector.proof.map(hex),
      root: hex(ROOTS[vector.size]!),
    };
    expect(show(inclusionProof(stored, vector.index, vector.size))).toEqual(vector.proof);
    expect(verifyInclusion(claim)).toBe(true);
    const accepted = corruptInclusion(claim).filter(([, probe]) => verifyInclusion(probe));
    expect(accepted.map(([name]) => name)).toEqual([]);
  });

  it.each(CONSISTENCY_VECTORS)('consistency from $oldSize to $newSize, and every corruption of it', (vector) => {
    const claim: ConsistencyClaim = {
      oldSize: vector.oldSize,
      newSize: vector.newSize,
      oldRoot: hex(ROOTS[vector.oldSize]!),
      newRoot: hex(ROOTS[vector.newSize]!),
      proof: vector.proof.map(hex),
    };
    expect(show(consistencyProof(stored, vector.oldSize, vector.newSize))).toEqual(vector.proof);
    expect(verifyConsistency(claim)).toBe(true);
    // As in verify_test.go, only proofs with something in them are corrupted.
    if (claim.proof.length === 0) return;
    const accepted = corruptConsistency(claim).filter(([, probe]) => verifyConsistency(probe));
    expect(accepted.map(([name]) => name)).toEqual([]);
  });

  it('verify_test.go TestVerifyConsistency: trivial sizes, time travel, empty proofs, roots that do not match', () => {
    const [a, b] = [hex(ROOTS[3]!), hex(ROOTS[5]!)];
    const one = [EMPTY_ROOT];
    const cases: [ConsistencyClaim, boolean][] = [
      [{ oldSize: 0, newSize: 0, oldRoot: a, newRoot: b, proof: [] }, false],
      [{ oldSize: 1, newSize: 1, oldRoot: a, newRoot: b, proof: [] }, false],
      [{ oldSize: 0, newSize: 0, oldRoot: a, newRoot: a, proof: [] }, true],
      // transparency-dev accepts any old root for size 0; the empty tree has one root only.
      [{ oldSize: 0, newSize: 1, oldRoot: EMPTY_ROOT, newRoot: b, proof: [] }, true],
      [{ oldSize: 0, newSize: 1, oldRoot: a, newRoot: b, proof: [] }, false],
      [{ oldSize: 1, newSize: 1, oldRoot: b, newRoot: b, proof: [] }, true],
      [{ oldSize: 1, newSize: 0, oldRoot: a, newRoot: b, proof: [] }, false],
      [{ oldSize: 2, newSize: 1, oldRoot: a, newRoot: b, proof: [] }, false],
      [{ oldSize: 1, newSize: 2, oldRoot: a, newRoot: b, proof: [] }, false],
      [{ oldSize: 0, newSize: 0, oldRoot: EMPTY_ROOT, newRoot: b, proof: [] }, false],
      [{ oldSize: 1, newSize: 1, oldRoot: EMPTY_ROOT, newRoot: b, proof: [] }, false],
      [{ oldSize: 0, newSize: 0, oldRoot: EMPTY_ROOT, newRoot: EMPTY_ROOT, proof: one }, false],
      [{ oldSize: 0, newSize: 1, oldRoot: EMPTY_ROOT, newRoot: EMPTY_ROOT, proof: one }, false],
      [{ oldSize: 1, newSize: 1, oldRoot: EMPTY_ROOT, newRoot: EMPTY_ROOT, proof: one }, false],
    ];
    for (const [claim, valid] of cases) expect([claim, verifyConsistency(claim)]).toEqual([claim, valid]);
  });

  it('verify_test.go TestVerifyInclusion: no leaf in an empty tree, none beyond the size, hashes of the wrong length', () => {
    const some = hex('abacaba000000000000000000000000000000000000000000060061e00123456');
    for (const [index, size] of [
      [0, 0],
      [0, 1],
      [1, 0],
      [2, 1],
    ] as const) {
      expect(verifyInclusion({ index, size, leafHash: some, proof: [], root: Buffer.alloc(0) })).toBe(false);
      expect(verifyInclusion({ index, size, leafHash: Buffer.alloc(0), proof: [], root: EMPTY_ROOT })).toBe(false);
      expect(verifyInclusion({ index, size, leafHash: some, proof: [], root: EMPTY_ROOT })).toBe(false);
    }
    // A tree of one leaf: its root is the leaf hash and the path is empty.
    const only = hashLeaf(Buffer.from('data'));
    expect(verifyInclusion({ index: 0, size: 1, leafHash: only, proof: [], root: only })).toBe(true);
    expect(verifyInclusion({ index: 0, size: 1, leafHash: only, proof: [], root: Buffer.alloc(0) })).toBe(false);
    expect(verifyInclusion({ index: 0, size: 1, leafHash: Buffer.alloc(0), proof: [], root: only })).toBe(false);
  });
});
