import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../src/event-store/event-envelope.js';
import { operationStreamId } from '../src/event-store/ledger-streams.js';
import { SqliteEventStore } from '../src/event-store/sqlite/sqlite-event-store.js';
import { pollUntil } from '../src/testing/poll-until.js';
import { callService, startService, type CallResult, type RunningService } from './support/service-process.js';
import { makeDataDir, writeTestTokens, type TestPrincipal } from './support/test-app.js';

/*
 * Issue 12, point 7: kill -9 the real service again and again while a driver
 * registers, suspends, plans, approves, executes, continues, aborts and rolls
 * back, and restart it on the same folder each time. Afterwards every command
 * that was acknowledged (2xx) is in the ledger, the chain verifies, no site
 * was soft-deleted twice without a restore in between, no operation deleted a
 * site outside its plan, and every operation ends completed, aborted or
 * rolled back. KILL_SEED reproduces the order of actions and kill moments.
 */

const KILLS = 10;
const SEED = Number(process.env['KILL_SEED'] ?? 7);
/** A start takes a second or two; on a machine busy with other suites, far longer. */
const STARTUP_TIMEOUT_MS = 60_000;

/** A small deterministic PRNG (mulberry32): the actions and kill moments follow the seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = Math.imul(state ^ (state >>> 15), 1 | state);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Operation {
  operationId: string;
  digest: string;
  siteIds: string[];
  /** The last status the driver saw; `done` once it rests in an end state. */
  status: string;
  rollbackRequested: boolean;
}

/** What the service acknowledged (2xx), to be found in the ledger at the end. */
interface Acknowledged {
  registered: string[];
  suspended: { siteId: string; reason: string }[];
  planned: Operation[];
  approved: string[];
  executed: string[];
  /** Operation IDs, once per acknowledged continue. */
  continued: string[];
  aborted: string[];
  rolledBack: string[];
}

