import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { naivePath, naiveProof, naiveRoot, pathShape, proofShape } from '../testing/naive-merkle.js';
import { CompactRange } from './compact-range.js';
import { EMPTY_ROOT, hashLeaf, isPowerOfTwo, verifyConsistency, verifyInclusion } from './merkle.js';
import type { ConsistencyClaim, InclusionClaim } from './merkle.js';
import { MemoryNodeHashes, consistencyProof, inclusionProof, nodesFromLeafHashes, treeRoot } from './merkle-proofs.js';

/*
 * Properties of the proofs over random logs of up to 300 leaves, checked
 * against the naive RFC definitions. The immudb advisory GHSA-672p-m5jq-mrh8
 * (a proof check that skipped part of the proof and accepted forged
 * histories) is why every part of a proof, and every number beside it, is
 * changed here one at a time, and a changed claim must fail unless it is
 * provably the same claim.
 */

interface Log {
  leaves: Buffer[];
  nodes: MemoryNodeHashes;
  root(size: number): Buffer;
}

/** A log of `leaves`, built by appending, its complete subtrees kept as the service will keep them. */
function logOf(leaves: Buffer[]): Log {
  const nodes = new MemoryNodeHashes();
  const range = CompactRange.empty();
  for (const leaf of leaves) range.append(hashLeaf(leaf), (level, index, hash) => nodes.put(level, index, hash));
  return { leaves, nodes, root: (size) => treeRoot(nodes, size) };
}

const leavesOf = (seed: number, count: number, tag = 'leaf'): Buffer[] =>
  Array.from({ length: count }, (_, i) => Buffer.from(`${tag} ${seed} ${i}`));

/** A copy of `hash` with one bit flipped (bit 0–255). */
function flip(hash: Uint8Array, bit: number): Buffer {
  const copy = Buffer.from(hash);
  copy[bit >> 3]! ^= 1 << (bit & 7);
  return copy;
}

/** Sizes one step from `size`: each single-bit change (bits 0–9) and ±1. */
function nearby(size: number): number[] {
  const sizes = new Set([size - 1, size + 1, ...Array.from({ length: 10 }, (_, bit) => size ^ (1 << bit))]);
  sizes.delete(size);
  return [...sizes].filter((s) => s >= 0);
}

/** Every way to get the length wrong: drop an element, repeat one, add a hash at either end. */
function misshapen(proof: readonly Uint8Array[], extra: Uint8Array): Uint8Array[][] {
  const shapes = [
    [extra, ...proof],
    [...proof, extra],
  ];
  proof.forEach((_, i) => {
    shapes.push([...proof.slice(0, i), ...proof.slice(i + 1)]);
    shapes.push([...proof.slice(0, i + 1), ...proof.slice(i)]);
  });
  return shapes;
}

const RUNS = { numRuns: 100 };

const treeAndLeaf = fc.integer({ min: 1, max: 300 }).chain((size) =>
  fc.record({
    size: fc.constant(size),
    index: fc.integer({ min: 0, max: size - 1 }),
    seed: fc.nat(),
    bit: fc.integer({ min: 0, max: 255 }),
  }),
);

/** 0 < oldSize < newSize: the sizes the RFC defines proofs for. */
const twoSizes = fc.integer({ min: 2, max: 300 }).chain((newSize) =>
  fc.record({
    newSize: fc.constant(newSize),
    oldSize: fc.integer({ min: 1, max: newSize - 1 }),
    seed: fc.nat(),
    bit: fc.integer({ min: 0, max: 255 }),
  }),
);

