import type { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pollUntil } from '../src/testing/poll-until.js';
import { root, spawnScript, startService } from './support/service-process.js';
import { makeDataDir, TOKENS, writeTestTokens } from './support/test-app.js';

/**
 * README "Following the ledger from Node" shows examples/sse-consumer.mjs;
 * this runs it with `node` against the built service, as a reader would.
 */
const script = join(root, 'examples', 'sse-consumer.mjs');

describe('the Node SSE consumer in the README', () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('is in the README exactly as in examples/sse-consumer.mjs', () => {
    const body = readFileSync(script, 'utf8');
    expect(readFileSync(join(root, 'README.md'), 'utf8')).toContain(`\`\`\`js\n${body}\`\`\``);
  });

  it('prints the position, type and stream of every committed event, then of each new one; FROM resumes', async () => {
    const dataDir = makeDataDir();
    dirs.push(dataDir);
    const service = await startService({ LEDGER_DATA_DIR: dataDir, LEDGER_TOKENS_FILE: writeTestTokens(dataDir) });
    children.push(service.child);
    const register = async (siteId: string) => {
      const answer = await service.call('operator', 'POST', '/v1/sites', { siteId, customerId: 'c', name: siteId });
      expect(answer.status).toBe(201);
      return answer.headers.get('Ledger-Position')!;
    };
    const suspended = async (siteId: string) => {
      const answer = await service.call('operator', 'POST', `/v1/sites/${siteId}/suspend`, { reason: 'test' });
      expect(answer.status).toBe(200);
      return answer.headers.get('Ledger-Position')!;
    };
    const first = await register('feed-1');
    const second = await register('feed-2');
    const env = { API: `${service.base}/v1`, VIEW: TOKENS.viewer };
    const lines = (output: () => string) => output().split('\n').filter(Boolean);
    const waitForLines = (consumer: ReturnType<typeof spawnScript>, n: number) =>
      pollUntil(() => lines(consumer.output).length >= n || consumer.child.exitCode !== null, {
        what: `${n} lines from the consumer`,
        timeoutMs: 10_000,
        show: () => consumer.output(),
      });

    const consumer = spawnScript(script, env);
    children.push(consumer.child);
    await waitForLines(consumer, 2);
    const third = await suspended('feed-1'); // live, after the consumer caught up
    await waitForLines(consumer, 3);
    expect(lines(consumer.output)).toEqual([
      `${first} SiteRegistered site-feed-1`,
      `${second} SiteRegistered site-feed-2`,
      `${third} SiteSuspended site-feed-1`,
    ]);

    const resumed = spawnScript(script, { ...env, FROM: second });
    children.push(resumed.child);
    await waitForLines(resumed, 1);
    expect(lines(resumed.output)).toEqual([`${third} SiteSuspended site-feed-1`]);
  });
});
