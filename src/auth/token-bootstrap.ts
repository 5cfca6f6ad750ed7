import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { LedgerConfig } from '../config/ledger-config.js';
import type { Role } from './principal.js';
import { type TokenFileEntry, generateToken, hashToken } from './token-registry.js';

/** Thrown when LEDGER_TOKENS_FILE names a file that is not there. */
export class TokenFileMissingError extends Error {
  constructor(readonly file: string) {
    super(
      `LEDGER_TOKENS_FILE is ${file}, which does not exist or is not a file; ` +
        'create it (a JSON array of {principal, roles, tokenSha256}) or unset the variable to generate tokens',
    );
    this.name = 'TokenFileMissingError';
  }
}

const INITIAL_PRINCIPALS: readonly { principal: string; roles: Role[] }[] = [
  { principal: 'admin', roles: ['admin'] },
  { principal: 'operator', roles: ['operator'] },
  { principal: 'approver', roles: ['approver'] },
  { principal: 'viewer', roles: ['viewer'] },
];

/**
 * The path of the token file to use. With LEDGER_TOKENS_FILE that file,
 * which must exist (an operator who names a file expects it to be used, not
 * a fresh one made in its place). Otherwise `<dataDir>/tokens.json`; on the
 * first start it does not exist yet, so one token per initial principal is
 * generated, only their hashes are stored, and the tokens themselves are
 * logged once through `log` and kept in `<dataDir>/initial-tokens.txt`
 * (mode 0600) for whoever set the service up.
 * @throws TokenFileMissingError when LEDGER_TOKENS_FILE names no file.
 */
export function ensureTokenFile(
  config: Pick<LedgerConfig, 'dataDir' | 'tokensFile'>,
  log: (line: string) => void,
): string {
  if (config.tokensFile !== undefined) {
    if (!isFile(config.tokensFile)) throw new TokenFileMissingError(config.tokensFile);
    return config.tokensFile;
  }
  const tokensFile = join(config.dataDir, 'tokens.json');
  if (existsSync(tokensFile)) return tokensFile;

  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const generated = INITIAL_PRINCIPALS.map((initial) => ({ ...initial, token: generateToken() }));
  const entries: TokenFileEntry[] = generated.map(({ principal, roles, token }) => ({
    principal,
    roles,
    tokenSha256: hashToken(token),
  }));
  const listing = generated.map(
    ({ principal, roles, token }) => `${principal.padEnd(9)} ${token}  (roles: ${roles.join(', ')})`,
  );
  const initialTokensFile = join(config.dataDir, 'initial-tokens.txt');

  // The plain tokens are written before tokens.json, whose appearance marks
  // the bootstrap as done: a crash in between regenerates everything on the
  // next start instead of leaving hashes whose tokens nobody has.
  writeFileAtomically(
    initialTokensFile,
    [
      `# tenant-ledger initial tokens, generated ${new Date().toISOString()}.`,
      `# Only their SHA-256 hashes are kept (in ${tokensFile}). Store them safely, then delete this file.`,
      ...listing,
      '',
    ].join('\n'),
  );
  writeFileAtomically(tokensFile, `${JSON.stringify(entries, null, 2)}\n`);

  log('Generated an access token for each initial principal (first start):');
  for (const line of listing) log(`  ${line}`);
  log(
    `These tokens were saved to ${initialTokensFile} (mode 0600) and will not be shown again; ` +
      `only their hashes are in ${tokensFile}.`,
  );
  return tokensFile;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Writes `content` to `path` with mode 0600 so that readers see either the
 * old file or the whole new one, never a torn or empty file, even after a
 * power loss.
 */
function writeFileAtomically(path: string, content: string): void {
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const fd = openSync(temporary, 'wx', 0o600);
    try {
      writeFileSync(fd, content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
  syncDirectory(dirname(path));
}

/** Makes a rename durable; some platforms cannot open directories, and there it is skipped. */
function syncDirectory(directory: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(directory, 'r');
    fsyncSync(fd);
  } catch {
    // Best effort: the file content itself is already on disk.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
