import { CompactRange } from './compact-range.js';
import { EMPTY_ROOT } from './merkle.js';
import { consistencyProof, type NodeHashes } from './merkle-proofs.js';

/**
 * Rebuilds a log's tree in one pass over its leaves, keeping only what a
 * check against one old checkpoint needs: the root at `oldSize`, the root
 * at the end, and the consistency proof between them — O(log n) memory
 * whatever the length of the log, so an auditor can recompute the tree
 * from the leaves themselves without keeping a hash per leaf.
 *
 * Why so few nodes suffice: every range RFC 9162's PROOF(m, D[0:n]) asks
 * the root of either contains leaf m − 1 or is the sibling of a range that
 * does, so its complete subtrees are, at each level, the ancestor of leaf
 * m − 1 or that ancestor's sibling; the one range that is not a complete
 * subtree ends at n and splits into the final frontier.
 */
export class ConsistencyWitness {
  private readonly range = CompactRange.empty();
  private readonly kept = new Map<string, Buffer>();
  private oldRoot: Buffer | undefined;

  constructor(readonly oldSize: number) {
    if (!Number.isSafeInteger(oldSize) || oldSize < 0) throw new RangeError(`not a tree size: ${oldSize}`);
    if (oldSize === 0) this.oldRoot = EMPTY_ROOT;
  }

  get size(): number {
    return this.range.size;
  }

  /** Appends the next leaf, as its leaf hash. */
  append(leafHash: Uint8Array): void {
    this.range.append(leafHash, (level, index, hash) => {
      if (this.oldSize === 0) return;
      const ancestor = Math.floor((this.oldSize - 1) / 2 ** level);
      const sibling = ancestor % 2 === 0 ? ancestor + 1 : ancestor - 1;
      if (index === ancestor || index === sibling) this.kept.set(`${level}:${index}`, hash);
    });
    if (this.range.size === this.oldSize) this.oldRoot = this.range.root();
  }

  /** MTH of the leaves appended so far. */
  root(): Buffer {
    return this.range.root();
  }

  /** MTH of the first `oldSize` leaves; undefined while fewer were appended. */
  rootAtOldSize(): Buffer | undefined {
    return this.oldRoot;
  }

  /** PROOF(oldSize, D[0:size]); undefined while fewer than `oldSize` leaves were appended. */
  proof(): Buffer[] | undefined {
    if (this.range.size < this.oldSize) return undefined;
    const frontier = new Map<string, Buffer>();
    const { size, hashes } = this.range.toState();
    // The frontier holds one complete subtree per set bit of the size, largest (leftmost) first.
    let start = 0;
    let next = 0;
    for (let level = Math.floor(Math.log2(Math.max(size, 1))) + 1; level >= 0; level -= 1) {
      const width = 2 ** level;
      if (Math.floor(size / width) % 2 === 1) {
        frontier.set(`${level}:${start / width}`, Buffer.from(hashes[next]!, 'hex'));
        next += 1;
        start += width;
      }
    }
    const nodes: NodeHashes = {
      node: (level, index) => {
        const key = `${level}:${index}`;
        const hash = this.kept.get(key) ?? frontier.get(key);
        if (hash === undefined) throw new RangeError(`the witness kept no node (${level}, ${index})`);
        return hash;
      },
    };
    return consistencyProof(nodes, this.oldSize, size);
  }
}
