import * as crypto from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ROLES, hasRole } from './principal.js';
import { TokenFileError, TokenRegistry, generateToken, hashToken } from './token-registry.js';

// Pass-through spy: lets a test count the constant-time comparisons.
vi.mock('node:crypto', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:crypto')>();
  return { ...original, timingSafeEqual: vi.fn(original.timingSafeEqual) };
});

const ADMIN_TOKEN = 'tl_admin-token-for-tests';
const VIEWER_TOKEN = 'tl_viewer-token-for-tests';

function entry(principal: unknown, roles: unknown, tokenSha256: unknown): Record<string, unknown> {
  return { principal, roles, tokenSha256 };
}

const validEntries = [
  entry('admin', ['admin'], hashToken(ADMIN_TOKEN)),
  entry('ops:alice', ['operator', 'approver'], hashToken('tl_alice')),
  entry('viewer', ['viewer'], hashToken(VIEWER_TOKEN).toUpperCase()),
];

let directory: string;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'token-registry-'));
});
afterEach(() => {
  rmSync(directory, { recursive: true, force: true });
});

function writeTokenFile(content: string): string {
  const file = join(directory, 'tokens.json');
  writeFileSync(file, content);
  return file;
}

function loadError(content: unknown): TokenFileError {
  const file = writeTokenFile(typeof content === 'string' ? content : JSON.stringify(content));
  try {
    TokenRegistry.fromFile(file);
  } catch (error) {
    if (error instanceof TokenFileError) return error;
    throw error;
  }
  throw new Error('expected a TokenFileError');
}

describe('TokenRegistry.fromFile', () => {
  it('loads a valid file, hashes in either case', () => {
    const registry = TokenRegistry.fromFile(writeTokenFile(JSON.stringify(validEntries)));
    expect(registry.authenticate(ADMIN_TOKEN)?.id).toBe('admin');
    expect(registry.authenticate('tl_alice')).toEqual({ id: 'ops:alice', roles: new Set(['operator', 'approver']) });
    expect(registry.authenticate(VIEWER_TOKEN)?.id).toBe('viewer');
  });

  it('names the file when it cannot be read', () => {
    const missing = join(directory, 'nope.json');
    expect(() => TokenRegistry.fromFile(missing)).toThrow(`invalid token file ${missing}: cannot be read (ENOENT)`);
  });

  it.each<[string, unknown, string]>([
    ['not JSON', '[{"principal": "admin",', 'is not valid JSON'],
    ['not an array', { principal: 'admin' }, 'must be a JSON array'],
    ['an empty array', [], 'holds no tokens'],
    ['an entry that is not an object', ['tl_plain'], 'entries[0] must be an object'],
    [
      'an unknown role',
      [entry('admin', ['admin', 'root'], hashToken('a'))],
      'entries[0] (principal "admin"): unknown role "root"',
    ],
    [
      'empty roles',
      [entry('admin', [], hashToken('a'))],
      'entries[0] (principal "admin"): roles must be a non-empty array',
    ],
    ['roles not an array', [entry('admin', 'admin', hashToken('a'))], 'roles must be a non-empty array'],
    [
      'a short hash',
      [entry('admin', ['admin'], 'abc123')],
      'entries[0] (principal "admin"): tokenSha256 must be 64 hex digits',
    ],
    ['a hash that is not hex', [entry('admin', ['admin'], 'g'.repeat(64))], 'tokenSha256 must be 64 hex digits'],
    ['a plain token instead of a hash', [entry('admin', ['admin'], ADMIN_TOKEN)], 'tokenSha256 must be 64 hex digits'],
    [
      'the hash of the empty token',
      [entry('admin', ['admin'], hashToken(''))],
      'tokenSha256 is the hash of the empty token',
    ],
    [
      'a duplicate hash',
      [entry('a', ['viewer'], hashToken('x')), entry('b', ['admin'], hashToken('x').toUpperCase())],
      'entries[1] (principal "b"): tokenSha256 duplicates that of entries[0] (principal "a")',
    ],
    [
      'an empty principal',
      [entry('', ['admin'], hashToken('a'))],
      'entries[0] (principal ""): principal must be 1–64 characters',
    ],
    ['a principal with spaces', [entry('ad min', ['admin'], hashToken('a'))], 'principal must be 1–64 characters'],
    ['a principal too long', [entry('a'.repeat(65), ['admin'], hashToken('a'))], 'principal must be 1–64 characters'],
    [
      'no principal',
      [{ roles: ['admin'], tokenSha256: hashToken('a') }],
      'entries[0]: principal must be 1–64 characters',
    ],
    ['an unknown field', [{ ...entry('admin', ['admin'], hashToken('a')), token: 'a' }], 'unknown field "token"'],
  ])('rejects %s', (_case, content, problem) => {
    const error = loadError(content);
    expect(error.message).toContain(`invalid token file ${join(directory, 'tokens.json')}: `);
    expect(error.message).toContain(problem);
  });

  it('reports every bad entry at once', () => {
    const error = loadError([
      entry('good', ['viewer'], hashToken('g')),
      entry('bad one', ['viewer'], hashToken('b1')),
      entry('b2', ['owner'], 'xyz'),
    ]);
    expect(error.problems).toEqual([
      expect.stringMatching(/^entries\[1\] \(principal "bad one"\): principal must be/),
      expect.stringMatching(
        /^entries\[2\] \(principal "b2"\): unknown role "owner".*, tokenSha256 must be 64 hex digits/,
      ),
    ]);
  });
});

describe('TokenRegistry.authenticate', () => {
  const registry = TokenRegistry.fromEntries([
    { principal: 'admin', roles: ['admin'], tokenSha256: hashToken(ADMIN_TOKEN) },
    { principal: 'viewer', roles: ['viewer'], tokenSha256: hashToken(VIEWER_TOKEN) },
  ]);

  it('accepts a known token', () => {
    expect(registry.authenticate(VIEWER_TOKEN)).toEqual({ id: 'viewer', roles: new Set(['viewer']) });
  });

  it.each([
    ['a wrong token', 'tl_someone-else'],
    ['an empty token', ''],
    ['a token differing in its last character', `${ADMIN_TOKEN.slice(0, -1)}S`],
    ['a token differing in its first character', `T${ADMIN_TOKEN.slice(1)}`],
    ['a token with extra whitespace', `${ADMIN_TOKEN} `],
    ['the stored hash itself', hashToken(ADMIN_TOKEN)],
  ])('rejects %s', (_case, token) => {
    expect(registry.authenticate(token)).toBeUndefined();
  });

  it('compares with every entry even after a match', () => {
    const compare = vi.mocked(crypto.timingSafeEqual);
    compare.mockClear();
    expect(registry.authenticate(ADMIN_TOKEN)?.id).toBe('admin');
    expect(compare).toHaveBeenCalledTimes(2);
  });

  it('gives admin every role', () => {
    const admin = registry.authenticate(ADMIN_TOKEN)!;
    for (const role of ROLES) expect(hasRole(admin, role)).toBe(true);
    const viewer = registry.authenticate(VIEWER_TOKEN)!;
    expect(hasRole(viewer, 'operator')).toBe(false);
  });

  it('validates entries given in memory like a file', () => {
    expect(() => TokenRegistry.fromEntries([], 'test entries')).toThrow(
      'invalid token file test entries: holds no tokens',
    );
  });
});

describe('generateToken', () => {
  it('makes prefixed 256-bit base64url tokens that differ', () => {
    const first = generateToken();
    expect(first).toMatch(/^tl_[A-Za-z0-9_-]{43}$/);
    expect(generateToken()).not.toBe(first);
  });
});