describe('kill -9 in a loop during waves and rollbacks', () => {
  const dirs: string[] = [];
  let service: RunningService | undefined;
  afterEach(async () => {
    await service?.kill();
    service = undefined;
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it(`${KILLS} kills: nothing acknowledged is lost, no site is deleted twice, every operation ends`, async () => {
    const startedAt = Date.now();
    const dataDir = makeDataDir();
    dirs.push(dataDir);
    const env = {
      LEDGER_DATA_DIR: dataDir,
      LEDGER_TOKENS_FILE: writeTestTokens(dataDir),
      LEDGER_CANARY_SITES: '1', // waves of 1, 2, 4, …: several per operation
      LEDGER_LOG_LEVEL: 'error',
      LEDGER_LOG_FORMAT: 'json',
    };
    const next = random(SEED);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
    service = await startService(env, STARTUP_TIMEOUT_MS);
    let restarting: Promise<void> | undefined;

    /** One call to whichever service runs now; undefined when it died or was not there (not acknowledged). */
    const call = async (
      principal: TestPrincipal,
      method: string,
      path: string,
      body?: unknown,
    ): Promise<CallResult | undefined> => {
      await restarting;
      const base = service!.base;
      try {
        return await callService(base, principal, method, path, body);
      } catch {
        return undefined; // killed mid-request: neither acknowledged nor refused
      }
    };
    const ok = (result: CallResult | undefined): result is CallResult =>
      result !== undefined && result.status >= 200 && result.status < 300;

    const acknowledged: Acknowledged = {
      registered: [],
      suspended: [],
      planned: [],
      approved: [],
      executed: [],
      continued: [],
      aborted: [],
      rolledBack: [],
    };
    const unplanned: string[] = []; // registered sites no plan has named yet
    const answers = { sent: 0, acknowledged: 0, refused: 0, lost: 0, serverErrors: [] as string[] };
    const record = (what: string, result: CallResult | undefined) => {
      answers.sent += 1;
      if (result === undefined) answers.lost += 1;
      else if (result.status >= 500 && result.status !== 503)
        answers.serverErrors.push(`${what}: ${result.status} ${JSON.stringify(result.body)}`);
      else if (result.status < 300) answers.acknowledged += 1;
      else answers.refused += 1;
    };
    let sites = 0;
    let suspends = 0;

    const register = async () => {
      const siteId = `kl-${String(sites++).padStart(4, '0')}`;
      const result = await call('operator', 'POST', '/v1/sites', {
        siteId,
        customerId: `cust-${siteId}`,
        name: `Site ${siteId}`,
        products: [{ installationId: `inst-${siteId}`, productKey: 'shop' }],
      });
      record(`register ${siteId}`, result);
      if (ok(result)) {
        acknowledged.registered.push(siteId);
        unplanned.push(siteId);
      }
    };
    const suspend = async () => {
      const siteId = unplanned.shift();
      if (siteId === undefined) return;
      const reason = `kill loop suspend #${suspends++}`;
      const result = await call('operator', 'POST', `/v1/sites/${siteId}/suspend`, { reason });
      record(`suspend ${siteId}`, result);
      if (ok(result)) acknowledged.suspended.push({ siteId, reason });
      unplanned.push(siteId); // a suspended site may still be deleted
    };
    const plan = async () => {
      if (unplanned.length < 4) return;
      const siteIds = unplanned.splice(0, 3 + Math.floor(next() * 5)); // 3–7 sites: 3 waves or more
      const result = await call('operator', 'POST', '/v1/operations', {
        action: 'soft-delete',
        siteIds,
        reason: 'kill loop',
        ticket: 'OPS-KILL',
      });
      record('plan', result);
      if (ok(result)) {
        const body = result.body as { operationId: string; digest: string; status: string };
        acknowledged.planned.push({ ...body, siteIds, rollbackRequested: false });
      }
    };
    /** Moves one operation on by a step, as its current status allows. */
    const advance = async (operation: Operation) => {
      const { operationId, digest } = operation;
      const read = await call('viewer', 'GET', `/v1/operations/${operationId}`);
      if (!ok(read)) return;
      operation.status = read.body['status'] as string;
      const path = `/v1/operations/${operationId}`;
      const roll = next();
      let result: CallResult | undefined;
      switch (operation.status) {
        case 'planned':
          result = await call('approver', 'POST', `${path}/approve`, { digest });
          record('approve', result);
          if (ok(result)) acknowledged.approved.push(operationId);
          return;
        case 'approved':
          result = await call('operator', 'POST', `${path}/execute`, { digest });
          record('execute', result);
          if (ok(result)) acknowledged.executed.push(operationId);
          return;
        case 'paused':
          if (roll < 0.12) {
            result = await call('operator', 'POST', `${path}/abort`, { reason: 'kill loop abort' });
            record('abort', result);
            if (ok(result)) acknowledged.aborted.push(operationId);
          } else if (roll < 0.24) {
            await rollback(operation);
          } else {
            result = await call('operator', 'POST', `${path}/continue`, {});
            record('continue', result);
            if (ok(result)) acknowledged.continued.push(operationId);
          }
          return;
        case 'completed':
        case 'aborted':
          if (!operation.rollbackRequested && roll < 0.4) await rollback(operation);
          return;
        default:
          return; // running: its wave goes on, or resumes after a restart
      }
    };
    const rollback = async (operation: Operation) => {
      operation.rollbackRequested = true;
      const result = await call('operator', 'POST', `/v1/operations/${operation.operationId}/rollback`, {
        reason: 'kill loop rollback',
      });
      record('rollback', result);
      if (ok(result)) acknowledged.rolledBack.push(operation.operationId);
    };

    // The killer: KILLS times, wait 0.3–1.5 s, kill -9, start again on the same folder.
    let kills = 0;
    const killer = (async () => {
      while (kills < KILLS) {
        await pause(300 + next() * 1200);
        let restarted!: () => void;
        restarting = new Promise((resolve) => (restarted = resolve));
        await service!.kill();
        kills += 1;
        service = await startService(env, STARTUP_TIMEOUT_MS);
        restarted();
        restarting = undefined;
      }
    })();

    // The driver: until the killer is done, a mix of commands from two callers at once.
    let killerDone = false;
    void killer.finally(() => (killerDone = true));
    const driver = async () => {
      while (!killerDone) {
        const roll = next();
        const live = acknowledged.planned.filter((operation) => !['rolled-back'].includes(operation.status));
        if (roll < 0.35 || unplanned.length < 4) await register();
        else if (roll < 0.45) await suspend();
        else if (roll < 0.6) await plan();
        else if (live.length > 0) await advance(pick(live));
      }
    };
    await Promise.all([killer, driver(), driver()]);

    // After the last restart: every operation the driver planned is taken to its end.
    const ended = ['completed', 'aborted', 'rolled-back'];
    for (const operation of acknowledged.planned) {
      await pollUntil(
        async () => {
          if (!ended.includes(operation.status)) await advance(operation);
          return operation.status;
        },
        {
          what: `operation ${operation.operationId} to end`,
          done: (status) => ended.includes(status),
          timeoutMs: 20_000,
          intervalMs: 20,
        },
      );
    }
    expect(answers.serverErrors).toEqual([]);

    // Every acknowledged command's effect is there.
    const histories = new Map<string, { type: string; metadata: Record<string, unknown> }[]>();
    for (const siteId of acknowledged.registered) {
      const history = await call('viewer', 'GET', `/v1/sites/${siteId}/history?limit=1000`);
      expect(history?.status, `history of acknowledged site ${siteId}`).toBe(200);
      histories.set(siteId, history!.body['events'] as { type: string; metadata: Record<string, unknown> }[]);
    }
    for (const { siteId, reason } of acknowledged.suspended) {
      const events = histories.get(siteId)!;
      expect(
        events.some((event) => event.type === 'SiteSuspended' && event.metadata['reason'] === reason),
        `acknowledged suspend of ${siteId} (${reason})`,
      ).toBe(true);
    }
    for (const operation of acknowledged.planned) {
      const read = await call('viewer', 'GET', `/v1/operations/${operation.operationId}`);
      expect(read?.status).toBe(200);
      expect(read!.body['digest']).toBe(operation.digest);
      expect(ended).toContain(read!.body['status']);
      if (acknowledged.approved.includes(operation.operationId))
        expect((read!.body['approvals'] as unknown[]).length).toBeGreaterThan(0);
      if (acknowledged.executed.includes(operation.operationId))
        expect((read!.body['waves'] as { startedAt: string | null }[])[0]!.startedAt).not.toBeNull();
      if (acknowledged.rolledBack.includes(operation.operationId)) expect(read!.body['status']).toBe('rolled-back');
      if (acknowledged.aborted.includes(operation.operationId))
        expect(['aborted', 'rolled-back']).toContain(read!.body['status']);
    }
    const verified = await call('viewer', 'GET', '/v1/ledger/verify');
    expect(verified?.body).toMatchObject({ ok: true });

    // The ledger itself, read from its file with the service stopped.
    await service.kill();
    service = undefined;
    const store = new SqliteEventStore(join(dataDir, 'ledger.db'));
    const events: StoredEvent[] = [];
    try {
      for (;;) {
        const page = await store.readAll({ after: events.at(-1)?.position, limit: 1000 });
        events.push(...page);
        if (page.length < 1000) break;
      }
    } finally {
      await store.close();
    }
    const plans = new Map<string, Set<string>>();
    for (const event of events.filter((event) => event.type === 'OperationPlanned')) {
      const data = event.data as { operationId: string; waves: { siteIds: string[] }[] };
      plans.set(data.operationId, new Set(data.waves.flatMap((wave) => wave.siteIds)));
    }
    const deletedNow = new Map<string, string>(); // streamId → the operation whose deletion stands
    let deletions = 0;
    let restores = 0;
    for (const event of events) {
      if (event.type === 'SiteSoftDeleted') {
        const { siteId, operationId } = event.data as { siteId: string; operationId: string };
        expect(deletedNow.get(event.streamId), `${siteId} soft-deleted twice without a restore`).toBeUndefined();
        expect(plans.get(operationId)?.has(siteId), `${siteId} deleted by ${operationId}, outside its plan`).toBe(true);
        deletedNow.set(event.streamId, operationId);
        deletions += 1;
      } else if (event.type === 'SiteRestored') {
        expect(deletedNow.has(event.streamId), `${event.streamId} restored while not deleted`).toBe(true);
        deletedNow.delete(event.streamId);
        restores += 1;
      }
    }
    // Every operation a wave set was started for ended (those only planned, by answers a kill lost, may rest).
    const started = new Set(
      events.filter((event) => event.type === 'OperationExecutionStarted').map((event) => event.streamId),
    );
    const finished = new Set(
      events
        .filter((event) => ['OperationCompleted', 'OperationAborted', 'OperationRolledBack'].includes(event.type))
        .map((event) => event.streamId),
    );
    expect([...started].filter((streamId) => !finished.has(streamId))).toEqual([]);
    // Each acknowledged operation command left its event in the operation's stream.
    const count = (operationId: string, type: string) =>
      events.filter((event) => event.streamId === operationStreamId(operationId) && event.type === type).length;
    const times = (ids: string[], id: string) => ids.filter((other) => other === id).length;
    for (const { operationId } of acknowledged.planned) {
      const what = `operation ${operationId}`;
      expect(count(operationId, 'OperationPlanned'), what).toBe(1);
      expect(count(operationId, 'OperationApproved'), what).toBeGreaterThanOrEqual(
        times(acknowledged.approved, operationId),
      );
      const started = count(operationId, 'OperationExecutionStarted');
      expect(started, what).toBeLessThanOrEqual(1);
      if (acknowledged.executed.includes(operationId)) expect(started, what).toBe(1);
      expect(count(operationId, 'OperationContinued'), what).toBeGreaterThanOrEqual(
        times(acknowledged.continued, operationId),
      );
      if (acknowledged.aborted.includes(operationId)) expect(count(operationId, 'OperationAborted'), what).toBe(1);
      if (acknowledged.rolledBack.includes(operationId))
        expect(count(operationId, 'OperationRolledBack'), what).toBeGreaterThanOrEqual(1);
    }
    const registeredInLedger = new Set(
      events
        .filter((event) => event.type === 'SiteRegistered')
        .map((event) => (event.data as { siteId: string }).siteId),
    );
    expect(acknowledged.registered.filter((siteId) => !registeredInLedger.has(siteId))).toEqual([]);
    const statuses = new Map<string, number>();
    for (const operation of acknowledged.planned)
      statuses.set(operation.status, (statuses.get(operation.status) ?? 0) + 1);
    const checked =
      acknowledged.registered.length +
      acknowledged.suspended.length +
      acknowledged.planned.length +
      acknowledged.approved.length +
      acknowledged.executed.length +
      acknowledged.aborted.length +
      acknowledged.rolledBack.length +
      acknowledged.continued.length;
    console.log(
      `kill loop: seed ${SEED}, ${kills} kills; ${answers.sent} commands sent: ${answers.acknowledged} acknowledged, ` +
        `${answers.refused} refused, ${answers.lost} lost to a kill; ${checked} acknowledged commands checked ` +
        `(${acknowledged.registered.length} registrations, ${acknowledged.suspended.length} suspends, ` +
        `${acknowledged.planned.length} plans, ${acknowledged.approved.length} approvals, ${acknowledged.executed.length} executes, ` +
        `${acknowledged.aborted.length} aborts, ${acknowledged.rolledBack.length} rollbacks; ${acknowledged.continued.length} continues); ` +
        `${deletions} sites soft-deleted, ${restores} restored, none twice; operations ended ` +
        [...statuses.entries()].map(([status, count]) => `${count} ${status}`).join(', ') +
        `; ${events.length} events verified; ${Math.round((Date.now() - startedAt) / 1000)} s`,
    );
    expect(kills).toBe(KILLS);
    expect(deletions).toBeGreaterThan(0);
  }, 240_000);
});
