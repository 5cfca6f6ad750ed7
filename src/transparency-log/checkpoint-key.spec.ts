import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openCheckpoint, signCheckpoint } from '../transparency/checkpoint.js';
import { EMPTY_ROOT } from '../transparency/merkle.js';
import { parseVerifierKey, verifierKeyOf } from '../transparency/signed-note.js';
import {
  CheckpointKeyFileError,
  CheckpointKeyFileMissingError,
  SharedCheckpointKeyRequiredError,
  createCheckpointKeyFile,
  ensureCheckpointKeyFile,
  loadCheckpointSigner,
} from './checkpoint-key.js';

describe('the checkpoint key file', () => {
  let dir: string;
  const lines: string[] = [];
  const log = (line: string) => lines.push(line);
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'checkpoint-key-'));
    lines.length = 0;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is generated on a first start on sqlite (PEM, mode 0600), said once, and kept on later starts', () => {
    const dataDir = join(dir, 'data');
    const file = ensureCheckpointKeyFile({ dataDir, checkpointKeyFile: undefined, store: 'sqlite' }, log);
    expect(file).toBe(join(dataDir, 'checkpoint-key.pem'));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(lines).toEqual([`Generated the checkpoint signing key ${file} (mode 0600; first start).`]);
    const key = verifierKeyOf(loadCheckpointSigner(file, 'tenant-ledger'));
    expect(ensureCheckpointKeyFile({ dataDir, checkpointKeyFile: undefined, store: 'sqlite' }, log)).toBe(file);
    expect(lines).toHaveLength(1);
    expect(verifierKeyOf(loadCheckpointSigner(file, 'tenant-ledger'))).toBe(key);
  });

  it('is never generated on postgres, and a named file must exist', () => {
    expect(() =>
      ensureCheckpointKeyFile({ dataDir: dir, checkpointKeyFile: undefined, store: 'postgres' }, log),
    ).toThrow(SharedCheckpointKeyRequiredError);
    const named = join(dir, 'shared.pem');
    expect(() => ensureCheckpointKeyFile({ dataDir: dir, checkpointKeyFile: named, store: 'sqlite' }, log)).toThrow(
      CheckpointKeyFileMissingError,
    );
    expect(createCheckpointKeyFile(named)).toBe(true);
    expect(ensureCheckpointKeyFile({ dataDir: dir, checkpointKeyFile: named, store: 'postgres' }, log)).toBe(named);
    expect(lines).toEqual([]);
  });

  it('is never overwritten', () => {
    const file = join(dir, 'key.pem');
    expect(createCheckpointKeyFile(file)).toBe(true);
    const before = readFileSync(file, 'utf8');
    expect(createCheckpointKeyFile(file)).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('reads any Ed25519 PKCS#8 PEM (as openssl genpkey writes) and signs checkpoints its verifier key opens', () => {
    const file = join(dir, 'openssl.pem');
    writeFileSync(file, generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }));
    const signer = loadCheckpointSigner(file, 'ledger.example.com/tenants');
    const note = signCheckpoint({ origin: 'ledger.example.com/tenants', size: 0, rootHash: EMPTY_ROOT }, signer);
    const verifier = parseVerifierKey(verifierKeyOf(signer));
    expect(openCheckpoint(note, verifier, 'ledger.example.com/tenants').size).toBe(0);
  });

  it('refuses a file that holds no Ed25519 private key, naming the file', () => {
    const file = join(dir, 'bad.pem');
    writeFileSync(file, 'not a key');
    expect(() => loadCheckpointSigner(file, 'tenant-ledger')).toThrow(CheckpointKeyFileError);
    writeFileSync(
      file,
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }),
    );
    expect(() => loadCheckpointSigner(file, 'tenant-ledger')).toThrow(
      `the checkpoint key file ${file} holds an ec key`,
    );
  });
});