describe('inclusion proofs (properties)', () => {
  const setup = ({ size, index, seed }: { size: number; index: number; seed: number }) => {
    const log = logOf(leavesOf(seed, size));
    const claim: InclusionClaim = {
      index,
      size,
      leafHash: hashLeaf(log.leaves[index]!),
      proof: inclusionProof(log.nodes, index, size),
      root: log.root(size),
    };
    return { log, claim };
  };

  it('the proof is PATH of the RFC and verifies', () => {
    fc.assert(
      fc.property(treeAndLeaf, (input) => {
        const { log, claim } = setup(input);
        expect(claim.root).toEqual(naiveRoot(log.leaves));
        expect(claim.proof).toEqual(naivePath(input.index, log.leaves));
        expect(verifyInclusion(claim)).toBe(true);
      }),
      RUNS,
    );
  });

  it('one bit changed in any proof element, in the root or in the leaf fails', () => {
    fc.assert(
      fc.property(treeAndLeaf, (input) => {
        const { claim } = setup(input);
        claim.proof.forEach((_, i) => {
          const proof = claim.proof.map((hash, j) => (i === j ? flip(hash, input.bit) : hash));
          expect(verifyInclusion({ ...claim, proof })).toBe(false);
        });
        expect(verifyInclusion({ ...claim, root: flip(claim.root, input.bit) })).toBe(false);
        expect(verifyInclusion({ ...claim, leafHash: flip(claim.leafHash, input.bit) })).toBe(false);
      }),
      RUNS,
    );
  });

  it('any other index fails', () => {
    fc.assert(
      fc.property(treeAndLeaf, (input) => {
        const { claim } = setup(input);
        for (const index of nearby(input.index)) expect(verifyInclusion({ ...claim, index })).toBe(false);
      }),
      RUNS,
    );
  });

  it('another size passes only where its path has the very same shape (the checkpoint, not the proof, binds size to root)', () => {
    fc.assert(
      fc.property(treeAndLeaf, (input) => {
        const { claim } = setup(input);
        for (const size of nearby(input.size)) {
          const sameShape = input.index < size && pathShape(input.index, size) === pathShape(input.index, input.size);
          expect([size, verifyInclusion({ ...claim, size })]).toEqual([size, sameShape]);
        }
      }),
      RUNS,
    );
  });

  it('a proof one element too short or too long, or with one repeated, fails', () => {
    fc.assert(
      fc.property(treeAndLeaf, (input) => {
        const { claim } = setup(input);
        for (const proof of misshapen(claim.proof, Buffer.from(claim.root))) {
          expect(verifyInclusion({ ...claim, proof })).toBe(false);
        }
      }),
      RUNS,
    );
  });
});

