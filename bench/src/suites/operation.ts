import { join } from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import Database from 'better-sqlite3';
import type { StoredEvent } from '../../../src/event-store/event-envelope.js';
import { EVENT_STORE, type EventStore } from '../../../src/event-store/event-store.port.js';
import {
  PlanOperationCommand,
  RollbackOperationCommand,
  RunOperationCommand,
} from '../../../src/operations/operation.handlers.js';
import { GetOperationQuery } from '../../../src/operations/operation.queries.js';
import type { OperationView } from '../../../src/operations/operation.view.js';
import { WaveExecutor } from '../../../src/operations/wave-executor.js';
import { ProjectionRunner } from '../../../src/read-models/projection-runner.js';
import { benchConfig, contextOf, seedSites, startService } from '../app.js';
import { benchSiteId, registration } from '../fixtures.js';
import {
  figure,
  log,
  spread,
  summarize,
  tempDir,
  timeTasks,
  timingOf,
  type Figure,
  type SuiteOptions,
  type SuiteResult,
} from '../harness.js';
import { openRawLedger, type RawLedger, type RawRow } from '../raw-sqlite.js';

/** The incident: 883 sites, of which the provider's own (internal) ones go first. */
export const TARGETS = 883;
export const INTERNAL = 12;

export interface Service {
  app: INestApplicationContext;
  commands: CommandBus;
  queries: QueryBus;
  executor: WaveExecutor;
  store: EventStore;
}

/** Plan → two approvals (883 > LEDGER_LARGE_OPERATION_SITES) → execute → continue after every wave → completed. */
export async function runOperation(service: Service, siteIds: readonly string[]): Promise<OperationView> {
  const { commands, queries, executor } = service;
  const planned = await commands.execute(
    new PlanOperationCommand(
      { action: 'soft-delete', siteIds: [...siteIds], reason: 'benchmark: the 883-site incident', ticket: 'BENCH-883' },
      contextOf('operator'),
    ),
  );
  const { operationId, digest } = planned;
  if (digest === undefined || digest === null)
    throw new Error(`the plan was not accepted: ${JSON.stringify(planned).slice(0, 500)}`);
  for (const approver of ['approver', 'approver2'] as const) {
    await commands.execute(
      new RunOperationCommand({ type: 'ApproveOperation', data: { operationId, digest } }, contextOf(approver)),
    );
  }
  await commands.execute(
    new RunOperationCommand({ type: 'ExecuteOperation', data: { operationId, digest } }, contextOf('operator')),
  );
  for (;;) {
    await executor.idle();
    const view = await queries.execute(new GetOperationQuery(operationId));
    if (view.status === 'completed') return view;
    if (view.status !== 'paused') throw new Error(`operation ${operationId} is ${view.status} after a wave`);
    await commands.execute(
      new RunOperationCommand({ type: 'ContinueOperation', data: { operationId } }, contextOf('operator')),
    );
  }
}

export async function rollback(service: Service, operationId: string): Promise<number> {
  const result = await service.commands.execute(
    new RollbackOperationCommand(operationId, 'benchmark: roll the incident back', false, contextOf('operator')),
  );
  if (result.restored.length !== TARGETS) throw new Error(`rollback restored ${result.restored.length} of ${TARGETS}`);
  return result.restored.length;
}

export async function eventsBetween(
  store: EventStore,
  after: string | undefined,
  through: string | undefined,
): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  let cursor = after;
  for (;;) {
    const page = await store.readAll({ after: cursor, limit: 5_000 });
    for (const event of page) {
      if (through !== undefined && store.comparePositions(event.position, through) > 0) return events;
      events.push(event);
    }
    if (page.length === 0) return events;
    cursor = page.at(-1)!.position;
  }
}

function toRow(event: StoredEvent): RawRow {
  return {
    stream_id: event.streamId,
    version: event.version,
    event_id: event.eventId,
    type: event.type,
    data: JSON.stringify(event.data),
    metadata: JSON.stringify(event.metadata),
    prev_hash: event.prevHash,
    hash: event.hash,
    occurred_at: Date.parse(event.metadata.occurredAt),
  };
}

/**
 * The commits the service made, recovered from the ledger: every commit of
 * an operation ends with one event on the operation's stream (a wave's
 * deletions and its OperationWaveCompleted commit together, a rollback's
 * restores and its OperationRolledBack too).
 */
export function commitsOf(events: readonly StoredEvent[]): StoredEvent[][] {
  const commits: StoredEvent[][] = [];
  let current: StoredEvent[] = [];
  for (const event of events) {
    current.push(event);
    if (event.streamId.startsWith('operation-')) {
      commits.push(current);
      current = [];
    }
  }
  if (current.length > 0) commits.push(current);
  return commits;
}

