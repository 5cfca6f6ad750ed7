import { describe, expect, it } from 'vitest';
import { ConsistencyWitness } from './consistency-witness.js';
import { EMPTY_ROOT, hashLeaf, verifyConsistency } from './merkle.js';
import { consistencyProof, nodesFromLeafHashes, treeRoot } from './merkle-proofs.js';

const leafHashes = (n: number) => Array.from({ length: n }, (_, i) => hashLeaf(Buffer.from(`leaf ${i}`)));

function naive(leaves: Buffer[]) {
  const nodes = nodesFromLeafHashes({ size: leaves.length, get: (i) => leaves[i]! });
  return {
    root: (size: number) => treeRoot(nodes, size),
    proof: (oldSize: number, newSize: number) => consistencyProof(nodes, oldSize, newSize),
  };
}

describe('ConsistencyWitness', () => {
  it('gives the roots and the proof the naive tree gives, for every 0 ≤ old ≤ new ≤ 40', () => {
    const leaves = leafHashes(40);
    const tree = naive(leaves);
    const hex = (hashes: Buffer[] | undefined) => hashes?.map((hash) => hash.toString('hex'));
    for (let oldSize = 0; oldSize <= 40; oldSize += 1) {
      const witness = new ConsistencyWitness(oldSize);
      for (let size = 0; size <= 40; size += 1) {
        if (size > 0) witness.append(leaves[size - 1]!);
        expect(witness.root().equals(tree.root(size))).toBe(true);
        if (size < oldSize) {
          expect(witness.rootAtOldSize()).toBeUndefined();
          expect(witness.proof()).toBeUndefined();
          continue;
        }
        expect(witness.rootAtOldSize()!.equals(tree.root(oldSize))).toBe(true);
        const proof = witness.proof()!;
        expect(hex(proof)).toEqual(hex(tree.proof(oldSize, size)));
        expect(
          verifyConsistency({ oldSize, newSize: size, oldRoot: tree.root(oldSize), newRoot: tree.root(size), proof }),
        ).toBe(true);
      }
    }
  });

  it('keeps O(log n) nodes, not one per leaf', () => {
    const witness = new ConsistencyWitness(3000);
    for (const leaf of leafHashes(5000)) witness.append(leaf);
    expect((witness as unknown as { kept: Map<string, Buffer> }).kept.size).toBeLessThanOrEqual(2 * 14);
    expect(witness.proof()!.length).toBeGreaterThan(0);
  });

  it('the empty old tree: its root is MTH({}) and the proof is empty', () => {
    const witness = new ConsistencyWitness(0);
    expect(witness.rootAtOldSize()).toEqual(EMPTY_ROOT);
    witness.append(hashLeaf(Buffer.from('x')));
    expect(witness.proof()).toEqual([]);
  });

  it('refuses a size that is not one', () => {
    expect(() => new ConsistencyWitness(-1)).toThrow(RangeError);
    expect(() => new ConsistencyWitness(1.5)).toThrow(RangeError);
  });
});
