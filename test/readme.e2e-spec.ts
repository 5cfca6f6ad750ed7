import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shellBlocks } from './support/readme-blocks.js';
import { freePort, root } from './support/service-process.js';

/**
 * README.md's shell blocks, run top to bottom in one bash session as a
 * reader would paste them, against `node dist/main.js` started on an empty
 * data folder: the docs cannot rot. Every call the blocks make to
 * 127.0.0.1:3000 goes through a recording proxy, so the test knows each
 * answer: none may be a 5xx, and the only refusals are the ones the README
 * shows on purpose.
 */
const README = readFileSync(join(root, 'README.md'), 'utf8');
const DOCUMENTED_PORT = '127.0.0.1:3000';

/** The refusals the README demonstrates; any other 4xx means the walk-through no longer works as written. */
const SHOWN_REFUSALS = [
  'DELETE /v1/sites/site-1001 → 405', // deletions go through operations
  'POST /v1/operations → 422', // a plan of installation IDs, refused as a whole
  'POST /v1/operations → 422', // the same mistake through the command line
];

describe('README.md', () => {
  const blocks = shellBlocks(README);
  let work: string;
  let proxy: Server;
  const answers: string[] = [];

  beforeAll(() => {
    // The reader's checkout, as far as the blocks use it: built code, modules,
    // package.json and examples; `data/` starts empty.
    work = mkdtempSync(join(tmpdir(), 'tenant-ledger-readme-'));
    for (const entry of ['dist', 'node_modules', 'package.json', 'examples']) {
      symlinkSync(join(root, entry), join(work, entry));
    }
  });
  afterAll(async () => {
    await new Promise((resolve) => (proxy ? proxy.close(resolve) : resolve(undefined)));
    rmSync(work, { recursive: true, force: true });
  });

  it('marks every block it does not run with a reason', () => {
    const skipped = blocks.filter((block) => block.directive.kind === 'not-run');
    for (const block of skipped) {
      if (block.directive.kind === 'not-run')
        console.log(`README.md:${block.line}: not run: ${block.directive.reason}`);
    }
    expect(blocks.length - skipped.length).toBeGreaterThanOrEqual(4);
  });

  it('runs as written, top to bottom, on a fresh data folder', async () => {
    const servicePort = await freePort();
    proxy = await recordingProxy(servicePort, answers);
    const proxyPort = (proxy.address() as { port: number }).port;

    const script = [
      'set -eu',
      // The service as `npm start` runs it once built; stopped and started again where a block needs the folder.
      'start_service() {',
      '  node dist/main.js >> service.log 2>&1 & SERVICE_PID=$!',
      `  for _ in $(seq 1 200); do curl -sf http://127.0.0.1:${servicePort}/health > /dev/null && return 0; sleep 0.1; done`,
      '  echo "the service did not start:" >&2; cat service.log >&2; return 1',
      '}',
      'stop_service() { kill "$SERVICE_PID" 2> /dev/null || true; wait "$SERVICE_PID" 2> /dev/null || true; }',
      'trap stop_service EXIT',
      'start_service',
      ...blocks
        .filter((block) => block.directive.kind !== 'not-run')
        .flatMap((block) => {
          const code = block.code.replaceAll(DOCUMENTED_PORT, `127.0.0.1:${proxyPort}`);
          const step = [`echo "--- README.md:${block.line}" >&2`, code];
          return block.directive.kind === 'service-stopped' ? ['stop_service', ...step, 'start_service'] : step;
        }),
    ].join('\n');

    const { code, output } = await runBash(script, work, {
      PORT: String(servicePort),
      // `npm run …` without its pre-script (the build): the suite built dist/ already, and others use it meanwhile.
      npm_config_ignore_scripts: 'true',
      // `npx tenant-ledger` links this folder into npm's npx cache: one in the folder leaves nothing behind.
      npm_config_cache: join(work, '.npm'),
    });
    const serviceLog = readFileSync(join(work, 'service.log'), 'utf8');
    const context = `${output}\n--- service log ---\n${serviceLog}`;

    expect(code, context).toBe(0);
    expect(
      answers.filter((answer) => / → 5\d\d$/.test(answer)),
      context,
    ).toEqual([]);
    expect(
      answers.filter((answer) => / → 4\d\d$/.test(answer)),
      `answers: ${answers.join('\n')}\n${context}`,
    ).toEqual(SHOWN_REFUSALS);
    // The walk-throughs made real changes, and the chain still verifies after them.
    expect(answers.filter((answer) => answer.startsWith('POST ')).length).toBeGreaterThan(15);
    expect(output).toContain('"ok":true');
    expect(output).toMatch(/rebuilt the read models from \d+ events/);
    // The offline verifier checked a chain, a signature and an inclusion proof.
    expect(output).toMatch(
      /^chains ok: \d+ events in 1 streams\ncheckpoint ok: .*\ninclusion ok: .* is leaf \d+ of \d+$/m,
    );
  }, 180_000);
});

/** Forwards every request to the service and notes `METHOD /path → status` (no query) for each answer. */
function recordingProxy(servicePort: number, answers: string[]): Promise<Server> {
  const server = createServer((incoming, outgoing) => {
    const upstream = request(
      { host: '127.0.0.1', port: servicePort, method: incoming.method, path: incoming.url, headers: incoming.headers },
      (answer) => {
        answers.push(`${incoming.method} ${(incoming.url ?? '').split('?')[0]} → ${answer.statusCode}`);
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
        // A client that stops reading (curl … | head) ends the stream it asked for.
        outgoing.once('close', () => answer.destroy());
      },
    );
    upstream.once('error', () => outgoing.destroy());
    incoming.pipe(upstream);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** `bash -c script` in `cwd`, in its own process group so that a hung run is killed whole. */
function runBash(
  script: string,
  cwd: string,
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], {
      cwd,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? cwd, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 170_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
