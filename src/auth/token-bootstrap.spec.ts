import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hasRole } from './principal.js';
import { SharedTokenFileRequiredError, TokenFileMissingError, ensureTokenFile } from './token-bootstrap.js';
import { TokenRegistry, hashToken } from './token-registry.js';

const TOKEN = /tl_[A-Za-z0-9_-]{43}/g;

let root: string;
let dataDir: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'token-bootstrap-'));
  // Not created yet: the first start makes the data directory.
  dataDir = join(root, 'data');
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function firstStart(): { file: string; lines: string[] } {
  const lines: string[] = [];
  const file = ensureTokenFile({ dataDir, tokensFile: undefined }, (line) => lines.push(line));
  return { file, lines };
}

describe('ensureTokenFile', () => {
  it('generates tokens on the first start, storing only their hashes', () => {
    const { file, lines } = firstStart();
    expect(file).toBe(join(dataDir, 'tokens.json'));

    const printed = lines.join('\n').match(TOKEN) ?? [];
    expect(printed).toHaveLength(4);
    expect(new Set(printed).size).toBe(4);

    const stored = readFileSync(file, 'utf8');
    for (const token of printed) {
      expect(stored).not.toContain(token);
      expect(stored).not.toContain(token.slice(3));
      expect(stored).toContain(hashToken(token));
    }
    expect(JSON.parse(stored)).toEqual([
      { principal: 'admin', roles: ['admin'], tokenSha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
      { principal: 'operator', roles: ['operator'], tokenSha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
      { principal: 'approver', roles: ['approver'], tokenSha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
      { principal: 'viewer', roles: ['viewer'], tokenSha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    ]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // The atomic writes leave no temporary files behind.
    expect(readdirSync(dataDir).sort()).toEqual(['initial-tokens.txt', 'tokens.json']);
  });

  it('prints each token with its principal, and says where they are kept', () => {
    const { lines } = firstStart();
    const registry = TokenRegistry.fromFile(join(dataDir, 'tokens.json'));
    for (const principal of ['admin', 'operator', 'approver', 'viewer']) {
      const line = lines.find((candidate) => candidate.trimStart().startsWith(`${principal} `));
      const token = line?.match(TOKEN)?.[0];
      expect(token, `a printed token for ${principal}`).toBeDefined();
      expect(registry.authenticate(token!)?.id).toBe(principal);
    }
    const admin = registry.authenticate(lines.join('\n').match(TOKEN)![0])!;
    expect(hasRole(admin, 'approver')).toBe(true);
    expect(lines.at(-1)).toContain(join(dataDir, 'initial-tokens.txt'));
    expect(lines.at(-1)).toContain('will not be shown again');
  });

  it('keeps the plain tokens in initial-tokens.txt with mode 0600', () => {
    const { lines } = firstStart();
    const initialTokens = join(dataDir, 'initial-tokens.txt');
    expect(statSync(initialTokens).mode & 0o777).toBe(0o600);
    expect(readFileSync(initialTokens, 'utf8').match(TOKEN)).toEqual(lines.join('\n').match(TOKEN));
  });

  it('generates and prints nothing on the next start', () => {
    firstStart();
    const tokensBefore = readFileSync(join(dataDir, 'tokens.json'), 'utf8');
    const initialBefore = readFileSync(join(dataDir, 'initial-tokens.txt'), 'utf8');

    const { file, lines } = firstStart();
    expect(file).toBe(join(dataDir, 'tokens.json'));
    expect(lines).toEqual([]);
    expect(readFileSync(join(dataDir, 'tokens.json'), 'utf8')).toBe(tokensBefore);
    expect(readFileSync(join(dataDir, 'initial-tokens.txt'), 'utf8')).toBe(initialBefore);
  });

  it('uses LEDGER_TOKENS_FILE as it is, generating nothing', () => {
    const tokensFile = join(root, 'managed-tokens.json');
    writeFileSync(tokensFile, '[]');
    const lines: string[] = [];
    expect(ensureTokenFile({ dataDir, tokensFile }, (line) => lines.push(line))).toBe(tokensFile);
    expect(lines).toEqual([]);
    expect(() => statSync(dataDir)).toThrow();
  });

  it('refuses a LEDGER_TOKENS_FILE that does not exist', () => {
    const tokensFile = join(root, 'missing.json');
    const lines: string[] = [];
    expect(() => ensureTokenFile({ dataDir, tokensFile }, (line) => lines.push(line))).toThrow(TokenFileMissingError);
    expect(() => ensureTokenFile({ dataDir, tokensFile }, () => undefined)).toThrow(
      `LEDGER_TOKENS_FILE is ${tokensFile}, which does not exist`,
    );
    expect(lines).toEqual([]);
    expect(() => statSync(join(dataDir, 'tokens.json'))).toThrow();
  });

  it('on postgres, refuses to generate tokens that no other instance would know', () => {
    const lines: string[] = [];
    expect(() =>
      ensureTokenFile({ dataDir, tokensFile: undefined, store: 'postgres' }, (line) => lines.push(line)),
    ).toThrow(SharedTokenFileRequiredError);
    expect(lines).toEqual([]);
    expect(() => statSync(join(dataDir, 'tokens.json'))).toThrow();
    const tokensFile = join(root, 'shared-tokens.json');
    writeFileSync(tokensFile, '[]');
    expect(ensureTokenFile({ dataDir, tokensFile, store: 'postgres' }, () => undefined)).toBe(tokensFile);
  });

  it('refuses a LEDGER_TOKENS_FILE that is a directory', () => {
    expect(() => ensureTokenFile({ dataDir, tokensFile: root }, () => undefined)).toThrow(TokenFileMissingError);
  });
});
