import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { type EventMetadata, hashEvent } from '../src/event-store/event-envelope.js';
import type { JsonObject } from '../src/common/json.js';
import { generateNoteKeys } from '../src/transparency/signed-note.js';
import { root } from './support/service-process.js';
import { useTestApp } from './support/test-app.js';

/**
 * Issue 12 point 2: anyone can check the ledger without our code. README
 * "Checking it without our code" shows examples/verify-offline.mjs (plain
 * Node, no dependency); this runs it on what the service serves, and on
 * exports and keys a forger changed.
 */
const script = join(root, 'examples', 'verify-offline.mjs');
const run = promisify(execFile);

interface ExportedEvent {
  eventId: string;
  streamId: string;
  version: number;
  type: string;
  data: JsonObject;
  metadata: EventMetadata;
  prevHash: string;
  hash: string;
}

describe('the standalone verifier (examples/verify-offline.mjs)', () => {
  const t = useTestApp();
  const work = mkdtempSync(join(tmpdir(), 'tenant-ledger-offline-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const viewer = (path: string, query: Record<string, string | number> = {}) =>
    t.http().get(path).query(query).set('Authorization', t.auth('viewer'));
  const operator = (method: 'post' | 'put', path: string, body: object) =>
    t
      .http()
      [method](path)
      .set('Authorization', t.auth('operator'))
      .send(body)
      .expect(method === 'post' ? 201 : 200);

  /** Runs the verifier; resolves to its exit code and what it printed. */
  const verify = async (...args: string[]) => {
    try {
      const { stdout } = await run(process.execPath, [script, ...args]);
      return { code: 0, stdout };
    } catch (error) {
      const failed = error as { code: number; stdout: string };
      return { code: failed.code, stdout: failed.stdout };
    }
  };
  const file = (name: string, text: string) => {
    writeFileSync(join(work, name), text);
    return join(work, name);
  };
  const ndjson = (events: readonly ExportedEvent[]) => events.map((event) => `${JSON.stringify(event)}\n`).join('');

  it('is in the README exactly as in examples/verify-offline.mjs', () => {
    const body = readFileSync(script, 'utf8');
    expect(readFileSync(join(root, 'README.md'), 'utf8')).toContain(`\`\`\`js\n${body}\`\`\``);
  });

  it('checks chains from a stored-form export, the checkpoint signature and an inclusion proof; refuses forgeries', async () => {
    await operator('post', '/v1/sites', { siteId: 'audited', customerId: 'c', name: 'Audited shop' });
    await operator('put', '/v1/sites/audited/contacts', {
      contacts: [{ name: 'Kim Lee', email: 'owner@example.com', role: 'owner' }],
    });
    await operator('post', '/v1/sites', { siteId: 'bystander', customerId: 'c', name: 'Other shop' });
    const { verifierKey } = (await viewer('/v1/ledger/checkpoint-key').expect(200)).body as { verifierKey: string };
    const checkpoint = file('checkpoint.txt', (await viewer('/v1/ledger/checkpoint').expect(200)).text);
    const size = Number(readFileSync(checkpoint, 'utf8').split('\n')[1]);

    const exported = async (data: 'stored' | 'opened') => {
      const response = await viewer('/v1/audit/events', { siteId: 'audited', format: 'ndjson', data }).expect(200);
      return response.text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as ExportedEvent);
    };
    const stored = await exported('stored');
    expect(stored.map((event) => event.type)).toEqual(['SiteRegistered', 'SiteContactsUpdated']);
    expect(JSON.stringify(stored)).not.toContain('owner@example.com');
    const changed = stored[1]!;
    const proofOf = async (eventId: string) =>
      file('proof.json', (await viewer('/v1/ledger/proofs/inclusion', { eventId, size }).expect(200)).text);
    const proof = await proofOf(changed.eventId);
    const { index } = JSON.parse(readFileSync(proof, 'utf8')) as { index: number };
    const exportFile = file('audited.ndjson', ndjson(stored));

    const good = await verify(exportFile, checkpoint, verifierKey, proof);
    expect(good.stdout).toBe(
      'chains ok: 2 events in 1 streams\n' +
        `checkpoint ok: tenant-ledger, ${size} events, root ${readFileSync(checkpoint, 'utf8').split('\n')[2]}\n` +
        `inclusion ok: ${changed.eventId} (site-audited version 2) is leaf ${index} of ${size}\n`,
    );
    expect(good.code).toBe(0);

    // The opened form is not what was hashed: its contacts are plaintext.
    const opened = await verify(file('opened.ndjson', ndjson(await exported('opened'))), checkpoint, verifierKey);
    expect(opened).toEqual({ code: 1, stdout: 'FAILED: site-audited version 2: hash does not match\n' });

    // An event edited in the export breaks its hash; a removed one breaks the link after it.
    const edited = stored.map((event, i) => (i === 0 ? { ...event, data: { ...event.data, name: 'Forged' } } : event));
    expect(await verify(file('edited.ndjson', ndjson(edited)), checkpoint, verifierKey)).toEqual({
      code: 1,
      stdout: 'FAILED: site-audited version 1: hash does not match\n',
    });
    expect(await verify(file('gap.ndjson', ndjson(stored.slice(1))), checkpoint, verifierKey)).toMatchObject({
      code: 0, // a stream that starts after version 1 is checked from its first exported event
    });

    // A history rewritten with recomputed hashes holds as a chain, but is not the tree the checkpoint signed.
    const metadata = { ...changed.metadata, actor: 'nobody' };
    const rewritten = { ...changed, metadata, hash: hashEvent(changed.prevHash, { ...changed, metadata }) };
    const rewrittenFile = file('rewritten.ndjson', ndjson([stored[0]!, rewritten]));
    expect(await verify(rewrittenFile, checkpoint, verifierKey, proof)).toEqual({
      code: 1,
      stdout:
        'chains ok: 2 events in 1 streams\n' +
        `checkpoint ok: tenant-ledger, ${size} events, root ${readFileSync(checkpoint, 'utf8').split('\n')[2]}\n` +
        `FAILED: ${changed.eventId} is not in the checkpoint's tree\n`,
    });

    // A checkpoint signed by another key, or changed after signing, is refused.
    const stranger = generateNoteKeys('tenant-ledger').verifierKey;
    expect((await verify(exportFile, checkpoint, stranger)).stdout).toContain(
      'FAILED: the checkpoint is not signed by this key',
    );
    const note = readFileSync(checkpoint, 'utf8').split('\n');
    note[1] = String(size + 1);
    expect((await verify(exportFile, file('bumped.txt', note.join('\n')), verifierKey)).stdout).toContain(
      'FAILED: the checkpoint is not signed by this key',
    );
  });
});
