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
  // Loops and string concatenation rather than map/filter/join: every
  // appended event is hashed through here, and the intermediate arrays
  // were most of its cost. The output is the same byte for byte.
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) {
        throw new TypeError(`canonicalJson: ${value} has no JSON form`);
      }
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i += 1) {
          if (i > 0) out += ',';
          out += canonicalJson(value[i] ?? null);
        }
        return `${out}]`;
      }
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record);
      if (keys.length > 1) keys.sort();
      let out = '{';
      for (const key of keys) {
        const member = record[key];
        if (member === undefined) continue;
        if (out.length > 1) out += ',';
        out += `${quotedKey(key)}:${canonicalJson(member)}`;
      }
      return `${out}}`;
    }
    default:
      throw new TypeError(`canonicalJson: a ${typeof value} has no JSON form`);
  }
}

/**
 * Object keys are a few field names repeated in every event: their quoted
 * form is remembered (up to a bound, so odd keys cannot grow it forever).
 */
const QUOTED_KEYS = new Map<string, string>();
const MAX_QUOTED_KEYS = 10_000;

function quotedKey(key: string): string {
  let quoted = QUOTED_KEYS.get(key);
  if (quoted === undefined) {
    quoted = JSON.stringify(key);
    if (QUOTED_KEYS.size < MAX_QUOTED_KEYS) QUOTED_KEYS.set(key, quoted);
  }
  return quoted;
}