describe('consistency proofs (properties)', () => {
  const setup = ({ oldSize, newSize, seed }: { oldSize: number; newSize: number; seed: number }) => {
    const log = logOf(leavesOf(seed, newSize));
    const claim: ConsistencyClaim = {
      oldSize,
      newSize,
      oldRoot: log.root(oldSize),
      newRoot: log.root(newSize),
      proof: consistencyProof(log.nodes, oldSize, newSize),
    };
    return { log, claim };
  };

  it('the proof is PROOF of the RFC and verifies, for every 0 ≤ oldSize ≤ newSize', () => {
    const anySizes = fc
      .integer({ min: 0, max: 300 })
      .chain((newSize) =>
        fc.record({ newSize: fc.constant(newSize), oldSize: fc.integer({ min: 0, max: newSize }), seed: fc.nat() }),
      );
    fc.assert(
      fc.property(anySizes, (input) => {
        const { log, claim } = setup(input);
        expect(claim.oldRoot).toEqual(naiveRoot(log.leaves.slice(0, input.oldSize)));
        const expected =
          input.oldSize === 0 || input.oldSize === input.newSize ? [] : naiveProof(input.oldSize, log.leaves);
        expect(claim.proof).toEqual(expected);
        expect(verifyConsistency(claim)).toBe(true);
      }),
      RUNS,
    );
  });

  it('one bit changed in any proof element or in either root fails', () => {
    fc.assert(
      fc.property(twoSizes, (input) => {
        const { claim } = setup(input);
        claim.proof.forEach((_, i) => {
          const proof = claim.proof.map((hash, j) => (i === j ? flip(hash, input.bit) : hash));
          expect(verifyConsistency({ ...claim, proof })).toBe(false);
        });
        expect(verifyConsistency({ ...claim, oldRoot: flip(claim.oldRoot, input.bit) })).toBe(false);
        expect(verifyConsistency({ ...claim, newRoot: flip(claim.newRoot, input.bit) })).toBe(false);
      }),
      RUNS,
    );
  });

  it('another old or new size passes only where the proof has the very same shape', () => {
    fc.assert(
      fc.property(twoSizes, (input) => {
        const { claim } = setup(input);
        const shape = proofShape(input.oldSize, input.newSize);
        for (const oldSize of nearby(input.oldSize)) {
          const same = oldSize > 0 && oldSize < input.newSize && proofShape(oldSize, input.newSize) === shape;
          expect([oldSize, verifyConsistency({ ...claim, oldSize })]).toEqual([oldSize, same]);
        }
        for (const newSize of nearby(input.newSize)) {
          const same = input.oldSize < newSize && proofShape(input.oldSize, newSize) === shape;
          expect([newSize, verifyConsistency({ ...claim, newSize })]).toEqual([newSize, same]);
        }
      }),
      RUNS,
    );
  });

  it('a proof one element too short or too long, or with one repeated, fails (no part of it is skipped)', () => {
    fc.assert(
      fc.property(twoSizes, (input) => {
        const { claim } = setup(input);
        for (const proof of misshapen(claim.proof, Buffer.from(claim.newRoot))) {
          expect(verifyConsistency({ ...claim, proof })).toBe(false);
        }
      }),
      RUNS,
    );
  });

  it('a rewritten history fails: any leaf before the old size changed, even with an honest proof of the new tree', () => {
    const rewrite = twoSizes.chain((sizes) =>
      fc.record({ sizes: fc.constant(sizes), changed: fc.integer({ min: 0, max: sizes.oldSize - 1 }) }),
    );
    fc.assert(
      fc.property(rewrite, ({ sizes, changed }) => {
        const kept = logOf(leavesOf(sizes.seed, sizes.oldSize));
        const forged = logOf(
          leavesOf(sizes.seed, sizes.newSize).map((leaf, i) => (i === changed ? Buffer.from('forged') : leaf)),
        );
        const claim: ConsistencyClaim = {
          oldSize: sizes.oldSize,
          newSize: sizes.newSize,
          oldRoot: kept.root(sizes.oldSize),
          newRoot: forged.root(sizes.newSize),
          proof: consistencyProof(forged.nodes, sizes.oldSize, sizes.newSize),
        };
        expect(verifyConsistency(claim)).toBe(false);
        // The same proof is good for the forged tree's own old root: only the kept root catches the rewrite.
        expect(verifyConsistency({ ...claim, oldRoot: forged.root(sizes.oldSize) })).toBe(true);
      }),
      RUNS,
    );
  });

  it('a removed last event fails: the log dropped leaf oldSize − 1 and grew again', () => {
    fc.assert(
      fc.property(twoSizes, (sizes) => {
        const original = leavesOf(sizes.seed, sizes.newSize);
        const kept = logOf(original.slice(0, sizes.oldSize));
        const shrunk = [...original.slice(0, sizes.oldSize - 1), ...original.slice(sizes.oldSize)];
        const grown = logOf([...shrunk, ...leavesOf(sizes.seed, 1, 'appended')]);
        const claim: ConsistencyClaim = {
          oldSize: sizes.oldSize,
          newSize: sizes.newSize,
          oldRoot: kept.root(sizes.oldSize),
          newRoot: grown.root(sizes.newSize),
          proof: consistencyProof(grown.nodes, sizes.oldSize, sizes.newSize),
        };
        expect(verifyConsistency(claim)).toBe(false);
      }),
      RUNS,
    );
  });

  it('a spliced proof fails: the kept history up to the old size, another tree after it', () => {
    // The proof's left nodes come from a tree that extends the kept one, so
    // the old root comes out right; the new root is the forged tree's.
    fc.assert(
      fc.property(twoSizes, (sizes) => {
        const honest = logOf(leavesOf(sizes.seed, sizes.newSize));
        const forged = logOf(
          leavesOf(sizes.seed, sizes.newSize).map((leaf, i) => (i === 0 ? Buffer.from('forged') : leaf)),
        );
        const claim: ConsistencyClaim = {
          oldSize: sizes.oldSize,
          newSize: sizes.newSize,
          oldRoot: honest.root(sizes.oldSize),
          newRoot: forged.root(sizes.newSize),
          proof: consistencyProof(honest.nodes, sizes.oldSize, sizes.newSize),
        };
        expect(verifyConsistency(claim)).toBe(false);
      }),
      RUNS,
    );
  });
});

