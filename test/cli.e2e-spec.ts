import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../src/testing/poll-until.js';
import { loadCheckpointSigner } from '../src/transparency-log/checkpoint-key.js';
import { signCheckpoint } from '../src/transparency/checkpoint.js';
import { generateNoteKeys } from '../src/transparency/signed-note.js';
import { freePort, root, startService, type RunningService } from './support/service-process.js';
import { makeDataDir, TOKENS, writeTestTokens, type TestPrincipal } from './support/test-app.js';

/**
 * `tenant-ledger`, as built (dist/cli/main.js), run as a person or a script
 * runs it: a child process with LEDGER_URL and LEDGER_TOKEN, against the
 * real service in its own process on a fresh SQLite data folder. Waves of
 * one, two, four… customer sites (LEDGER_CANARY_SITES=1), so an operation
 * of a few sites pauses several times.
 */
const CLI = join(root, 'dist', 'cli', 'main.js');

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<Finished>;
}

describe('the tenant-ledger command line', () => {
  let service: RunningService;
  let dataDir: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    dataDir = makeDataDir();
    service = await startService({
      LEDGER_DATA_DIR: dataDir,
      LEDGER_TOKENS_FILE: writeTestTokens(dataDir),
      LEDGER_CANARY_SITES: '1',
      LEDGER_LOG_LEVEL: 'error',
    });
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await service?.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Starts the CLI as `principal` (none: no token at all). */
  function start(args: string[], principal: TestPrincipal | null, env: Record<string, string> = {}): Running {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: dataDir,
      env: {
        PATH: process.env['PATH'] ?? '',
        LEDGER_URL: service.base,
        ...(principal === null ? {} : { LEDGER_TOKEN: TOKENS[principal] }),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<Finished>((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
    return { child, stdout: () => stdout, stderr: () => stderr, exited };
  }

  const tl = (args: string[], principal: TestPrincipal | null = 'viewer', env: Record<string, string> = {}) =>
    start(args, principal, env).exited;

  async function json<T>(args: string[], principal: TestPrincipal = 'viewer'): Promise<T> {
    const { code, stdout, stderr } = await tl([...args, '-o', 'json'], principal);
    expect(code, stderr).toBe(0);
    return JSON.parse(stdout) as T;
  }

  async function register(siteId: string, extra: Record<string, unknown> = {}): Promise<void> {
    const answer = await service.call('operator', 'POST', '/v1/sites', {
      siteId,
      customerId: `cust-${siteId}`,
      name: `Shop ${siteId}`,
      ...extra,
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  }

  function idsFile(name: string, ids: string[]): string {
    const file = join(dataDir, name);
    writeFileSync(file, `# ${name}\n${ids.join('\n')}\n`);
    return file;
  }

  /** Plans (as operator) and approves (as approver) through the CLI; the operation's id and digest. */
  async function plannedAndApproved(name: string, ids: string[]): Promise<{ id: string; digest: string }> {
    const plan = await tl(['ops', 'plan', '--ids-file', idsFile(name, ids), '--reason', name], 'operator');
    expect(plan.code, plan.stderr).toBe(0);
    const id = /^(op_\S+)\s+planned/m.exec(plan.stdout)?.[1];
    const digest = /^digest\s+(sha256:[0-9a-f]{64})$/m.exec(plan.stdout)?.[1];
    expect(id && digest, plan.stdout).toBeTruthy();
    const approve = await tl(['ops', 'approve', id!, '--digest', digest!], 'approver');
    expect(approve.code, approve.stderr).toBe(0);
    expect(approve.stdout).toContain(`next: an operator runs  tenant-ledger ops execute ${id} --digest ${digest}`);
    return { id: id!, digest: digest! };
  }

  const count = (text: string, part: string) => text.split(part).length - 1;

  it('reads a site, its history, the fleet and the counts, as text or as the JSON of the API', async () => {
    await register('cli-1', { products: [{ installationId: 'cli-inst-1', productKey: 'webshop' }] });
    await register('cli-2');

    const site = await tl(['sites', 'get', 'cli-1']);
    expect(site.code).toBe(0);
    expect(site.stdout).toMatch(/^site\s+cli-1$/m);
    expect(site.stdout).toMatch(/^products\s+cli-inst-1 \(webshop\)$/m);
    expect(await json(['sites', 'get', 'cli-1', '--version', '1'])).toMatchObject({ siteId: 'cli-1', version: 1 });

    const history = await json<{ events: { type: string }[] }>(['sites', 'history', 'cli-1']);
    expect(history.events.map((event) => event.type)).toEqual(['SiteRegistered']);
    expect((await tl(['sites', 'history', 'cli-1'])).stdout).toMatch(/^1\s+\S+\s+SiteRegistered\s+operator/m);

    const list = await json<{ sites: { siteId: string }[] }>(['sites', 'list', '--status', 'active']);
    expect(list.sites.map((s) => s.siteId)).toEqual(expect.arrayContaining(['cli-1', 'cli-2']));
    const limited = await json<{ sites: unknown[] }>(['sites', 'list', '--limit', '1']);
    expect(limited.sites).toHaveLength(1);
    expect((await tl(['sites', 'list'])).stdout).toMatch(/^SITE\s+CUSTOMER\s+STATUS/m);

    const stats = await json<{ total: number; byStatus: { active: number } }>(['stats']);
    expect(stats.byStatus.active).toBeGreaterThanOrEqual(2);
    expect((await tl(['stats'])).stdout).toMatch(/^total\s+\d+$/m);

    const missing = await tl(['sites', 'get', 'no-such-site']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('error: site.not-found — ');
  });

  it('refuses a plan of installation IDs as a whole, printing every problem, with exit code 1', async () => {
    await register('cli-3', { products: [{ installationId: 'cli-inst-3', productKey: 'webshop' }] });
    const file = idsFile('installations.txt', ['cli-inst-1', 'cli-inst-3', 'cli-2', 'cli-nobody', 'cli-2']);
    const refused = await tl(
      ['ops', 'plan', '--ids-file', file, '--reason', 'churned', '--ticket', 'OPS-1'],
      'operator',
    );
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/^error: operation\.rejected — plan op_\S+ rejected as a whole/m);
    expect(refused.stderr).toMatch(/^ {2}- cli-inst-1: not-a-site — .*cli-1/m);
    expect(refused.stderr).toMatch(/^ {2}- cli-inst-3: not-a-site — .*cli-3/m);
    expect(refused.stderr).toMatch(/^ {2}- cli-nobody: unknown-id — /m);
    expect(refused.stderr).toMatch(/^ {2}- cli-2: duplicate-id — /m);
    expect(refused.stderr).toMatch(/^the refusal is recorded as operation op_\S+$/m);
  });

  it('plans, approves, executes and watches every wave live, continuing at each pause, to completion (exit 0)', async () => {
    await register('cli-int', { internal: true });
    for (const id of ['cli-4', 'cli-5', 'cli-6', 'cli-7']) await register(id);
    // Waves: cli-int (internal), cli-4 (canary), cli-5 cli-6, cli-7.
    const { id, digest } = await plannedAndApproved('cli-run.txt', ['cli-4', 'cli-int', 'cli-5', 'cli-6', 'cli-7']);
    const planned = await json<{ waves: { siteIds: string[] }[]; digest: string }>(['ops', 'get', id]);
    expect(planned.digest).toBe(digest);
    expect(planned.waves.map((wave) => wave.siteIds)).toEqual([['cli-int'], ['cli-4'], ['cli-5', 'cli-6'], ['cli-7']]);

    const watch = start(['ops', 'watch', id], 'viewer');
    await pollUntil(() => watch.stdout(), {
      what: 'the watch to show the approved operation',
      done: (out) => out.includes('approved; waiting for execute'),
      timeoutMs: 10_000,
    });
    const execute = await tl(['ops', 'execute', id, '--digest', digest], 'operator');
    expect(execute.code, execute.stderr).toBe(0);
    expect(execute.stdout).toContain(`tenant-ledger ops watch ${id}`);

    const continueLine = `  tenant-ledger ops continue ${id}`;
    for (let pause = 1; pause <= 3; pause++) {
      await pollUntil(() => watch.stdout(), {
        what: `pause ${pause} in the watch`,
        done: (out) => count(out, continueLine) === pause,
        timeoutMs: 10_000,
      });
      if (pause === 2) {
        // cli-6 gets a legal hold before its wave: skipped and reported, not deleted.
        const held = await service.call('admin', 'PUT', '/v1/sites/cli-6/legal-hold', {
          reason: 'litigation',
          reference: 'LH-1',
        });
        expect(held.status).toBe(200);
      }
      const next = await tl(['ops', 'continue', id], 'operator');
      expect(next.code, next.stderr).toBe(0);
    }
    const end = await watch.exited;
    expect(end.code, end.stdout + end.stderr).toBe(0);
    expect(count(end.stdout, continueLine)).toBe(3);
    for (let wave = 1; wave <= 3; wave++) {
      expect(end.stdout).toContain(`paused after wave ${wave} of 4; continue with:\n${continueLine}\n`);
    }
    expect(end.stdout).toMatch(/^wave 1\/4 internal .* 1\/1 done: 1 deleted, 0 skipped {2}\d+\.\ds {2}completed$/m);
    expect(end.stdout).toMatch(/^wave 3\/4 customer .* 2\/2 done: 1 deleted, 1 skipped {2}\d+\.\ds {2}completed$/m);
    expect(end.stdout).toContain('  skipped cli-6: site.legal-hold');
    expect(end.stdout).toMatch(/^completed: 4 of 5 sites deleted, 1 skipped, 4 of 4 waves run in \d+\.\ds$/m);
    expect(end.stdout).not.toContain('\x1b['); // not a terminal: no colours, no redrawing

    const done = await json<{ status: string; progress: { deleted: number } }>(['ops', 'get', id]);
    expect(done).toMatchObject({ status: 'completed', progress: { deleted: 4 } });
    // Watching a finished operation shows it and ends at once.
    const again = await tl(['ops', 'watch', id]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('completed: 4 of 5 sites deleted');
  }, 60_000);

  it('a watch ends with exit 2 when the operation is aborted; rollback reports with --dry-run, then restores', async () => {
    for (const id of ['cli-8', 'cli-9', 'cli-10']) await register(id);
    const { id, digest } = await plannedAndApproved('cli-abort.txt', ['cli-8', 'cli-9', 'cli-10']);
    const watch = start(['ops', 'watch', id], 'viewer');
    expect((await tl(['ops', 'execute', id, '--digest', digest], 'operator')).code).toBe(0);
    await pollUntil(() => watch.stdout(), {
      what: 'the first pause',
      done: (out) => out.includes(`tenant-ledger ops continue ${id}`),
      timeoutMs: 10_000,
    });
    const abort = await tl(['ops', 'abort', id, '--reason', 'wrong list'], 'operator');
    expect(abort.code, abort.stderr).toBe(0);
    const end = await watch.exited;
    expect(end.code, end.stdout + end.stderr).toBe(2);
    expect(end.stdout).toMatch(/^aborted by operator: wrong list; 1 of 3 sites deleted/m);
    expect(end.stdout).toContain(`roll back with: tenant-ledger ops rollback ${id}`);

    const dryRun = await tl(['ops', 'rollback', id, '--reason', 'INC-7', '--dry-run'], 'operator');
    expect(dryRun.code, dryRun.stderr).toBe(0);
    expect(dryRun.stdout).toContain('dry run: nothing changed');
    expect(dryRun.stdout).toContain('would restore 1: cli-8');
    expect(await json<{ status: string }>(['sites', 'get', 'cli-8'])).toMatchObject({ status: 'deleted' });

    const rollback = await json<{ restored: string[]; operation: { status: string } }>(
      ['ops', 'rollback', id, '--reason', 'INC-7'],
      'operator',
    );
    expect(rollback).toMatchObject({ restored: ['cli-8'], operation: { status: 'rolled-back' } });
    expect(await json<{ status: string }>(['sites', 'get', 'cli-8'])).toMatchObject({ status: 'active' });
    const watchRolledBack = await tl(['ops', 'watch', id]);
    expect(watchRolledBack.code).toBe(2);
    expect(watchRolledBack.stdout).toMatch(/^rolled back by operator: INC-7; 1 restored, 0 skipped$/m);

    const listed = await json<{ operations: { operationId: string; status: string }[] }>(['ops', 'list']);
    expect(listed.operations).toContainEqual(expect.objectContaining({ operationId: id, status: 'rolled-back' }));
  }, 60_000);

  it('--timeout ends a watch of an operation that does not finish with exit 3', async () => {
    await register('cli-11');
    const { id } = await plannedAndApproved('cli-timeout.txt', ['cli-11']);
    const started = Date.now();
    const watch = await tl(['ops', 'watch', id, '--timeout', '1']);
    expect(watch.code).toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(watch.stderr).toContain(`error: timed out after 1 s; operation ${id} is still approved`);
  });

  it("verify --state pins the key, keeps the newest checkpoint, and checks the next run's consistency proof itself", async () => {
    const state = join(dataDir, 'verify-state.json');
    const first = await tl(['verify', '--state', state]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/^trusting the key the service serves: tenant-ledger\+[0-9a-f]{8}\+\S+ /m);
    expect(first.stdout).toContain('every hash chain holds');
    expect(first.stdout).toMatch(/kept the newest checkpoint \(size (\d+)\)/);
    const kept = JSON.parse(readFileSync(state, 'utf8')) as { verifierKey: string; checkpoint: string };
    const served = (await service.call('viewer', 'GET', '/v1/ledger/checkpoint-key')).body as { verifierKey: string };
    expect(kept.verifierKey).toBe(served.verifierKey);
    const size = Number(kept.checkpoint.split('\n')[1]);

    await register('cli-12'); // the log grows between the runs
    const second = await tl(['verify', '--state', state]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toBe(''); // the key is pinned now
    expect(second.stdout).toMatch(
      new RegExp(
        `^checked here: the signed checkpoint \\(size (\\d+)\\) extends the checkpoint kept in ${state} \\(size ${size}\\), by its consistency proof$`,
        'm',
      ),
    );
    expect(second.stdout).toMatch(
      new RegExp(`^the log \\(size (\\d+)\\) extends the checkpoint kept in ${state} \\(size ${size}\\)$`, 'm'),
    );
    const newer = JSON.parse(readFileSync(state, 'utf8')) as { checkpoint: string };
    expect(Number(newer.checkpoint.split('\n')[1])).toBeGreaterThan(size);

    const report = await json<{ ok: boolean; consistent: boolean; client: { consistent: boolean } }>([
      'verify',
      '--state',
      state,
    ]);
    expect(report).toMatchObject({ ok: true, consistent: true, client: { consistent: true } });

    // A checkpoint of another history, signed with the log's own key (a rewrite by whoever holds it), is caught here.
    const signer = loadCheckpointSigner(join(dataDir, 'checkpoint-key.pem'), 'tenant-ledger');
    const forged = join(dataDir, 'forged-state.json');
    const rewritten = signCheckpoint({ origin: 'tenant-ledger', size: 1, rootHash: Buffer.alloc(32, 7) }, signer);
    writeFileSync(forged, JSON.stringify({ verifierKey: kept.verifierKey, checkpoint: rewritten }));
    const caught = await tl(['verify', '--state', forged]);
    expect(caught.code).toBe(1);
    expect(caught.stdout).toMatch(
      /^checked here: .* does NOT extend the checkpoint kept in .*: the consistency proof does not hold$/m,
    );
    expect(caught.stderr).toMatch(/^error: the ledger does not extend the checkpoint kept in .*forged-state\.json/m);

    // A service signing with another key than the one pinned is refused before anything is compared.
    const stranger = join(dataDir, 'stranger-state.json');
    writeFileSync(
      stranger,
      JSON.stringify({ verifierKey: generateNoteKeys('tenant-ledger').verifierKey, checkpoint: rewritten }),
    );
    const refusedKey = await tl(['verify', '--state', stranger]);
    expect(refusedKey.code).toBe(1);
    expect(refusedKey.stderr).toMatch(/^error: note\.unsigned — .*\(the checkpoint the service signs now\)$/m);

    const garbage = join(dataDir, 'garbage.txt');
    writeFileSync(garbage, 'not a checkpoint\n');
    const refused = await tl(['verify', '--state', garbage]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: .*garbage\.txt is not a state file that tenant-ledger verify wrote$/m);
    expect(readFileSync(garbage, 'utf8')).toBe('not a checkpoint\n'); // a refused run keeps nothing

    const fresh = join(dataDir, 'fresh', 'state.json');
    expect((await tl(['verify', '--state', fresh])).code).toBe(1); // its folder does not exist
    expect(existsSync(fresh)).toBe(false);
  });

  it('audit export streams CSV to stdout, with the row count on stderr', async () => {
    const csv = await tl(['audit', 'export', '--format', 'csv', '--type', 'SiteRegistered', '--actor', 'operator']);
    expect(csv.code, csv.stderr).toBe(0);
    const lines = csv.stdout.trimEnd().split('\r\n'); // RFC 4180 rows end with CRLF
    expect(lines[0]).toBe(
      'position,eventId,occurredAt,type,streamId,version,actor,operationId,reason,ticket,correlationId,data,metadata,prevHash,hash',
    );
    const rows = lines.slice(1);
    expect(rows.length).toBeGreaterThanOrEqual(12);
    for (const row of rows) expect(row).toMatch(/^\d+,[0-9a-f-]{36},[^,]+,SiteRegistered,site-[^,]+,1,operator,/);
    expect(csv.stderr).toMatch(new RegExp(`^exported ${rows.length} rows \\(\\d+(\\.\\d)? k?B\\)$`, 'm'));

    const ndjson = await tl(['audit', 'export', '--site-id', 'cli-6']);
    expect(ndjson.code, ndjson.stderr).toBe(0);
    const types = ndjson.stdout
      .trimEnd()
      .split('\n')
      .map((line) => (JSON.parse(line) as { type: string }).type);
    expect(types).toEqual(['SiteRegistered', 'SiteLegalHoldPlaced']);
  });

  it('freezes and resumes purging (admin only); a key repeated replays the first answer', async () => {
    const frozen = await json<{ paused: boolean; version: number }>(['freeze-purges', '--reason', 'INC-7'], 'admin');
    expect(frozen.paused).toBe(true);
    const resumed = await tl(['resume-purges', '--reason', 'INC-7 closed'], 'admin');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/^purging resumed by admin at \S+: INC-7 closed$/m);

    const refused = await tl(['freeze-purges', '--reason', 'not mine'], 'operator');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: auth\.forbidden — /m);

    const key = ['--idempotency-key', `cli-${Date.now()}`];
    const first = await json<{ version: number }>(['freeze-purges', '--reason', 'twice', ...key], 'admin');
    const retried = await json<{ version: number }>(['freeze-purges', '--reason', 'twice', ...key], 'admin');
    expect(retried.version).toBe(first.version);
    const reused = await tl(['resume-purges', '--reason', 'other', ...key], 'admin');
    expect(reused.code).toBe(1);
    expect(reused.stderr).toContain('error: idempotency.key-reused — ');
    expect((await tl(['resume-purges', '--reason', 'done', '--no-idempotency-key'], 'admin')).code).toBe(0);
  });

  it('says plainly when the service cannot be reached, a token is missing, or the command line is wrong', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const down = await tl(['stats'], 'viewer', { LEDGER_URL: closed });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(`error: cannot reach the ledger at ${closed} (connect ECONNREFUSED`);
    expect(down.stderr).toContain('is the service running?');

    const anonymous = await tl(['stats'], null);
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toBe('error: no token: set LEDGER_TOKEN or pass --token\n');

    const badToken = await tl(['stats', '--token', 'wrong']);
    expect(badToken.code).toBe(1);
    expect(badToken.stderr).toMatch(/^error: auth\.\S+ — /m);

    const usage = await tl(['ops', 'plan', '--reason', 'x']);
    expect(usage.code).toBe(1);
    expect(usage.stderr).toContain("required option '--ids-file <file>' not specified");
    const conflicting = await tl(['sites', 'get', 'cli-1', '--as-of', '2026-01-01T00:00:00Z', '--version', '1']);
    expect(conflicting.code).toBe(1);
    const badInput = await tl(['stats', '--as-of', 'yesterday']);
    expect(badInput.code).toBe(1);
    expect(badInput.stderr).toMatch(/^error: request\.invalid — .*\n {2}- asOf: /m);
  });
});
