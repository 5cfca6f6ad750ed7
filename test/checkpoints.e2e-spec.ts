import { describe, expect, it } from 'vitest';
import { hashEvent, type StoredEvent } from '../src/event-store/event-envelope.js';
import { RetentionSweeper } from '../src/retention/retention-sweeper.js';
import { loadCheckpointSigner } from '../src/transparency-log/checkpoint-key.js';
import { type Checkpoint, openCheckpoint, signCheckpoint } from '../src/transparency/checkpoint.js';
import { leafHashOf } from '../src/transparency/leaf.js';
import { EMPTY_ROOT, verifyConsistency, verifyInclusion } from '../src/transparency/merkle.js';
import { generateNoteKeys, parseSignerKey, parseVerifierKey } from '../src/transparency/signed-note.js';
import { approve, planDeletion, registerSites, runAllWaves } from './support/operations.js';
import { tampererOf } from './support/tamper.js';
import { TEST_CHECKPOINT_KEY, useTestApp } from './support/test-app.js';

const DAY = 86_400_000;
const fromBase64 = (text: string): Buffer => Buffer.from(text, 'base64');

/**
 * Issue 12 point 1, as a client uses it: keep a signed checkpoint, check
 * proofs against it, and later ask whether the log still extends it.
 */
describe('checkpoints and proofs (transparency log)', () => {
  const t = useTestApp();

  const viewer = (path: string, query: Record<string, string | number> = {}) =>
    t.http().get(path).query(query).set('Authorization', t.auth('viewer'));
  const register = (siteId: string) =>
    t
      .http()
      .post('/v1/sites')
      .set('Authorization', t.auth('operator'))
      .send({ siteId, customerId: 'c', name: siteId })
      .expect(201);
  const suspend = (siteId: string) =>
    t
      .http()
      .post(`/v1/sites/${siteId}/suspend`)
      .set('Authorization', t.auth('operator'))
      .send({ reason: 'x' })
      .expect(200);

  /** The served key, fetched once as a client would. */
  const verifierOf = async () => {
    const key = (await viewer('/v1/ledger/checkpoint-key').expect(200)).body as { origin: string; verifierKey: string };
    return { origin: key.origin, verifier: parseVerifierKey(key.verifierKey) };
  };
  /** The latest checkpoint as a client keeps it: the note, and what it says once verified. */
  const checkpoint = async (): Promise<{ note: string; opened: Checkpoint }> => {
    const response = await viewer('/v1/ledger/checkpoint').expect(200);
    expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
    const { origin, verifier } = await verifierOf();
    return { note: response.text, opened: openCheckpoint(response.text, verifier, origin) };
  };
  const verifyWith = async (note: string) => (await viewer('/v1/ledger/verify', { checkpoint: note }).expect(200)).body;

  it('signs a checkpoint of the empty log with the served key and origin', async () => {
    const { note, opened } = await checkpoint();
    expect(opened).toMatchObject({ origin: 'tenant-ledger', size: 0 });
    expect(opened.rootHash.equals(EMPTY_ROOT)).toBe(true);
    expect(note.split('\n').slice(0, 3)).toEqual(['tenant-ledger', '0', EMPTY_ROOT.toString('base64')]);
    expect(note).toMatch(/\n\n\u2014 tenant-ledger [A-Za-z0-9+/]+=*\n$/);
  });

  it('a checkpoint covers every ledger event; an inclusion proof of each verifies against it, by event id and by index', async () => {
    await register('a');
    await register('b');
    await suspend('a');
    const events = await t.allEvents();
    const { opened } = await checkpoint();
    expect(opened.size).toBe(events.length);
    for (const [index, event] of events.entries()) {
      const byId = (
        await viewer('/v1/ledger/proofs/inclusion', { eventId: event.eventId, size: opened.size }).expect(200)
      ).body;
      expect(byId).toMatchObject({
        index,
        size: 3,
        eventId: event.eventId,
        streamId: event.streamId,
        version: event.version,
      });
      // The client recomputes the leaf from the stored event: the served leafHash is not taken on trust.
      expect(fromBase64(byId.leafHash).equals(leafHashOf(event))).toBe(true);
      const claim = { index, size: opened.size, leafHash: leafHashOf(event), root: opened.rootHash };
      expect(verifyInclusion({ ...claim, proof: byId.proof.map(fromBase64) })).toBe(true);
      const byIndex = (await viewer('/v1/ledger/proofs/inclusion', { index, size: opened.size }).expect(200)).body;
      expect(byIndex).toEqual(byId);
      // The same path does not prove another leaf at this index.
      const other = leafHashOf({ ...event, version: event.version + 1 });
      expect(verifyInclusion({ ...claim, leafHash: other, proof: byId.proof.map(fromBase64) })).toBe(false);
    }
  });

  it('a consistency proof between two saved checkpoints verifies, and an older proof still verifies against its checkpoint', async () => {
    await register('a');
    await register('b');
    const first = (await checkpoint()).opened;
    const firstEvent = (await t.allEvents())[0]!;
    for (const id of ['c', 'd', 'e', 'f', 'g']) await register(id);
    await suspend('c');
    const second = (await checkpoint()).opened;
    expect([first.size, second.size]).toEqual([2, 8]);
    const { body } = await viewer('/v1/ledger/proofs/consistency', { from: first.size, to: second.size }).expect(200);
    expect(body.from).toBe(2);
    expect(body.to).toBe(8);
    const claim = { oldSize: first.size, newSize: second.size, oldRoot: first.rootHash, newRoot: second.rootHash };
    expect(verifyConsistency({ ...claim, proof: body.proof.map(fromBase64) })).toBe(true);
    expect(verifyConsistency({ ...claim, oldRoot: second.rootHash, proof: body.proof.map(fromBase64) })).toBe(false);
    // `to` defaults to the current size.
    expect((await viewer('/v1/ledger/proofs/consistency', { from: 2 }).expect(200)).body).toEqual(body);
    // A proof for the old size, taken now, still verifies against the old checkpoint.
    const old = (await viewer('/v1/ledger/proofs/inclusion', { eventId: firstEvent.eventId, size: 2 }).expect(200))
      .body;
    expect(
      verifyInclusion({
        index: 0,
        size: 2,
        leafHash: leafHashOf(firstEvent),
        proof: old.proof.map(fromBase64),
        root: first.rootHash,
      }),
    ).toBe(true);
  });

  it('verify?checkpoint= is ok after more commands, with a consistency proof the client checks itself', async () => {
    await register('a');
    const kept = await checkpoint();
    await register('b');
    await suspend('a');
    const report = await verifyWith(kept.note);
    const current = (await checkpoint()).opened;
    expect(report).toEqual({
      ok: true,
      streams: 2,
      events: 3,
      lastPosition: expect.any(String),
      checkpoint: { size: 1, root: kept.opened.rootHash.toString('base64') },
      current: { size: 3, root: current.rootHash.toString('base64') },
      consistent: true,
      consistencyProof: expect.any(Array),
    });
    expect(
      verifyConsistency({
        oldSize: 1,
        newSize: 3,
        oldRoot: kept.opened.rootHash,
        newRoot: current.rootHash,
        proof: report.consistencyProof.map(fromBase64),
      }),
    ).toBe(true);
    // The latest checkpoint itself, and the empty one, are extended too.
    expect(await verifyWith((await checkpoint()).note)).toMatchObject({
      ok: true,
      consistent: true,
      consistencyProof: [],
    });
  });

  it('a history rewritten with recomputed hashes down its stream passes the chain check, and is caught against a saved checkpoint', async () => {
    await register('a');
    await suspend('a');
    await t
      .http()
      .post('/v1/sites/a/reactivate')
      .set('Authorization', t.auth('operator'))
      .send({ reason: 'y' })
      .expect(200);
    await register('b');
    const kept = await checkpoint();
    await register('c');
    const events = await t.allEvents();
    const [, suspended, reactivated] = events;
    // The forger rewrites who suspended site a, recomputes that event's hash and re-links the next one.
    const metadata = { ...suspended!.metadata, actor: 'nobody' };
    const forgedHash = hashEvent(suspended!.prevHash, { ...suspended!, metadata });
    await tampererOf(t.config).forge(suspended!.eventId, metadata, forgedHash);
    const relinked = hashEvent(forgedHash, reactivated!);
    await tampererOf(t.config).relink(reactivated!.eventId, forgedHash, relinked);

    // Every stream's chain holds: alone, the chain check misses it.
    expect((await viewer('/v1/ledger/verify').expect(200)).body).toMatchObject({ ok: true, events: 5 });
    const report = await verifyWith(kept.note);
    expect(report).toMatchObject({
      ok: false,
      consistent: false,
      events: 5,
      checkpoint: { size: 4, root: kept.opened.rootHash.toString('base64') },
      current: { size: 5 },
      divergesAt: { index: 1, reason: 'changed', eventId: suspended!.eventId, streamId: 'site-a', version: 2 },
    });
    expect(report.brokenAt).toBeUndefined();
  });

  it('a removed last event is caught against a saved checkpoint that holds it, and named', async () => {
    await register('a');
    await register('b');
    await suspend('b');
    const kept = await checkpoint();
    const last = (await t.allEvents()).at(-1)!;
    await tampererOf(t.config).remove(last.eventId);

    // The chain check cannot see a stream's newest event gone.
    expect((await viewer('/v1/ledger/verify').expect(200)).body).toMatchObject({ ok: true, events: 2 });
    const report = await verifyWith(kept.note);
    expect(report).toMatchObject({
      ok: false,
      consistent: false,
      checkpoint: { size: 3 },
      current: { size: 2 },
      divergesAt: { index: 2, reason: 'missing', eventId: last.eventId, streamId: 'site-b', version: 2 },
    });
    expect(report.consistencyProof).toBeUndefined();
  });

  it('a removed event replaced by a new one at the same place is caught too', async () => {
    await register('a');
    await register('b');
    const kept = await checkpoint();
    const last = (await t.allEvents()).at(-1)!;
    await tampererOf(t.config).remove(last.eventId);
    await register('c'); // the log is as long as the checkpoint again
    const report = await verifyWith(kept.note);
    expect(report).toMatchObject({ ok: false, consistent: false, current: { size: 2 } });
  });

  it('a purge (crypto-shredding) never breaks a proof: leaves are the stored, sealed events', async () => {
    await registerSites(t, ['p1'], { retention: 'P7D' }); // with contacts, sealed under p1's key
    const operation = await planDeletion(t, ['p1']);
    await approve(t, operation).expect(200);
    await runAllWaves(t, operation);
    const kept = await checkpoint();
    const before: StoredEvent[] = await t.allEvents();
    t.clock.advance(7 * DAY + 60_000);
    expect((await t.app.get(RetentionSweeper).sweep()).purged).toEqual(['p1']);

    const report = await verifyWith(kept.note);
    expect(report).toMatchObject({ ok: true, consistent: true });
    const after = (await checkpoint()).opened;
    const stored = await t.allEvents();
    for (const [index, event] of before.entries()) {
      expect(leafHashOf(stored[index]!).equals(leafHashOf(event))).toBe(true);
      const proof = (await viewer('/v1/ledger/proofs/inclusion', { index, size: after.size }).expect(200)).body;
      expect(
        verifyInclusion({
          index,
          size: after.size,
          leafHash: leafHashOf(event),
          proof: proof.proof.map(fromBase64),
          root: after.rootHash,
        }),
      ).toBe(true);
    }
  });

  it('refuses a checkpoint signed by another key, of another origin, or malformed: 400 problem+json', async () => {
    await register('a');
    const { note, opened } = await checkpoint();
    const impostor = parseSignerKey(generateNoteKeys('tenant-ledger').signerKey);
    const cases: [string, string][] = [
      [signCheckpoint(opened, impostor), 'note.unsigned'],
      [note.replace('\n1\n', '\n2\n'), 'note.signature-invalid'],
      ['not a checkpoint', 'note.malformed'],
    ];
    for (const [text, code] of cases) {
      const response = await viewer('/v1/ledger/verify', { checkpoint: text }).expect(400);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.body).toMatchObject({ status: 400, code });
    }
    // Signed by the log's own key (the test apps share a fixed one) for another log.
    const ours = loadCheckpointSigner(TEST_CHECKPOINT_KEY, 'tenant-ledger');
    const otherLog = signCheckpoint({ ...opened, origin: 'other.example/log' }, ours);
    expect((await viewer('/v1/ledger/verify', { checkpoint: otherLog }).expect(400)).body.code).toBe(
      'checkpoint.wrong-origin',
    );
    expect((await viewer('/v1/ledger/verify', { checkpoint: 'x'.repeat(9000) }).expect(400)).body.code).toBe(
      'request.invalid',
    );
  });

  it('a checkpoint larger than the log (a truncated log, or another log) answers not ok, never an error', async () => {
    await register('a');
    await register('b');
    const kept = await checkpoint();
    await tampererOf(t.config).remove((await t.allEvents())[1]!.eventId);
    await tampererOf(t.config).remove((await t.allEvents())[0]!.eventId);
    expect(await verifyWith(kept.note)).toMatchObject({
      ok: false,
      consistent: false,
      events: 0,
      current: { size: 0, root: EMPTY_ROOT.toString('base64') },
      divergesAt: { index: 0, reason: 'missing' },
    });
  });

  it('answers bad proof requests with 400 and sizes beyond the tree with 404, as problem+json', async () => {
    await register('a');
    await register('b');
    const problem = async (path: string, query: Record<string, string | number>, status: number, code: string) => {
      const response = await viewer(path, query).expect(status);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.body.code).toBe(code);
    };
    const inclusion = '/v1/ledger/proofs/inclusion';
    await problem(inclusion, {}, 400, 'request.invalid');
    await problem(inclusion, { index: 0, eventId: '6f1c2a9e-3b7d-4c1e-9a2b-5d8e7f6a4b3c' }, 400, 'request.invalid');
    await problem(inclusion, { index: -1 }, 400, 'request.invalid');
    await problem(inclusion, { index: 'one' }, 400, 'request.invalid');
    await problem(inclusion, { index: '99999999999999999999' }, 400, 'request.invalid');
    await problem(inclusion, { eventId: 'nope' }, 400, 'request.invalid');
    await problem(inclusion, { index: 1, size: 1 }, 400, 'proof.not-in-tree');
    await problem(inclusion, { index: 2 }, 400, 'proof.not-in-tree');
    await problem(inclusion, { index: 0, size: 3 }, 404, 'proof.beyond-tree');
    await problem(inclusion, { eventId: '6f1c2a9e-3b7d-4c1e-9a2b-5d8e7f6a4b3c' }, 404, 'proof.unknown-event');
    const consistency = '/v1/ledger/proofs/consistency';
    await problem(consistency, {}, 400, 'request.invalid');
    await problem(consistency, { from: 2, to: 1 }, 400, 'proof.invalid-range');
    await problem(consistency, { from: 1, to: 3 }, 404, 'proof.beyond-tree');
    await problem(consistency, { from: 1, to: 2, extra: 1 }, 400, 'request.invalid');
    expect((await viewer(consistency, { from: 0, to: 0 }).expect(200)).body).toEqual({ from: 0, to: 0, proof: [] });
  });

  it('needs a token, and every route is in the OpenAPI document with its answers', async () => {
    for (const path of [
      '/v1/ledger/checkpoint',
      '/v1/ledger/checkpoint-key',
      '/v1/ledger/proofs/inclusion',
      '/v1/ledger/proofs/consistency',
    ]) {
      await t.http().get(path).expect(401);
    }
    const document = (await t.http().get('/docs-json').expect(200)).body;
    const get = (path: string) => document.paths[path].get;
    expect(Object.keys(get('/v1/ledger/checkpoint').responses['200'].content)).toEqual(['text/plain']);
    expect(Object.keys(get('/v1/ledger/checkpoint').responses['401'].content)).toEqual(['application/problem+json']);
    const answers = ['200', '400', '401', '403', '413', '415', '503'];
    expect(Object.keys(get('/v1/ledger/checkpoint').responses).sort()).toEqual(answers);
    expect(Object.keys(get('/v1/ledger/checkpoint-key').responses).sort()).toEqual(answers);
    expect(Object.keys(get('/v1/ledger/proofs/inclusion').responses).sort()).toEqual([...answers, '404'].sort());
    expect(Object.keys(get('/v1/ledger/proofs/consistency').responses).sort()).toEqual([...answers, '404'].sort());
    expect(
      get('/v1/ledger/proofs/inclusion')
        .parameters.map((p: { name: string }) => p.name)
        .sort(),
    ).toEqual(['eventId', 'index', 'size']);
    expect(get('/v1/ledger/verify').parameters.map((p: { name: string }) => p.name)).toEqual(['checkpoint']);
    expect(Object.keys(get('/v1/ledger/verify').responses).sort()).toEqual(answers);
  });
});