describe('the incremental tree (properties)', () => {
  it('its root equals the naive root at every size, and every past root can be recomputed from its nodes', () => {
    const sizes = fc.record({ size: fc.integer({ min: 0, max: 300 }), seed: fc.nat() });
    fc.assert(
      fc.property(sizes, ({ size, seed }) => {
        const leaves = leavesOf(seed, size);
        const nodes = new MemoryNodeHashes();
        const range = CompactRange.empty();
        const roots = [range.root()];
        for (const leaf of leaves) {
          range.append(hashLeaf(leaf), (level, index, hash) => nodes.put(level, index, hash));
          roots.push(range.root());
        }
        roots.forEach((root, s) => {
          expect(root).toEqual(naiveRoot(leaves.slice(0, s)));
          expect(treeRoot(nodes, s)).toEqual(root);
        });
      }),
      // The naive root of every prefix is quadratic: few runs, each of up to 300 sizes.
      { numRuns: 8 },
    );
  }, 30_000);

  it('a saved state restores: appending to it gives what appending without a pause gives', () => {
    const split = fc
      .integer({ min: 0, max: 300 })
      .chain((size) =>
        fc.record({ size: fc.constant(size), pause: fc.integer({ min: 0, max: size }), seed: fc.nat() }),
      );
    fc.assert(
      fc.property(split, ({ size, pause, seed }) => {
        const hashes = leavesOf(seed, size).map(hashLeaf);
        const straight = CompactRange.empty();
        hashes.forEach((hash) => straight.append(hash));
        const first = CompactRange.empty();
        hashes.slice(0, pause).forEach((hash) => first.append(hash));
        const saved = JSON.parse(JSON.stringify(first.toState())) as ReturnType<CompactRange['toState']>;
        const resumed = CompactRange.fromState(saved);
        expect(resumed.root()).toEqual(first.root());
        hashes.slice(pause).forEach((hash) => resumed.append(hash));
        expect(resumed.toState()).toEqual(straight.toState());
        expect(resumed.root()).toEqual(straight.root());
      }),
      RUNS,
    );
  });

  it('proofs from leaf hashes alone are the proofs from stored nodes', () => {
    fc.assert(
      fc.property(twoSizes, ({ oldSize, newSize, seed }) => {
        const log = logOf(leavesOf(seed, newSize));
        const hashes = log.leaves.map(hashLeaf);
        const fromLeaves = nodesFromLeafHashes({ size: newSize, get: (index) => hashes[index]! });
        expect(consistencyProof(fromLeaves, oldSize, newSize)).toEqual(consistencyProof(log.nodes, oldSize, newSize));
        expect(inclusionProof(fromLeaves, oldSize, newSize)).toEqual(inclusionProof(log.nodes, oldSize, newSize));
        expect(treeRoot(fromLeaves, newSize)).toEqual(log.root(newSize));
      }),
      RUNS,
    );
  });
});

