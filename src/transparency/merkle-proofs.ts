import { EMPTY_ROOT, hashChildren, isPowerOfTwo, isSafeSize, splitPoint } from './merkle.js';

/**
 * The log's side of RFC 9162 §2.1: roots of any past size, inclusion paths
 * (§2.1.3.1 PATH) and consistency proofs (§2.1.4.1 PROOF), written as the
 * RFC's recursive definitions over ranges of leaves D[start:end].
 *
 * Every range the definitions ask the hash of (MTH of D[start:end]) is
 * split at the largest power of two into complete subtrees, whose hashes
 * come from a {@link NodeHashes}. With a store of every complete subtree
 * (what `CompactRange` hands out as it appends), a root or a proof
 * reads O(log² n) stored hashes and computes as many hashes, and never
 * touches the leaves themselves.
 */

/**
 * The hashes of a log's complete subtrees. Node (level, index) covers the
 * 2^level leaves from index·2^level; level 0 holds the leaf hashes. A
 * complete subtree never changes once its last leaf is appended, so a hash
 * stored at size n stays right for every later size and proofs of past
 * sizes need nothing else.
 */
export interface NodeHashes {
  /**
   * The hash of a complete subtree that lies inside the log (callers here
   * never ask for another). Throws if the store does not hold it.
   */
  node(level: number, index: number): Buffer;
}

/** The leaf hashes of a log, in log order: the least a store must keep. */
export interface LeafHashes {
  readonly size: number;
  /** hashLeaf of leaf `index`'s bytes, for 0 ≤ index < size. */
  get(index: number): Buffer;
}

/**
 * Complete-subtree hashes computed from the leaf hashes alone, for a store
 * that keeps nothing else. A subtree at level l costs 2^l − 1 hashes the
 * first time; `cache` keeps every inner node computed (keyed by level and
 * index; complete subtrees never change), so a cold proof costs O(n) hashes
 * and later ones O(log² n). The cache grows to at most n entries.
 */
export function nodesFromLeafHashes(leaves: LeafHashes, cache = new Map<string, Buffer>()): NodeHashes {
  const node = (level: number, index: number): Buffer => {
    if (level === 0) return leaves.get(index);
    if ((index + 1) * 2 ** level > leaves.size) {
      throw new RangeError(`node (${level}, ${index}) is not a complete subtree of a log of ${leaves.size} leaves`);
    }
    const key = `${level}:${index}`;
    let hash = cache.get(key);
    if (hash === undefined) {
      hash = hashChildren(node(level - 1, 2 * index), node(level - 1, 2 * index + 1));
      cache.set(key, hash);
    }
    return hash;
  };
  return { node };
}

/** Complete-subtree hashes kept in memory, filled from `CompactRange.append`'s `onNode`. */
export class MemoryNodeHashes implements NodeHashes {
  private readonly levels: Buffer[][] = [];

  /** Records node (level, index); the nodes of a level arrive in index order, as appends make them. */
  put(level: number, index: number, hash: Buffer): void {
    const row = (this.levels[level] ??= []);
    row[index] = hash;
  }

  node(level: number, index: number): Buffer {
    const hash = this.levels[level]?.[index];
    if (hash === undefined) throw new RangeError(`no node (${level}, ${index})`);
    return hash;
  }
}

/** MTH(D[0:size]): the root of the log when it held `size` leaves (RFC 9162 §2.1.1). */
export function treeRoot(nodes: NodeHashes, size: number): Buffer {
  checkSize(size);
  return size === 0 ? EMPTY_ROOT : rangeRoot(nodes, 0, size);
}

/**
 * PATH(index, D[0:size]) (RFC 9162 §2.1.3.1), lowest level first.
 * @throws RangeError unless 0 ≤ index < size.
 */
export function inclusionProof(nodes: NodeHashes, index: number, size: number): Buffer[] {
  checkSize(size);
  if (!isSafeSize(index) || index >= size) throw new RangeError(`no leaf ${index} in a tree of ${size}`);
  const proof: Buffer[] = [];
  // The RFC recurses into the half holding the leaf and appends the other
  // half's root after the deeper path: walking down, the siblings are met
  // top first, so they are collected and reversed at the end.
  let [start, end] = [0, size];
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (index < start + k) {
      proof.push(rangeRoot(nodes, start + k, end));
      end = start + k;
    } else {
      proof.push(rangeRoot(nodes, start, start + k));
      start += k;
    }
  }
  return proof.reverse();
}

/**
 * PROOF(oldSize, D[0:newSize]) = SUBPROOF(oldSize, D[0:newSize], true)
 * (RFC 9162 §2.1.4.1). The RFC defines it for 0 < oldSize < newSize; for
 * oldSize = newSize and oldSize = 0 the proof is empty, as
 * `verifyConsistency` expects.
 * @throws RangeError if oldSize > newSize.
 */
export function consistencyProof(nodes: NodeHashes, oldSize: number, newSize: number): Buffer[] {
  checkSize(oldSize);
  checkSize(newSize);
  if (oldSize > newSize) throw new RangeError(`a log never shrinks: ${oldSize} > ${newSize}`);
  if (oldSize === 0 || oldSize === newSize) return [];
  return subproof(nodes, oldSize, 0, newSize, true);
}

/**
 * SUBPROOF(m, D[start:end], complete): `m` counts leaves from `start`.
 * `complete` says D[start:start+m] is a subtree the verifier already holds
 * the root of (it is the old tree itself), so it is left out.
 */
function subproof(nodes: NodeHashes, m: number, start: number, end: number, complete: boolean): Buffer[] {
  if (m === end - start) return complete ? [] : [rangeRoot(nodes, start, end)];
  const k = splitPoint(end - start);
  if (m <= k) return [...subproof(nodes, m, start, start + k, complete), rangeRoot(nodes, start + k, end)];
  return [...subproof(nodes, m - k, start + k, end, false), rangeRoot(nodes, start, start + k)];
}

/**
 * MTH(D[start:end]) for the ranges the RFC's recursion reaches: start is a
 * multiple of a power of two at least end − start, so a range of a
 * power-of-two length is one complete subtree, and any other splits into
 * one on the left and a smaller such range on the right.
 */
function rangeRoot(nodes: NodeHashes, start: number, end: number): Buffer {
  const width = end - start;
  if (isPowerOfTwo(width)) return nodes.node(Math.round(Math.log2(width)), start / width);
  const k = splitPoint(width);
  return hashChildren(rangeRoot(nodes, start, start + k), rangeRoot(nodes, start + k, end));
}

function checkSize(size: number): void {
  if (!isSafeSize(size)) throw new RangeError(`not a tree size: ${size}`);
}
