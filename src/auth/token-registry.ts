import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PRINCIPAL_ID_PATTERN, type Principal, ROLES, type Role, isRole } from './principal.js';

/** One entry of the token file (SPEC §7). Only the token's hash is ever stored. */
export interface TokenFileEntry {
  principal: string;
  roles: Role[];
  /** Lowercase hex SHA-256 of the token. */
  tokenSha256: string;
}

/** The token file cannot be used; the message names the file and every bad entry. */
export class TokenFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`invalid token file ${file}: ${problems.join('; ')}`);
    this.name = 'TokenFileError';
  }
}

/** A new bearer token: 256 random bits; the prefix makes it recognisable in logs and secret scanners. */
export function generateToken(): string {
  return `tl_${randomBytes(32).toString('base64url')}`;
}

/** The `tokenSha256` of `token`. */
export function hashToken(token: string): string {
  return sha256(token).toString('hex');
}

function sha256(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

// An entry for the empty token would let a bare "Bearer " header in.
const EMPTY_TOKEN_SHA256 = hashToken('');
const ENTRY_FIELDS = new Set(['principal', 'roles', 'tokenSha256']);

/**
 * Checks the parsed content of a token file and returns its entries
 * (hashes in lowercase).
 * @throws TokenFileError listing every problem, each with its entry.
 */
export function parseTokenEntries(content: unknown, file: string): TokenFileEntry[] {
  if (!Array.isArray(content)) {
    throw new TokenFileError(file, ['must be a JSON array of {principal, roles, tokenSha256}']);
  }
  if (content.length === 0) {
    throw new TokenFileError(file, ['holds no tokens, so nobody could sign in']);
  }
  const problems: string[] = [];
  const entries: TokenFileEntry[] = [];
  const entryByHash = new Map<string, string>();
  content.forEach((raw: unknown, index) => {
    const entryProblems: string[] = [];
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      problems.push(`entries[${index}] must be an object {principal, roles, tokenSha256}`);
      return;
    }
    const record = raw as Record<string, unknown>;
    const { principal, roles, tokenSha256 } = record;
    const label =
      typeof principal === 'string'
        ? `entries[${index}] (principal ${JSON.stringify(principal)})`
        : `entries[${index}]`;

    for (const field of Object.keys(record)) {
      if (!ENTRY_FIELDS.has(field)) entryProblems.push(`unknown field ${JSON.stringify(field)}`);
    }
    if (typeof principal !== 'string' || !PRINCIPAL_ID_PATTERN.test(principal)) {
      entryProblems.push(
        `principal must be 1–64 characters of A-Z a-z 0-9 . _ : - (got ${JSON.stringify(principal) ?? 'nothing'})`,
      );
    }
    if (!Array.isArray(roles) || roles.length === 0) {
      entryProblems.push(`roles must be a non-empty array of ${ROLES.join(', ')}`);
    } else {
      for (const role of roles as unknown[]) {
        if (!isRole(role)) entryProblems.push(`unknown role ${JSON.stringify(role)} (known: ${ROLES.join(', ')})`);
      }
    }
    if (typeof tokenSha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(tokenSha256)) {
      entryProblems.push(`tokenSha256 must be 64 hex digits, the SHA-256 of the token`);
    } else {
      const hash = tokenSha256.toLowerCase();
      const earlier = entryByHash.get(hash);
      if (earlier !== undefined) entryProblems.push(`tokenSha256 duplicates that of ${earlier}`);
      else if (hash === EMPTY_TOKEN_SHA256) entryProblems.push('tokenSha256 is the hash of the empty token');
      else entryByHash.set(hash, label);
    }

    if (entryProblems.length > 0) {
      problems.push(`${label}: ${entryProblems.join(', ')}`);
    } else {
      entries.push({
        principal: principal as string,
        roles: [...new Set(roles as Role[])],
        tokenSha256: (tokenSha256 as string).toLowerCase(),
      });
    }
  });
  if (problems.length > 0) throw new TokenFileError(file, problems);
  return entries;
}

interface RegisteredToken {
  readonly hash: Buffer;
  readonly principal: Principal;
}

/**
 * The known bearer tokens, by hash. Read once at start: changing the file
 * takes a restart.
 */
export class TokenRegistry {
  private readonly tokens: readonly RegisteredToken[];

  private constructor(entries: readonly TokenFileEntry[]) {
    this.tokens = entries.map((entry) => ({
      hash: Buffer.from(entry.tokenSha256, 'hex'),
      principal: Object.freeze({ id: entry.principal, roles: new Set(entry.roles) }),
    }));
  }

  /**
   * A registry of `entries`, checked as a token file would be (tests and
   * tools that hold entries in memory).
   * @throws TokenFileError naming `source` and every bad entry.
   */
  static fromEntries(entries: readonly TokenFileEntry[], source = 'token entries'): TokenRegistry {
    return new TokenRegistry(parseTokenEntries(entries, source));
  }

  /**
   * Reads and checks the token file at `file`.
   * @throws TokenFileError when it cannot be read, is not JSON or has a bad entry.
   */
  static fromFile(file: string): TokenRegistry {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new TokenFileError(file, [`cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`]);
    }
    let content: unknown;
    try {
      content = JSON.parse(text);
    } catch (error) {
      throw new TokenFileError(file, [`is not valid JSON (${(error as Error).message})`]);
    }
    return new TokenRegistry(parseTokenEntries(content, file));
  }

  /**
   * The principal `token` belongs to, or undefined. The presented token's
   * hash is compared with every entry in constant time and without stopping
   * at a match, so response time says nothing about which tokens exist or
   * how close a guess came.
   */
  authenticate(token: string): Principal | undefined {
    // Says nothing about the stored tokens, and no entry can match it anyway.
    if (token === '') return undefined;
    const presented = sha256(token);
    let found: Principal | undefined;
    for (const entry of this.tokens) {
      const matches = timingSafeEqual(entry.hash, presented);
      found = matches ? entry.principal : found;
    }
    return found;
  }
}