describe('edge cases of consistency checks (GHSA-672p-m5jq-mrh8 and the RFC boundaries)', () => {
  const log = logOf(leavesOf(7, 64));
  const claimOf = (oldSize: number, newSize: number): ConsistencyClaim => ({
    oldSize,
    newSize,
    oldRoot: log.root(oldSize),
    newRoot: log.root(newSize),
    proof: consistencyProof(log.nodes, oldSize, newSize),
  });

  it('an old root that is not a prefix of the new tree fails, though the proof rebuilds the new root', () => {
    const other = logOf(leavesOf(8, 64));
    const claim = { ...claimOf(5, 13), oldRoot: other.root(5) };
    expect(verifyConsistency(claim)).toBe(false);
    // A check of the new root alone would have passed.
    expect(verifyConsistency(claimOf(5, 13))).toBe(true);
  });

  it('oldSize = newSize: the proof is empty and the roots must be equal', () => {
    for (const size of [1, 2, 3, 8, 13, 64]) {
      const claim = claimOf(size, size);
      expect(claim.proof).toEqual([]);
      expect(verifyConsistency(claim)).toBe(true);
      expect(verifyConsistency({ ...claim, newRoot: log.root(size - 1) })).toBe(false);
      expect(verifyConsistency({ ...claim, proof: [claim.oldRoot] })).toBe(false);
    }
  });

  it('oldSize = 0: every tree extends the empty one, with an empty proof and the empty root only', () => {
    for (const size of [0, 1, 2, 5, 64]) {
      const claim = claimOf(0, size);
      expect(claim.oldRoot).toEqual(EMPTY_ROOT);
      expect(claim.proof).toEqual([]);
      expect(verifyConsistency(claim)).toBe(true);
      expect(verifyConsistency({ ...claim, proof: [EMPTY_ROOT] })).toBe(false);
      expect(verifyConsistency({ ...claim, oldRoot: log.root(1) })).toBe(false);
    }
  });

  it('an empty proof fails for every 0 < oldSize < newSize ≤ 64', () => {
    for (let newSize = 2; newSize <= 64; newSize += 1) {
      for (let oldSize = 1; oldSize < newSize; oldSize += 1) {
        expect(verifyConsistency({ ...claimOf(oldSize, newSize), proof: [] })).toBe(false);
      }
    }
  });

  it('every proof between sizes up to 64 verifies, and loses it without any one of its elements', () => {
    for (let newSize = 1; newSize <= 64; newSize += 1) {
      for (let oldSize = 1; oldSize <= newSize; oldSize += 1) {
        const claim = claimOf(oldSize, newSize);
        expect(verifyConsistency(claim)).toBe(true);
        claim.proof.forEach((_, i) => {
          expect(verifyConsistency({ ...claim, proof: claim.proof.filter((__, j) => j !== i) })).toBe(false);
        });
      }
    }
  });

  it('newSize a power of two, and oldSize a power of two (whose root the proof leaves out)', () => {
    for (const newSize of [2, 4, 8, 16, 32, 64]) {
      for (let oldSize = 1; oldSize < newSize; oldSize += 1) {
        const claim = claimOf(oldSize, newSize);
        expect(verifyConsistency(claim)).toBe(true);
        // Sending the old root anyway is a proof of the wrong length.
        if (isPowerOfTwo(oldSize))
          expect(verifyConsistency({ ...claim, proof: [claim.oldRoot, ...claim.proof] })).toBe(false);
      }
    }
  });

  it('a log that shrank fails, and so do sizes that are not whole numbers a client could hold', () => {
    const claim = claimOf(5, 13);
    expect(verifyConsistency({ ...claim, oldSize: 13, newSize: 5 })).toBe(false);
    for (const size of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(verifyConsistency({ ...claim, oldSize: size })).toBe(false);
      expect(verifyConsistency({ ...claim, newSize: size })).toBe(false);
    }
    // 2^32 + 13 is 13 to 32-bit arithmetic: the size must not wrap.
    expect(verifyConsistency({ ...claim, newSize: 2 ** 32 + 13 })).toBe(false);
  });

  it('an inclusion proof checks out against a larger size when the path has the same shape: take size and root from one checkpoint', () => {
    const claim: InclusionClaim = {
      index: 0,
      size: 5,
      leafHash: hashLeaf(log.leaves[0]!),
      proof: inclusionProof(log.nodes, 0, 5),
      root: log.root(5),
    };
    expect(verifyInclusion(claim)).toBe(true);
    expect(verifyInclusion({ ...claim, size: 6 })).toBe(true);
    expect(verifyInclusion({ ...claim, size: 6, root: log.root(6) })).toBe(false);
  });
});