/**
 * What SQLite itself needs for the same work: for every commit the service
 * made, read the streams it touched (a plan reads all its targets) and
 * insert the same rows in one transaction.
 */
function rawReplay(
  raw: { db: Database.Database; ledger: RawLedger },
  commits: readonly StoredEvent[][],
  targets: readonly string[],
): void {
  const read = raw.db.prepare('SELECT * FROM events WHERE stream_id = ? ORDER BY version');
  for (const commit of commits) {
    const streams = new Set(commit.map((event) => event.streamId));
    if (commit.some((event) => event.type === 'OperationPlanned'))
      for (const siteId of targets) streams.add(`site-${siteId}`);
    for (const streamId of streams) read.all(streamId);
    raw.ledger.insertAll(commit.map(toRow));
  }
}

/** What one untimed cycle left: the ledger before it, its operation, and the service's commits. */
export interface WarmCycle {
  before: string | undefined;
  first: OperationView;
  operationCommits: StoredEvent[][];
  rollbackCommits: StoredEvent[][];
}

/** The service on `dir`, its read models caught up with the ledger. */
async function startedService(dir: string): Promise<Service> {
  const app = await startService(benchConfig(dir));
  if (!(await app.get(ProjectionRunner, { strict: false }).catchUp(120_000))) {
    await app.close();
    throw new Error('read models did not catch up');
  }
  return {
    app,
    commands: app.get(CommandBus),
    queries: app.get(QueryBus),
    executor: app.get(WaveExecutor, { strict: false }),
    store: app.get<EventStore>(EVENT_STORE),
  };
}

/** One untimed operation and rollback: warms the JIT and records the commits the raw baseline replays. */
export async function warmCycle(service: Service, targets: readonly string[]): Promise<WarmCycle> {
  const before = await service.store.lastPosition();
  const first = await runOperation(service, targets);
  const afterOperation = await service.store.lastPosition();
  await rollback(service, first.operationId);
  const afterRollback = await service.store.lastPosition();
  return {
    before,
    first,
    operationCommits: commitsOf(await eventsBetween(service.store, before, afterOperation)),
    rollbackCommits: commitsOf(await eventsBetween(service.store, afterOperation, afterRollback)),
  };
}

