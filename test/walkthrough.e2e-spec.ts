import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresForTests, type TestDatabase } from '../src/testing/postgres.js';
import { freePort, root } from './support/service-process.js';

/**
 * README "Running several instances" shows examples/two-instances.sh from
 * `WORK=` on; this runs the script as a reader would (bash, curl, node
 * dist/main.js twice, kill -9) and checks that the README shows it as it is.
 */
const hasPostgres = await postgresForTests();
const script = join(root, 'examples', 'two-instances.sh');

describe('the two-instance walk-through', () => {
  it('is in the README exactly as in examples/two-instances.sh', () => {
    const body = readFileSync(script, 'utf8').split('\n');
    const shown = body.slice(body.findIndex((line) => line.startsWith('WORK='))).join('\n');
    expect(readFileSync(join(root, 'README.md'), 'utf8')).toContain(`\`\`\`bash\n${shown}\`\`\``);
  });

  describe.skipIf(!hasPostgres)('on PostgreSQL', () => {
    let database: TestDatabase;
    let work: string;
    beforeAll(async () => {
      database = await createTestDatabase();
      work = mkdtempSync(join(tmpdir(), 'tenant-ledger-walkthrough-'));
    });
    afterAll(async () => {
      await database?.drop();
      rmSync(work, { recursive: true, force: true });
    });

    it('runs: b finishes the operation after a is killed', async () => {
      const env = {
        PATH: process.env['PATH'] ?? '',
        WORK: work,
        LEDGER_POSTGRES_URL: database.url,
        PORT_A: String(await freePort()),
        PORT_B: String(await freePort()),
      };
      const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
        const child = spawn('bash', [script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
        let text = '';
        child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
        child.once('error', reject);
        child.once('close', (exit) => resolve({ code: exit, output: text }));
      });
      expect(code, output).toBe(0);
      expect(output).toContain('{"total":3,"byStatus":{"active":3,');
      expect(output).toMatch(/operation op_\S+: completed on b after a was killed/);
      expect(output).toContain('"deleted":3');
    }, 60_000);
  });
});
