import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json.js';

describe('canonical JSON', () => {
  it('sorts keys at every depth and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });

  it('gives the same text for the same value whatever the key order', () => {
    expect(canonicalJson({ x: 1, y: [1, 2] })).toBe(canonicalJson({ y: [1, 2], x: 1 }));
  });

  it('drops undefined members as JSON does, and keeps null', () => {
    expect(canonicalJson({ a: undefined, b: null })).toBe('{"b":null}');
  });

  it('refuses values JSON cannot hold', () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(TypeError);
    expect(() => canonicalJson({ n: 1n })).toThrow(TypeError);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(TypeError);
  });

  it('escapes strings as JSON does', () => {
    expect(canonicalJson({ 'k"': 'line\nbreak' })).toBe('{"k\\"":"line\\nbreak"}');
  });
});

/** The first, plain implementation: the definition the faster one must match byte for byte (hashes depend on it). */
function referenceCanonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('no JSON form');
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((item) => referenceCanonicalJson(item ?? null)).join(',')}]`;
      const record = value as Record<string, unknown>;
      const members = Object.keys(record)
        .filter((key) => record[key] !== undefined)
        .sort()
        .map((key) => `${JSON.stringify(key)}:${referenceCanonicalJson(record[key])}`);
      return `{${members.join(',')}}`;
    }
    default:
      throw new TypeError('no JSON form');
  }
}

describe('canonical JSON matches its reference definition', () => {
  // A small deterministic generator of JSON-ish values: keys that sort
  // differently by code unit than by locale or number, escapes, nesting.
  const keys = ['a', 'B', 'b', '10', '9', '', 'é', 'z\u0000', '😀', 'data', 'version', 'k"q', 'line\nbreak'];
  const leaves: unknown[] = [0, -0, 1.5, -42, 1e21, 1e-7, 2 ** 53, '', 'x', 'ünï"cödé\\', '\u2028', true, false, null];
  let seed = 7;
  const next = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const generate = (depth: number): unknown => {
    const pick = next(depth > 3 ? 2 : 5);
    if (pick < 2) return leaves[next(leaves.length)];
    if (pick === 2) return Array.from({ length: next(4) }, () => (next(6) === 0 ? undefined : generate(depth + 1)));
    const object: Record<string, unknown> = {};
    for (let i = next(6); i > 0; i -= 1)
      object[keys[next(keys.length)]!] = next(8) === 0 ? undefined : generate(depth + 1);
    return object;
  };

  it('for 2,000 generated values', () => {
    for (let i = 0; i < 2_000; i += 1) {
      const value = generate(0);
      expect(canonicalJson(value)).toBe(referenceCanonicalJson(value));
    }
  });

  it('for an event envelope with sealed contacts', () => {
    const event = {
      streamId: 'site-s1',
      version: 12,
      eventId: '6f1c0c52-7d55-4b4c-9a43-3f0e0a1b2c3d',
      type: 'SiteRegistered',
      data: { siteId: 's1', contacts: [{ sealed: 'v1.aaa.bbb.ccc' }], products: [], region: null, internal: false },
      metadata: { actor: 'op', occurredAt: '2025-01-01T00:00:00.000Z', correlationId: 'c', causationId: null },
    };
    expect(canonicalJson(event)).toBe(referenceCanonicalJson(event));
  });
});