export async function run({ quick }: SuiteOptions): Promise<SuiteResult> {
  const data = tempDir('operation');
  const others = quick ? 2_000 : 10_000;
  const targets = Array.from({ length: TARGETS }, (_, i) => benchSiteId('op', i));
  const sites = [
    ...targets.map((siteId, i) => ({ siteId, events: [registration(siteId, i, { internal: i < INTERNAL })] })),
    ...Array.from({ length: others }, (_, i) => {
      const siteId = benchSiteId('other', i);
      return { siteId, events: [registration(siteId, TARGETS + i)] };
    }),
  ];
  const seedRows = await seedSites(data.dir, sites);
  // The service open at the moment (closed and started again for the cold figures).
  let service = await startedService(data.dir);
  const figures: Figure[] = [];
  try {
    const { first, operationCommits, rollbackCommits } = await warmCycle(service, targets);
    const operationRows = operationCommits.flat().map(toRow);
    log(
      `883-site operation: ${first.waves.length} waves, ${operationCommits.length} commits; rollback: ${rollbackCommits.length} commit`,
    );

    let lastOperation = first.operationId;
    let rawDir: ReturnType<typeof tempDir> | undefined;
    let raw: { db: Database.Database; ledger: RawLedger } | undefined;
    const openRaw = async (extra: readonly RawRow[]) => {
      rawDir = tempDir('operation-raw');
      const file = join(rawDir.dir, 'ledger.db');
      const ledger = await openRawLedger(file);
      ledger.insertAll([...seedRows, ...extra]);
      raw = { db: new Database(file), ledger };
    };
    const closeRaw = () => {
      raw?.db.close();
      raw?.ledger.close();
      rawDir?.dispose();
    };
    const names = {
      operation: 'operation ours',
      operationRaw: 'operation raw',
      rollback: 'rollback ours',
      rollbackRaw: 'rollback raw',
    };
    const iterations = quick ? 3 : 8;
    const timings = await timeTasks(
      [
        {
          name: names.operation,
          run: async () => void (lastOperation = (await runOperation(service, targets)).operationId),
          afterEach: async () => void (await rollback(service, lastOperation)),
        },
        {
          name: names.operationRaw,
          beforeEach: () => openRaw([]),
          run: () => rawReplay(raw!, operationCommits, targets),
          afterEach: closeRaw,
        },
        {
          name: names.rollback,
          beforeEach: async () => void (lastOperation = (await runOperation(service, targets)).operationId),
          run: async () => void (await rollback(service, lastOperation)),
        },
        {
          name: names.rollbackRaw,
          beforeEach: () => openRaw(operationRows),
          run: () => rawReplay(raw!, rollbackCommits, targets),
          afterEach: closeRaw,
        },
      ],
      { iterations, rounds: 1 },
    );
    const operation = timingOf(timings, names.operation);
    const operationRaw = timingOf(timings, names.operationRaw);
    const rolledBack = timingOf(timings, names.rollback);
    const rollbackRaw = timingOf(timings, names.rollbackRaw);
    log(
      `operation ${operation.medianMs.toFixed(0)} ms (raw ${operationRaw.medianMs.toFixed(0)}), rollback ${rolledBack.medianMs.toFixed(0)} ms (raw ${rollbackRaw.medianMs.toFixed(0)})`,
    );

    // Cold: the first command after a start. A new service on the same data dir for each timed
    // command (its read models caught up first, untimed), so no fold of a site or of the operation
    // is cached; the OS file cache is warm, as on a server that restarts, and so is the JIT (the
    // same bench process), which a real start would not have.
    const coldOperations: number[] = [];
    const coldRollbacks: number[] = [];
    const restart = async () => {
      await service.app.close();
      service = await startedService(data.dir);
    };
    for (let i = 0; i < (quick ? 2 : 4); i += 1) {
      await restart();
      let start = performance.now();
      lastOperation = (await runOperation(service, targets)).operationId;
      coldOperations.push(performance.now() - start);
      await restart();
      start = performance.now();
      await rollback(service, lastOperation);
      coldRollbacks.push(performance.now() - start);
    }
    const coldOperation = summarize('cold operation', coldOperations);
    const coldRollback = summarize('cold rollback', coldRollbacks);
    log(
      `first after a start: operation ${coldOperation.medianMs.toFixed(0)} ms, rollback ${coldRollback.medianMs.toFixed(0)} ms`,
    );
    const warmWhat = 'the same service ran the operation and its rollback before (sites and operation folds cached)';
    figures.push(
      figure({
        name: `883-site operation through all ${first.waves.length} waves (service layer), warm: sites folded before`,
        value: operation.medianMs,
        unit: 'ms',
        baseline: operationRaw.medianMs,
        baselineName: `raw better-sqlite3: the same stream reads and the same rows in the same ${operationCommits.length} commits`,
        better: 'lower',
        note: `${spread(operation)}; plan, 2 approvals, execute, ${first.waves.length - 1} continues, each answered after the read models caught up; ${TARGETS + others} sites in the ledger; ${warmWhat}`,
      }),
      figure({
        name: `883-site operation through all ${first.waves.length} waves (service layer), cold: first operation after a start`,
        value: coldOperation.medianMs,
        unit: 'ms',
        baseline: operationRaw.medianMs,
        baselineName: `raw better-sqlite3: the same stream reads and the same rows in the same ${operationCommits.length} commits`,
        better: 'lower',
        note: `${spread(coldOperation)}; a service started on the same data dir before each (read models caught up, untimed): the plan folds all ${TARGETS} sites from their streams; the JIT is warm (same bench process), the service's caches empty`,
      }),
      figure({
        name: '883-site rollback (service layer), warm: sites folded before',
        value: rolledBack.medianMs,
        unit: 'ms',
        baseline: rollbackRaw.medianMs,
        baselineName: 'raw better-sqlite3: read the 883 site streams, insert the same 884 rows in one commit',
        better: 'lower',
        target: 'under 500 ms',
        targetCheck: (f) => f.value < 500,
        note: `${spread(rolledBack)}, p99 ${rolledBack.p99Ms.toFixed(0)} ms; answered after the read models caught up; ${warmWhat}`,
      }),
      figure({
        name: '883-site rollback (service layer), cold: first command after a start',
        value: coldRollback.medianMs,
        unit: 'ms',
        baseline: rollbackRaw.medianMs,
        baselineName: 'raw better-sqlite3: read the 883 site streams, insert the same 884 rows in one commit',
        better: 'lower',
        target: 'under 500 ms',
        targetCheck: (f) => f.value < 500,
        note: `${spread(coldRollback)}; the operation ran in the previous process; this one started on the same data dir (read models caught up, untimed) and folds the operation and its ${TARGETS} sites from their streams`,
      }),
    );
  } finally {
    await service.app.close();
    data.dispose();
  }
  return { suite: 'operation', figures, omissions: [], facts: {} };
}
