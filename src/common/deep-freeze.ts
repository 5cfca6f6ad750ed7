/**
 * Freezes a value and everything it holds. Folds kept in a cache are
 * shared by every later reader: frozen, a reader that tried to change one
 * throws at once instead of quietly changing the next reader's answer.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const member of Object.values(value)) deepFreeze(member);
  return value;
}
