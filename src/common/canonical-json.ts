/**
 * Canonical JSON: object keys sorted by UTF-16 code unit, no whitespace, the
 * shortest number form `JSON.stringify` gives (as RFC 8785 does for the
 * values this ledger stores). Two parties that hold the same event compute
 * the same bytes, so hashes and plan digests can be recomputed by an auditor
 * with any JSON library that sorts keys.
 *
 * `undefined` object members are dropped, as `JSON.stringify` drops them;
 * anything that has no JSON form (functions, non-finite numbers, bigint)
 * throws instead of being silently changed.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) {
        throw new TypeError(`canonicalJson: ${value} has no JSON form`);
      }
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
      }
      const record = value as Record<string, unknown>;
      const members = Object.keys(record)
        .filter((key) => record[key] !== undefined)
        .sort()
        .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`);
      return `{${members.join(',')}}`;
    }
    default:
      throw new TypeError(`canonicalJson: a ${typeof value} has no JSON form`);
  }
}
