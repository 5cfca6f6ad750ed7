import { DomainError } from '../common/domain-error.js';

/**
 * Page cursors: a kind tag and a few non-negative integers (ordinals),
 * base64url-encoded. Opaque to clients, so what they hold can change
 * without breaking them; tagged, so one list's cursor is refused by another.
 */
export function encodeCursor(kind: string, values: readonly number[]): string {
  return Buffer.from(`${kind}:${values.join('.')}`, 'utf8').toString('base64url');
}

/**
 * The `arity` integers in a cursor made by `encodeCursor(kind, …)`.
 * @throws DomainError (400, naming the `cursor` field) for anything else.
 */
export function decodeCursor(kind: string, cursor: string, arity: number): number[] {
  const text = /^[A-Za-z0-9_-]{1,200}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const match = new RegExp(`^${kind}:(\\d{1,16}(?:\\.\\d{1,16}){${arity - 1}})$`).exec(text);
  const values = match?.[1]?.split('.').map(Number) ?? [];
  if (values.length !== arity || !values.every(Number.isSafeInteger)) {
    throw new DomainError('invalid', 'request.invalid', 'invalid request: cursor', [
      { field: 'cursor', problem: 'invalid', detail: 'cursor must be a nextCursor returned by this endpoint' },
    ]);
  }
  return values;
}
