import { createHash, hash } from 'node:crypto';

/**
 * RFC 9162 §2.1 Merkle tree hashing, and the verification of its proofs:
 * what an auditor needs, given a root it trusts (a checkpoint it kept).
 *
 * Sizes and indexes are plain numbers, checked to be safe integers; the
 * bit tricks of the RFC are written with `% 2` and `Math.floor(x / 2)`
 * because JavaScript's `&` and `>>` cut numbers to 32 bits, and a size
 * sent by a client must not wrap around into a valid-looking one.
 */

/** Bytes in every hash of the tree (SHA-256). */
export const HASH_SIZE = 32;

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

/** MTH({}) = SHA-256() — the root of the empty tree (RFC 9162 §2.1.1). */
export const EMPTY_ROOT: Buffer = createHash('sha256').digest();

/**
 * MTH({d}) = SHA-256(0x00 ‖ d). The prefixes keep a leaf from ever hashing
 * like an inner node (second preimages: RFC 9162 §2.1.1).
 */
export function hashLeaf(leaf: Uint8Array): Buffer {
  // One-shot: a rebuild hashes every event and about as many inner nodes, and a Hash object per call showed in its profile.
  return hash('sha256', Buffer.concat([LEAF_PREFIX, leaf]), 'buffer');
}

/** hashLeaf of a leaf given as text: its UTF-8 bytes, hashed without copying them into a buffer first. */
export function hashLeafText(leaf: string): Buffer {
  // U+0000 is the single UTF-8 byte 0x00: the leaf prefix.
  return hash('sha256', `\u0000${leaf}`, 'buffer');
}

/** SHA-256(0x01 ‖ left ‖ right). */
export function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  return hash('sha256', Buffer.concat([NODE_PREFIX, left, right], 1 + left.length + right.length), 'buffer');
}

/** The largest power of two strictly smaller than `n` (n ≥ 2): where RFC 9162 splits a tree of n leaves. */
export function splitPoint(n: number): number {
  // A loop rather than Math.log2: floating-point logs can round up just below a power of two.
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

export function isSafeSize(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

const isOdd = (n: number): boolean => n % 2 === 1;
const half = (n: number): number => Math.floor(n / 2);
const isHash = (value: Uint8Array): boolean => value.length === HASH_SIZE;

function sameHash(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === HASH_SIZE && b.length === HASH_SIZE && Buffer.compare(a, b) === 0;
}

/**
 * An inclusion proof: leaf `index` is in the tree of `size` leaves whose
 * root is `root`. Take `size` and `root` from one signed checkpoint: the
 * proof alone does not bind them (a path of the same shape checks out for
 * a neighbouring size with the same root), the signature does.
 */
export interface InclusionClaim {
  index: number;
  size: number;
  /** hashLeaf of the leaf's bytes. */
  leafHash: Uint8Array;
  /** The audit path, lowest level first (RFC 9162 §2.1.3.1 PATH). */
  proof: readonly Uint8Array[];
  root: Uint8Array;
}

/**
 * RFC 9162 §2.1.3.2, step by step as the RFC writes it (fn, sn, r). Never
 * throws: any malformed input (index out of range, a hash of the wrong
 * length, a proof too short or too long) answers false.
 */
export function verifyInclusion({ index, size, leafHash, proof, root }: InclusionClaim): boolean {
  if (!isSafeSize(index) || !isSafeSize(size) || !isHash(leafHash) || !isHash(root)) return false;
  if (!proof.every(isHash)) return false;
  // 1. leaf_index ≥ tree_size fails (this also rejects every size-0 tree: it has no leaves).
  if (index >= size) return false;
  // 2. fn = leaf_index, sn = tree_size − 1.
  let fn = index;
  let sn = size - 1;
  // 3. r = hash.
  let r: Buffer = Buffer.from(leafHash);
  // 4. For each p in the path:
  for (const p of proof) {
    // A path longer than the tree is high: reject rather than hash on.
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      r = hashChildren(p, r);
      // On the right border a node with no right sibling is lifted unchanged: skip those levels.
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = hashChildren(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  // 5. sn must have reached 0 (a path too short fails here) and r must be the root.
  return sn === 0 && sameHash(r, root);
}

/** A consistency proof: the tree of `newSize` leaves with root `newRoot` extends the one of `oldSize` with `oldRoot`. */
export interface ConsistencyClaim {
  oldSize: number;
  newSize: number;
  oldRoot: Uint8Array;
  newRoot: Uint8Array;
  /** RFC 9162 §2.1.4.1 PROOF(oldSize, D[newSize]). */
  proof: readonly Uint8Array[];
}

/**
 * RFC 9162 §2.1.4.2 — ported from the RFC's algorithm text, step by step
 * (fn, sn, fr, sr), for 0 < oldSize < newSize. The RFC defines proofs only
 * for that range; the other cases follow transparency-dev/merkle
 * (proof/verify.go, VerifyConsistency):
 *
 * - oldSize = newSize: the proof must be empty and the roots equal.
 * - oldSize = 0: the proof must be empty; every tree extends the empty
 *   one. Stricter than transparency-dev, the old root must be MTH({}):
 *   a "checkpoint of size 0" with another root was never a real one.
 * - oldSize > newSize: false (a log never shrinks).
 *
 * Never throws; any malformed input answers false.
 */
export function verifyConsistency({ oldSize, newSize, oldRoot, newRoot, proof }: ConsistencyClaim): boolean {
  if (!isSafeSize(oldSize) || !isSafeSize(newSize) || !isHash(oldRoot) || !isHash(newRoot)) return false;
  if (!proof.every(isHash)) return false;
  if (oldSize > newSize) return false;
  if (oldSize === newSize) return proof.length === 0 && sameHash(oldRoot, newRoot);
  if (oldSize === 0) return proof.length === 0 && sameHash(oldRoot, EMPTY_ROOT);
  // 1. An empty consistency_path fails.
  if (proof.length === 0) return false;
  // 2. If first is an exact power of 2, prepend first_hash: the old tree is then
  //    itself a complete subtree of the new one, and the log does not send it.
  const path = isPowerOfTwo(oldSize) ? [oldRoot, ...proof] : proof;
  // 3. fn = first − 1, sn = second − 1.
  let fn = oldSize - 1;
  let sn = newSize - 1;
  // 4. If LSB(fn) is set, right-shift both until it is not: climb to the
  //    largest complete subtree the old tree ends with.
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  // 5. fr = sr = the first value of the path.
  let fr: Buffer = Buffer.from(path[0]!);
  let sr: Buffer = Buffer.from(path[0]!);
  // 6. For each subsequent value c:
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      // c is a left sibling: it is part of both trees.
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      // c is a right sibling: it exists only in the new tree.
      sr = hashChildren(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  // 7. Both roots must come out, and the path must have reached the top of the new tree.
  return sn === 0 && sameHash(fr, oldRoot) && sameHash(sr, newRoot);
}

export function isPowerOfTwo(n: number): boolean {
  if (n < 1) return false;
  while (n % 2 === 0) n /= 2;
  return n === 1;
}
