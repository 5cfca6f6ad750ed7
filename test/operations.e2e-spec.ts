import { describe, expect, it } from 'vitest';
import { listen, StreamClient } from './support/stream-client.js';
import { useTestApp } from './support/test-app.js';
import {
  approve,
  continueUntilCompleted,
  getOperation,
  planDeletion,
  registerSites,
  runAllWaves,
  siteIdsFor,
  waitForStatus,
} from './support/operations.js';

describe('deletion operations', () => {
  const t = useTestApp();

  const site = (siteId: string) => t.http().get(`/v1/sites/${siteId}`).set('Authorization', t.auth('viewer'));

  it('a plan of product installation IDs is rejected in full (422), recorded with the requester and every problem', async () => {
    const ids = siteIdsFor('shop', 4);
    await registerSites(t, ids);
    const before = (await t.allEvents()).length;
    const installationIds = ids.map((id) => `app-${id}-0`);
    const response = await t
      .http()
      .post('/v1/operations')
      .set('Authorization', t.auth('operator'))
      .send({ action: 'soft-delete', siteIds: installationIds, reason: 'remove app installs' })
      .expect(422);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({
      status: 422,
      code: 'operation.rejected',
      operationId: expect.stringMatching(/^op_/),
    });
    expect(response.body.errors).toHaveLength(4);
    for (const [i, error] of response.body.errors.entries()) {
      expect(error).toMatchObject({ id: installationIds[i], problem: 'not-a-site' });
      expect(error.detail).toContain(ids[i]);
    }
    const events = await t.allEvents();
    expect(events.length).toBe(before + 1);
    expect(events.at(-1)).toMatchObject({
      type: 'OperationRejected',
      streamId: `operation-${response.body.operationId}`,
      metadata: { actor: 'operator' },
      data: { requestedBy: 'operator', siteIds: installationIds },
    });
    const recorded = await getOperation(t, response.body.operationId);
    expect(recorded).toMatchObject({ status: 'rejected', problems: expect.any(Array) });
    // Nothing was deleted.
    for (const id of ids) expect((await site(id).expect(200)).body.status).toBe('active');
  });

  it('rejects unknown, duplicate, protected, held, already-deleted IDs, all at once', async () => {
    await registerSites(t, ['a', 'b', 'c', 'd']);
    await t
      .http()
      .put('/v1/sites/b/deletion-protection')
      .set('Authorization', t.auth('operator'))
      .send({ enabled: true, reason: 'vip' })
      .expect(200);
    await t
      .http()
      .put('/v1/sites/c/legal-hold')
      .set('Authorization', t.auth('admin'))
      .send({ reason: 'court', reference: 'LH-1' })
      .expect(200);
    const first = await planDeletion(t, ['d']);
    await approve(t, first).expect(200);
    await runAllWaves(t, first);
    const response = await t
      .http()
      .post('/v1/operations')
      .set('Authorization', t.auth('operator'))
      .send({ action: 'soft-delete', siteIds: ['a', 'ghost', 'a', 'b', 'c', 'd'], reason: 'r' })
      .expect(422);
    expect(response.body.errors.map((e: { id: string; problem: string }) => `${e.id}:${e.problem}`)).toEqual([
      'ghost:unknown-id',
      'a:duplicate-id',
      'b:deletion-protected',
      'c:legal-hold',
      'd:already-deleted',
    ]);
  });

  it('rejects an unsupported action, an empty list and too many targets (422), and bad IDs (400)', async () => {
    await registerSites(t, ['a']);
    const post = (body: object) => t.http().post('/v1/operations').set('Authorization', t.auth('operator')).send(body);
    expect((await post({ action: 'purge', siteIds: ['a'], reason: 'r' }).expect(422)).body.errors[0].problem).toBe(
      'unsupported-action',
    );
    expect((await post({ action: 'soft-delete', siteIds: [], reason: 'r' }).expect(422)).body.errors[0].problem).toBe(
      'no-targets',
    );
    const many = Array.from({ length: 1001 }, (_, i) => `x${i}`);
    const tooMany = await post({ action: 'soft-delete', siteIds: many, reason: 'r' }).expect(422);
    expect(tooMany.body.errors[0].problem).toBe('too-many-targets');
    const bad = await post({ action: 'soft-delete', siteIds: ['a b'], reason: 'r' }).expect(400);
    expect(bad.body.errors[0].field).toBe('siteIds');
    await post({ action: 'soft-delete', siteIds: ['a'] }).expect(400);
    await t
      .http()
      .post('/v1/operations')
      .set('Authorization', t.auth('viewer'))
      .send({ action: 'soft-delete', siteIds: ['a'], reason: 'r' })
      .expect(403);
  });

  it('approvals: not by the requester (403), not twice (409), only with the right digest (409), approver role only', async () => {
    const ids = siteIdsFor('s', 11);
    await registerSites(t, ids);
    const operation = await planDeletion(t, ids);
    expect(operation.requiredApprovals).toBe(2);
    const self = await t
      .http()
      .post(`/v1/operations/${operation.operationId}/approve`)
      .set('Authorization', t.auth('admin'))
      .send({ digest: operation.digest });
    expect(self.status).toBe(200); // admin is not the requester (operator): allowed
    const byRequester = await approve(t, operation, 'operator').expect(403);
    expect(byRequester.body.code).toMatch(/^(auth\.forbidden|operation\.self-approval)$/);
    const twice = await approve(t, operation, 'admin').expect(409);
    expect(twice.body.code).toBe('operation.duplicate-approval');
    const wrong = await t
      .http()
      .post(`/v1/operations/${operation.operationId}/approve`)
      .set('Authorization', t.auth('approver'))
      .send({ digest: `sha256:${'a'.repeat(64)}` })
      .expect(409);
    expect(wrong.body.code).toBe('operation.digest-mismatch');
  });

  it('self-approval is refused even for a principal holding the approver role', async () => {
    await registerSites(t, ['a']);
    const operation = await planDeletion(t, ['a'], 'admin');
    const response = await approve(t, operation, 'admin').expect(403);
    expect(response.body.code).toBe('operation.self-approval');
  });

  it('execute before enough approvals is refused (409) and deletes nothing', async () => {
    const ids = siteIdsFor('s', 11);
    await registerSites(t, ids);
    const operation = await planDeletion(t, ids);
    const execute = () =>
      t
        .http()
        .post(`/v1/operations/${operation.operationId}/execute`)
        .set('Authorization', t.auth('operator'))
        .send({ digest: operation.digest });
    expect((await execute().expect(409)).body.code).toBe('operation.approvals-missing');
    await approve(t, operation, 'approver').expect(200);
    expect((await execute().expect(409)).body.code).toBe('operation.approvals-missing');
    expect((await t.allEvents()).filter((event) => event.type === 'SiteSoftDeleted')).toHaveLength(0);
    await approve(t, operation, 'approver2').expect(200);
    await execute().expect(202);
    await waitForStatus(t, operation.operationId, 'paused');
  });

  it('runs internal sites first, then waves of 5, 10, 20…, pausing after each until continue', async () => {
    const ids = siteIdsFor('w', 38);
    await registerSites(t, ids, { internal: 3 });
    const operation = await planDeletion(t, ids);
    expect(operation.waves.map((wave) => [wave.kind, wave.siteIds.length])).toEqual([
      ['internal', 3],
      ['canary', 5],
      ['customer', 10],
      ['customer', 20],
    ]);
    expect(operation.requiredApprovals).toBe(2);
    await approve(t, operation, 'approver').expect(200);
    await approve(t, operation, 'approver2').expect(200);
    await t
      .http()
      .post(`/v1/operations/${operation.operationId}/execute`)
      .set('Authorization', t.auth('operator'))
      .send({ digest: operation.digest })
      .expect(202);
    const afterFirst = await waitForStatus(t, operation.operationId, 'paused');
    expect(afterFirst.waves.map((wave) => wave.status)).toEqual(['completed', 'pending', 'pending', 'pending']);
    expect(afterFirst.progress).toEqual({ deleted: 3, skipped: 0, restored: 0, total: 38 });
    // Only the internal sites are deleted so far.
    expect((await site(ids[0]!).expect(200)).body.status).toBe('deleted');
    expect((await site(ids[3]!).expect(200)).body.status).toBe('active');
    const done = await continueUntilCompleted(t, operation.operationId);
    expect(done.status).toBe('completed');
    expect(done.progress).toEqual({ deleted: 38, skipped: 0, restored: 0, total: 38 });
    const deletions = (await t.allEvents()).filter((event) => event.type === 'SiteSoftDeleted');
    expect(deletions).toHaveLength(38);
    expect(new Set(deletions.map((event) => event.streamId)).size).toBe(38);
    for (const event of deletions) {
      expect(event.metadata).toMatchObject({
        operationId: operation.operationId,
        actor: 'operator',
        reason: 'test deletion',
        ticket: 'OPS-1',
      });
    }
    const deleted = (await site(ids[37]!).expect(200)).body;
    expect(deleted).toMatchObject({ status: 'deleted', deletedAt: expect.any(String), purgeAfter: expect.any(String) });
    expect(new Date(deleted.purgeAfter).getTime() - new Date(deleted.deletedAt).getTime()).toBe(30 * 86_400_000);
  });

  it('each wave says when it started and ended and who set it going; lastPosition is where a watcher subscribes', async () => {
    const ids = siteIdsFor('v', 4);
    await registerSites(t, ids, { internal: 1 });
    const operation = await planDeletion(t, ids);
    const planned = (await t.allEvents()).at(-1)!;
    expect(operation.lastPosition).toBe(planned.position);
    expect(operation.waves.map(({ startedAt, endedAt, continuedBy }) => ({ startedAt, endedAt, continuedBy }))).toEqual(
      [
        { startedAt: null, endedAt: null, continuedBy: null },
        { startedAt: null, endedAt: null, continuedBy: null },
      ],
    );
    await approve(t, operation).expect(200);
    const executed = await t
      .http()
      .post(`/v1/operations/${operation.operationId}/execute`)
      .set('Authorization', t.auth('operator'))
      .send({ digest: operation.digest })
      .expect(202);
    const started = (await t.allEvents()).find((event) => event.type === 'OperationExecutionStarted')!;
    expect(executed.body.lastPosition).toBe(started.position);
    expect(executed.body.waves[0]).toMatchObject({ startedAt: started.metadata.occurredAt, continuedBy: 'operator' });

    const paused = await waitForStatus(t, operation.operationId, 'paused');
    const firstEnd = (await t.allEvents()).find((event) => event.type === 'OperationWaveCompleted')!;
    expect(paused.lastPosition).toBe(firstEnd.position);
    expect(paused.waves.map(({ startedAt, endedAt, continuedBy }) => ({ startedAt, endedAt, continuedBy }))).toEqual([
      { startedAt: started.metadata.occurredAt, endedAt: firstEnd.metadata.occurredAt, continuedBy: 'operator' },
      { startedAt: null, endedAt: null, continuedBy: null },
    ]);

    // A watcher subscribes from the operation's lastPosition, filtered to it, then someone else continues it.
    const base = await listen(t);
    const watcher = await StreamClient.open(
      `${base}/v1/events/stream?from=${paused.lastPosition}&operationId=${operation.operationId}`,
      { Authorization: t.auth('viewer') },
    );
    try {
      await t
        .http()
        .post(`/v1/operations/${operation.operationId}/continue`)
        .set('Authorization', t.auth('admin'))
        .send({})
        .expect(202);
      const done = await waitForStatus(t, operation.operationId, 'completed');
      const all = await t.allEvents();
      const after = all.slice(all.findIndex((event) => event.position === paused.lastPosition) + 1);
      expect(after.map((event) => event.type)).toEqual([
        'OperationContinued',
        'SiteSoftDeleted',
        'SiteSoftDeleted',
        'SiteSoftDeleted',
        'OperationWaveCompleted',
        'OperationCompleted',
      ]);
      await watcher.until(() => watcher.events().length >= after.length, 10_000, 'the second wave');
      expect(watcher.events().map((frame) => frame.id)).toEqual(after.map((event) => event.position));
      expect(done.lastPosition).toBe(after.at(-1)!.position);
      const [continued, secondEnd] = [after[0]!, after[4]!];
      expect(done.waves[1]).toMatchObject({
        status: 'completed',
        startedAt: continued.metadata.occurredAt,
        endedAt: secondEnd.metadata.occurredAt,
        continuedBy: 'admin',
      });
    } finally {
      watcher.close();
    }
  });

  it('re-checks each site when its wave runs: one protected meanwhile is skipped and reported', async () => {
    const ids = siteIdsFor('r', 6);
    await registerSites(t, ids);
    const operation = await planDeletion(t, ids);
    await approve(t, operation).expect(200);
    await t
      .http()
      .put(`/v1/sites/${ids[2]}/deletion-protection`)
      .set('Authorization', t.auth('operator'))
      .send({ enabled: true, reason: 'late save' })
      .expect(200);
    await t
      .http()
      .put(`/v1/sites/${ids[4]}/legal-hold`)
      .set('Authorization', t.auth('admin'))
      .send({ reason: 'court', reference: 'LH-9' })
      .expect(200);
    const done = await runAllWaves(t, operation);
    expect(done.progress).toMatchObject({ deleted: 4, skipped: 2 });
    // No internal sites: the canary (wave 1) holds the first five.
    expect(done.waves[0]!.skipped).toEqual([
      { siteId: ids[2], reason: 'site.deletion-protected' },
      { siteId: ids[4], reason: 'site.legal-hold' },
    ]);
    expect((await site(ids[2]!).expect(200)).body.status).toBe('active');
    expect((await site(ids[4]!).expect(200)).body.status).toBe('active');
  });

  it('abort stops further waves', async () => {
    const ids = siteIdsFor('a', 12);
    await registerSites(t, ids);
    const operation = await planDeletion(t, ids);
    await approve(t, operation, 'approver').expect(200);
    await approve(t, operation, 'approver2').expect(200);
    await t
      .http()
      .post(`/v1/operations/${operation.operationId}/execute`)
      .set('Authorization', t.auth('operator'))
      .send({ digest: operation.digest })
      .expect(202);
    await waitForStatus(t, operation.operationId, 'paused');
    const aborted = await t
      .http()
      .post(`/v1/operations/${operation.operationId}/abort`)
      .set('Authorization', t.auth('operator'))
      .send({ reason: 'wrong list' })
      .expect(200);
    expect(aborted.body).toMatchObject({ status: 'aborted', abort: { abortedBy: 'operator', reason: 'wrong list' } });
    expect(aborted.body.waves.map((wave: { status: string }) => wave.status)).toEqual(['completed', 'cancelled']);
    const refused = await t
      .http()
      .post(`/v1/operations/${operation.operationId}/continue`)
      .set('Authorization', t.auth('operator'))
      .send({})
      .expect(409);
    expect(refused.body.code).toBe('operation.not-paused');
    expect((await t.allEvents()).filter((event) => event.type === 'SiteSoftDeleted')).toHaveLength(5);
  });

  it('rolls back a completed operation: every site restored with a compensating event; repeat restores nothing; dryRun reports only', async () => {
    const ids = siteIdsFor('b', 9);
    await registerSites(t, ids, { internal: 2 });
    await t
      .http()
      .post(`/v1/sites/${ids[5]}/suspend`)
      .set('Authorization', t.auth('operator'))
      .send({ reason: 'unpaid' })
      .expect(200);
    const operation = await planDeletion(t, ids);
    await approve(t, operation).expect(200);
    await runAllWaves(t, operation);
    const rollback = (body: object) =>
      t
        .http()
        .post(`/v1/operations/${operation.operationId}/rollback`)
        .set('Authorization', t.auth('operator'))
        .send(body);

    const dry = await rollback({ reason: 'check', dryRun: true }).expect(200);
    expect(dry.body).toMatchObject({ dryRun: true, restored: ids, skipped: [] });
    expect((await site(ids[0]!).expect(200)).body.status).toBe('deleted');

    const real = await rollback({ reason: 'wrong list' }).expect(200);
    expect(real.body).toMatchObject({
      dryRun: false,
      restored: ids,
      skipped: [],
      operation: { status: 'rolled-back', progress: { restored: 9 } },
    });
    for (const id of ids) {
      const state = (await site(id).expect(200)).body;
      expect(state.status).toBe(id === ids[5] ? 'suspended' : 'active');
      expect(state.deletedAt).toBeNull();
    }
    const events = await t.allEvents();
    const deletedBy = new Map(events.filter((e) => e.type === 'SiteSoftDeleted').map((e) => [e.streamId, e.eventId]));
    const restores = events.filter((e) => e.type === 'SiteRestored');
    expect(restores).toHaveLength(9);
    for (const restore of restores) {
      expect(restore.data['compensates']).toBe(deletedBy.get(restore.streamId));
      expect(restore.metadata).toMatchObject({
        compensates: deletedBy.get(restore.streamId),
        actor: 'operator',
        reason: 'wrong list',
      });
    }

    const again = await rollback({ reason: 'again' }).expect(200);
    expect(again.body.restored).toEqual([]);
    expect(again.body.skipped).toHaveLength(9);
    expect((await t.allEvents()).filter((e) => e.type === 'SiteRestored')).toHaveLength(9);
    // It restored nothing, so it recorded nothing (issue 12: 16 concurrent rollbacks once recorded 16).
    expect((await t.allEvents()).filter((e) => e.type === 'OperationRolledBack')).toHaveLength(1);
  });

  it('rollback of an operation that never ran is refused (409)', async () => {
    await registerSites(t, ['a']);
    const operation = await planDeletion(t, ['a']);
    const response = await t
      .http()
      .post(`/v1/operations/${operation.operationId}/rollback`)
      .set('Authorization', t.auth('operator'))
      .send({ reason: 'x' })
      .expect(409);
    expect(response.body.code).toBe('operation.not-executed');
  });

  it('an operation of 883 sites runs through all its waves and a rollback restores all of them', async () => {
    const ids = siteIdsFor('big', 883);
    await registerSites(t, ids, { internal: 13 });
    const operation = await planDeletion(t, ids);
    expect(operation.requiredApprovals).toBe(2);
    expect(operation.waves.map((wave) => wave.siteIds.length)).toEqual([13, 5, 10, 20, 40, 80, 160, 320, 235]);
    await approve(t, operation, 'approver').expect(200);
    await approve(t, operation, 'approver2').expect(200);
    const done = await runAllWaves(t, operation);
    expect(done.progress).toEqual({ deleted: 883, skipped: 0, restored: 0, total: 883 });
    const rollback = await t
      .http()
      .post(`/v1/operations/${operation.operationId}/rollback`)
      .set('Authorization', t.auth('operator'))
      .send({ reason: 'incident' })
      .expect(200);
    expect(rollback.body.restored).toHaveLength(883);
    const stats = { active: 0, other: 0 };
    for (const id of [ids[0]!, ids[440]!, ids[882]!]) {
      if ((await site(id).expect(200)).body.status === 'active') stats.active += 1;
      else stats.other += 1;
    }
    expect(stats).toEqual({ active: 3, other: 0 });
    const events = await t.allEvents();
    expect(events.filter((e) => e.type === 'SiteSoftDeleted')).toHaveLength(883);
    expect(events.filter((e) => e.type === 'SiteRestored')).toHaveLength(883);
  }, 120_000);

  it('lists operations oldest first with a cursor, and by status', async () => {
    await registerSites(t, ['a', 'b', 'c']);
    const made = [];
    for (const id of ['a', 'b', 'c']) made.push((await planDeletion(t, [id])).operationId);
    const first = await t.http().get('/v1/operations?limit=2').set('Authorization', t.auth('viewer')).expect(200);
    expect(first.body.operations.map((o: { operationId: string }) => o.operationId)).toEqual(made.slice(0, 2));
    const second = await t
      .http()
      .get(`/v1/operations?limit=2&cursor=${first.body.nextCursor}`)
      .set('Authorization', t.auth('viewer'))
      .expect(200);
    expect(second.body.operations.map((o: { operationId: string }) => o.operationId)).toEqual(made.slice(2));
    expect(second.body.nextCursor).toBeUndefined();
    const planned = await t
      .http()
      .get('/v1/operations?status=planned')
      .set('Authorization', t.auth('viewer'))
      .expect(200);
    expect(planned.body.operations).toHaveLength(3);
    await t.http().get('/v1/operations?status=bogus').set('Authorization', t.auth('viewer')).expect(400);
    await t.http().get('/v1/operations/op_nope').set('Authorization', t.auth('viewer')).expect(404);
    await t.http().get('/v1/operations/not-an-op').set('Authorization', t.auth('viewer')).expect(400);
  });
});
