import { type ChildProcess, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { callService, root, runToExit, SERVICE, startService } from './support/service-process.js';
import { makeDataDir, writeTestTokens } from './support/test-app.js';

const CREATE_KEY = join(root, 'dist', 'create-checkpoint-key.js');
const VERIFIER_KEY =
  /Checkpoints are signed by (tenant-ledger\+[0-9a-f]{8}\+\S+) \(GET \/v1\/ledger\/checkpoint-key\)\./;

/** The checkpoint key as an operator meets it: spawned processes, as `npm start` runs them. */
describe('the checkpoint signing key (processes)', () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const dataDir = () => {
    const dir = makeDataDir();
    dirs.push(dir);
    return dir;
  };

  it('a first start on SQLite generates the key file (0600) and prints the verifier key it serves; a restart keeps it', async () => {
    const dir = dataDir();
    const env = { LEDGER_DATA_DIR: dir, LEDGER_TOKENS_FILE: writeTestTokens(dir) };
    const first = await startService(env);
    children.push(first.child);
    const file = join(dir, 'checkpoint-key.pem');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(first.output()).toContain(`Generated the checkpoint signing key ${file} (mode 0600; first start).`);
    const printed = VERIFIER_KEY.exec(first.output())?.[1];
    const served = await callService(first.base, 'viewer', 'GET', '/v1/ledger/checkpoint-key');
    expect(served.body).toEqual({ origin: 'tenant-ledger', verifierKey: printed });
    await first.kill();

    const second = await startService(env);
    children.push(second.child);
    expect(second.output()).not.toContain('Generated the checkpoint signing key');
    expect(VERIFIER_KEY.exec(second.output())?.[1]).toBe(printed);
  }, 60_000);

  it('an instance on postgres without the shared key file refuses to start, with one sentence', async () => {
    const dir = dataDir();
    const { code, output } = await runToExit(SERVICE, {
      LEDGER_STORE: 'postgres',
      LEDGER_DATA_DIR: dir,
      LEDGER_TOKENS_FILE: writeTestTokens(dir),
    });
    expect(code).toBe(1);
    expect(output.trim().split('\n')).toEqual([
      expect.stringMatching(/^tenant-ledger cannot start: LEDGER_STORE=postgres needs LEDGER_CHECKPOINT_KEY_FILE: /),
    ]);
    expect(existsSync(join(dir, 'checkpoint-key.pem'))).toBe(false);
  });

  it('a named key file that is missing or not a key refuses the start, naming it', async () => {
    const dir = dataDir();
    const env = { LEDGER_DATA_DIR: dir, LEDGER_TOKENS_FILE: writeTestTokens(dir) };
    const missing = await runToExit(SERVICE, { ...env, LEDGER_CHECKPOINT_KEY_FILE: join(dir, 'nope.pem') });
    expect(missing.code).toBe(1);
    expect(missing.output).toContain(`LEDGER_CHECKPOINT_KEY_FILE is ${join(dir, 'nope.pem')}, which does not exist`);
    const notAKey = await runToExit(SERVICE, { ...env, LEDGER_CHECKPOINT_KEY_FILE: env.LEDGER_TOKENS_FILE });
    expect(notAKey.code).toBe(1);
    expect(notAKey.output.trim()).toBe(
      `tenant-ledger cannot start: the checkpoint key file ${env.LEDGER_TOKENS_FILE} is not a PEM private key; ` +
        'it must hold an Ed25519 private key in PEM (PKCS#8)',
    );
  }, 60_000);

  it('node dist/create-checkpoint-key.js makes the shared file once, printing the verifier key for LEDGER_ORIGIN', async () => {
    const dir = dataDir();
    const file = join(dir, 'shared', 'checkpoint-key.pem');
    const origin = 'ledger.example.com/tenants';
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [CREATE_KEY, ...args], {
        env: { PATH: process.env['PATH'] ?? '', LEDGER_ORIGIN: origin },
      });
    // Without an argument it only says how to call it.
    expect(run().status).toBe(2);
    mkdirSync(join(dir, 'shared'));
    const first = run(file);
    expect(first.status).toBe(0);
    expect(first.stdout.toString()).toContain(`Checkpoints are signed by ${origin}+`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const second = run(file);
    expect(second.status).toBe(1);
    expect(second.stderr.toString()).toContain(`${file} already exists; it was left as it is`);
  });
});
