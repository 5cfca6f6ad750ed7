import { EMPTY_ROOT, HASH_SIZE, hashChildren, isSafeSize } from './merkle.js';

/** Told of every complete subtree as an append completes it: (0, i) is leaf i itself. */
export type NodeSink = (level: number, index: number, hash: Buffer) => void;

/** What a {@link CompactRange} persists: plain JSON, so a store can keep it in a row. */
export interface CompactRangeState {
  size: number;
  /** Lowercase hex of the frontier's hashes, largest subtree (leftmost) first. */
  hashes: string[];
}

/**
 * The Merkle tree over a growing log, kept as its frontier: the roots of the
 * complete subtrees the first `size` leaves split into, one per set bit of
 * `size`, largest first (transparency-dev/merkle's compact.Range for
 * [0, size)). At most log2(size) + 1 hashes whatever the size of the log:
 * appending a leaf and computing the root are O(log n), so the service
 * never rereads the log to know its root.
 */
export class CompactRange {
  private constructor(
    private count: number,
    private readonly hashes: Buffer[],
  ) {}

  static empty(): CompactRange {
    return new CompactRange(0, []);
  }

  /** @throws RangeError if the state is not one a CompactRange could have written. */
  static fromState(state: CompactRangeState): CompactRange {
    if (!isSafeSize(state.size)) throw new RangeError(`not a tree size: ${state.size}`);
    if (!Array.isArray(state.hashes) || state.hashes.length !== setBits(state.size)) {
      throw new RangeError(`a compact range of ${state.size} leaves has ${setBits(state.size)} hashes`);
    }
    const hashes = state.hashes.map((hex) => {
      if (typeof hex !== 'string' || !/^[0-9a-f]{64}$/.test(hex)) throw new RangeError(`not a hash: ${hex}`);
      return Buffer.from(hex, 'hex');
    });
    return new CompactRange(state.size, hashes);
  }

  get size(): number {
    return this.count;
  }

  /**
   * Appends leaf `size` (given as its leaf hash). Each trailing set bit of
   * the old size is a subtree the new leaf completes a sibling for: they
   * merge upwards, as a binary counter carries. `onNode` hears the leaf and
   * every subtree completed, so a store can keep them for proofs.
   */
  append(leafHash: Uint8Array, onNode?: NodeSink): void {
    if (leafHash.length !== HASH_SIZE)
      throw new RangeError(`a leaf hash has ${HASH_SIZE} bytes, not ${leafHash.length}`);
    let hash: Buffer = Buffer.from(leafHash);
    let level = 0;
    let index = this.count;
    onNode?.(level, index, hash);
    while (index % 2 === 1) {
      hash = hashChildren(this.hashes.pop()!, hash);
      level += 1;
      index = Math.floor(index / 2);
      onNode?.(level, index, hash);
    }
    this.hashes.push(hash);
    this.count += 1;
  }

  /**
   * MTH of the leaves appended so far: the frontier folded from the right,
   * which is RFC 9162's split at the largest power of two, applied again to
   * the right part until it is one complete subtree.
   */
  root(): Buffer {
    let root = this.hashes.at(-1);
    if (root === undefined) return EMPTY_ROOT;
    for (let i = this.hashes.length - 2; i >= 0; i -= 1) root = hashChildren(this.hashes[i]!, root);
    return root;
  }

  toState(): CompactRangeState {
    return { size: this.count, hashes: this.hashes.map((hash) => hash.toString('hex')) };
  }
}

function setBits(n: number): number {
  let bits = 0;
  for (let rest = n; rest > 0; rest = Math.floor(rest / 2)) bits += rest % 2;
  return bits;
}
