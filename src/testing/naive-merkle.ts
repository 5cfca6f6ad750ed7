import { createHash } from 'node:crypto';

/**
 * RFC 9162 §2.1 written straight from its definitions, recursion, slices
 * and all, over leaf inputs: the oracle src/transparency's specs check the
 * fast code against. It shares no code with src/transparency, so a mistake
 * there cannot hide by being made twice.
 */

function sha256(...parts: Uint8Array[]): Buffer {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

/** The largest power of two smaller than n, by doubling (n > 1). */
function k(n: number): number {
  let power = 1;
  while (power * 2 < n) power *= 2;
  return power;
}

/** MTH(D[n]) (RFC 9162 §2.1.1). */
export function naiveRoot(leaves: readonly Uint8Array[]): Buffer {
  if (leaves.length === 0) return sha256();
  if (leaves.length === 1) return sha256(Buffer.from([0]), leaves[0]!);
  const split = k(leaves.length);
  return sha256(Buffer.from([1]), naiveRoot(leaves.slice(0, split)), naiveRoot(leaves.slice(split)));
}

/** PATH(m, D[n]) (RFC 9162 §2.1.3.1). */
export function naivePath(m: number, leaves: readonly Uint8Array[]): Buffer[] {
  if (leaves.length <= 1) return [];
  const split = k(leaves.length);
  return m < split
    ? [...naivePath(m, leaves.slice(0, split)), naiveRoot(leaves.slice(split))]
    : [...naivePath(m - split, leaves.slice(split)), naiveRoot(leaves.slice(0, split))];
}

/** PROOF(m, D[n]) = SUBPROOF(m, D[n], true) (RFC 9162 §2.1.4.1), for 0 < m < n. */
export function naiveProof(m: number, leaves: readonly Uint8Array[]): Buffer[] {
  return subproof(m, leaves, true);
}

function subproof(m: number, leaves: readonly Uint8Array[], b: boolean): Buffer[] {
  if (m === leaves.length) return b ? [] : [naiveRoot(leaves)];
  const split = k(leaves.length);
  return m <= split
    ? [...subproof(m, leaves.slice(0, split), b), naiveRoot(leaves.slice(split))]
    : [...subproof(m - split, leaves.slice(split), false), naiveRoot(leaves.slice(0, split))];
}

/**
 * The side of each element of PATH(m, D[n]), lowest first: `R` for a
 * sibling on the right of the path, `L` on the left. Two claims whose
 * proofs have the same shape are checked by the same hash computations.
 */
export function pathShape(m: number, n: number): string {
  if (n <= 1) return '';
  const split = k(n);
  return m < split ? `${pathShape(m, split)}R` : `${pathShape(m - split, n - split)}L`;
}

/**
 * The shape of PROOF(m, D[n]): `S` for the seed (a subtree root both trees
 * share, sent unless it is the old root itself — then `s`), then `R` for a
 * node only the new tree has and `L` for one both trees have.
 */
export function proofShape(m: number, n: number): string {
  const walk = (m: number, n: number, b: boolean): string => {
    if (m === n) return b ? 's' : 'S';
    const split = k(n);
    return m <= split ? `${walk(m, split, b)}R` : `${walk(m - split, n - split, false)}L`;
  };
  return walk(m, n, true);
}
