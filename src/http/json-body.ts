/**
 * The deepest nesting a request body may have. The deepest body the API
 * takes is a site registration (object → contacts → contact) at depth 3;
 * the limit leaves room for growth while keeping class-transformer and
 * class-validator, which recurse once per level, far from the stack's end
 * (a 6 kB body of 3,000 nested arrays once overflowed it: a 500).
 */
export const MAX_BODY_DEPTH = 32;

/** Whether `value` nests deeper than `limit` arrays or objects; iterative, so no input can overflow the stack here. */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [item, depth] = pending.pop()!;
    if (item === null || typeof item !== 'object') continue;
    if (depth + 1 > limit) return true;
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  return false;
}

// In `u` mode a surrogate pair is one code point: only unpaired halves match.
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * Whether any string in `value`, key or value, holds a lone surrogate. Such
 * text is not I-JSON (RFC 7493), which RFC 8785 canonicalization requires:
 * implementations disagree on it, so a hash over it could not be recomputed
 * by everyone. Refused at the door, every stored string has one form.
 */
export function hasLoneSurrogate(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (typeof item === 'string') {
      if (LONE_SURROGATE.test(item)) return true;
    } else if (item !== null && typeof item === 'object') {
      for (const [key, child] of Object.entries(item)) {
        if (LONE_SURROGATE.test(key)) return true;
        pending.push(child);
      }
    }
  }
  return false;
}
