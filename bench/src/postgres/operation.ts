import { CommandBus, QueryBus } from '@nestjs/cqrs';
import type { StoredEvent } from '../../../src/event-store/event-envelope.js';
import { EVENT_STORE, type EventStore } from '../../../src/event-store/event-store.port.js';
import { siteStreamId } from '../../../src/event-store/ledger-streams.js';
import { WaveExecutor } from '../../../src/operations/wave-executor.js';
import { ProjectionRunner } from '../../../src/read-models/projection-runner.js';
import { SiteStreams } from '../../../src/sites/site-streams.js';
import { benchConfig, startService } from '../app.js';
import { benchSiteId, registration } from '../fixtures.js';
import { figure, log, spread, tempDir, timeTasks, timingOf, type Figure } from '../harness.js';
import {
  INTERNAL,
  TARGETS,
  warmCycle,
  eventsBetween,
  rollback,
  runOperation,
  type Service,
} from '../suites/operation.js';
import type { BenchDatabase } from './databases.js';
import { openPostgresLedger, pgRowOf, seedPostgresSites, type PgRow } from './ledger.js';
import { openRawPg, type RawPg } from './raw-pg.js';

/**
 * What PostgreSQL itself needs for the same work: for every commit the
 * service made, one transaction that reads every row of the streams it
 * touched (a plan reads all its targets) in one query and inserts the same
 * rows in one statement.
 */
async function rawReplay(raw: RawPg, commits: readonly StoredEvent[][], targets: readonly string[]): Promise<void> {
  const client = await raw.pool.connect();
  try {
    for (const commit of commits) {
      const streams = new Set(commit.map((event) => event.streamId));
      if (commit.some((event) => event.type === 'OperationPlanned'))
        for (const siteId of targets) streams.add(`site-${siteId}`);
      await client.query('BEGIN');
      await raw.readStreams(client, [...streams]);
      await raw.insertMany(client, commit.map(pgRowOf));
      await client.query('COMMIT');
    }
  } finally {
    client.release();
  }
}

/**
 * The 883-site incident through the service layer on postgres
 * (bench/src/suites/operation.ts's scenario, LEDGER_STORE=postgres): plan,
 * two approvals, execute, continue through the waves, then the rollback;
 * beside raw pg doing the same store work.
 */
export async function compareOperation(
  databases: { service: BenchDatabase; raw: BenchDatabase },
  options: { others: number; iterations: number; rounds: number },
): Promise<Figure[]> {
  const data = tempDir('pg-operation');
  const targets = Array.from({ length: TARGETS }, (_, i) => benchSiteId('op', i));
  const sites = [
    ...targets.map((siteId, i) => ({ siteId, events: [registration(siteId, i, { internal: i < INTERNAL })] })),
    ...Array.from({ length: options.others }, (_, i) => {
      const siteId = benchSiteId('other', i);
      return { siteId, events: [registration(siteId, TARGETS + i)] };
    }),
  ];
  const seeder = await openPostgresLedger(databases.service.url);
  try {
    await seedPostgresSites(seeder, sites);
  } finally {
    await seeder.close();
  }
  const app = await startService(
    benchConfig(data.dir, { LEDGER_STORE: 'postgres', LEDGER_POSTGRES_URL: databases.service.url }),
  );
  const service: Service = {
    app,
    commands: app.get(CommandBus),
    queries: app.get(QueryBus),
    executor: app.get(WaveExecutor, { strict: false }),
    store: app.get<EventStore>(EVENT_STORE),
  };
  const raw = await openRawPg(databases.raw.url, 1);
  try {
    if (!(await app.get(ProjectionRunner, { strict: false }).catchUp(120_000)))
      throw new Error('read models did not catch up');

    const { before, first, operationCommits, rollbackCommits } = await warmCycle(service, targets);
    const seedRows = (await eventsBetween(service.store, undefined, before)).map(pgRowOf);
    const operationRows = operationCommits.flat().map(pgRowOf);
    log(
      `postgres 883-site operation: ${first.waves.length} waves, ${operationCommits.length} commits; rollback: ${rollbackCommits.length} commit`,
    );

    const resetRaw = async (extra: readonly PgRow[]) => {
      await raw.reset();
      const rows = [...seedRows, ...extra];
      for (let start = 0; start < rows.length; start += 5_000)
        await raw.insertMany(raw.pool, rows.slice(start, start + 5_000));
    };
    let lastOperation = first.operationId;
    const names = {
      operation: 'operation ours',
      operationRaw: 'operation raw',
      rollback: 'rollback ours',
      rollbackRaw: 'rollback raw',
    };
    const timings = await timeTasks(
      [
        {
          name: names.operation,
          run: async () => void (lastOperation = (await runOperation(service, targets)).operationId),
          afterEach: async () => void (await rollback(service, lastOperation)),
        },
        {
          name: names.operationRaw,
          beforeEach: () => resetRaw([]),
          run: () => rawReplay(raw, operationCommits, targets),
        },
        {
          name: names.rollback,
          beforeEach: async () => void (lastOperation = (await runOperation(service, targets)).operationId),
          run: async () => void (await rollback(service, lastOperation)),
        },
        {
          name: names.rollbackRaw,
          beforeEach: () => resetRaw(operationRows),
          run: () => rawReplay(raw, rollbackCommits, targets),
        },
      ],
      { iterations: options.iterations, rounds: options.rounds },
    );
    const operation = timingOf(timings, names.operation);
    const operationRaw = timingOf(timings, names.operationRaw);
    const rolledBack = timingOf(timings, names.rollback);
    const rollbackRaw = timingOf(timings, names.rollbackRaw);
    log(
      `postgres: operation ${operation.medianMs.toFixed(0)} ms (raw ${operationRaw.medianMs.toFixed(0)}), rollback ${rolledBack.medianMs.toFixed(0)} ms (raw ${rollbackRaw.medianMs.toFixed(0)})`,
    );
    // Diagnostic: the bulk read every plan, wave and rollback makes, alone.
    const siteStreams = app.get(SiteStreams, { strict: false });
    const reads = { ours: 'loadMany', raw: 'raw read' };
    const readTimings = await timeTasks(
      [
        { name: reads.ours, run: async () => void (await siteStreams.loadMany(targets)) },
        { name: reads.raw, run: async () => void (await raw.readStreams(raw.pool, targets.map(siteStreamId))) },
      ],
      { iterations: options.iterations * 5, warmup: 1, rounds: options.rounds },
    );
    const loadMany = timingOf(readTimings, reads.ours);
    log(
      `postgres: loadMany of the 883 sites ${loadMany.medianMs.toFixed(0)} ms (raw, one query: ${timingOf(readTimings, reads.raw).medianMs.toFixed(0)} ms)`,
    );
    return [
      figure({
        name: `postgres 883-site operation through all ${first.waves.length} waves (service layer)`,
        value: operation.medianMs,
        unit: 'ms',
        baseline: operationRaw.medianMs,
        baselineName: `raw pg: the same streams read and the same rows inserted in the same ${operationCommits.length} commits (one read query and one insert per commit)`,
        better: 'lower',
        note: `${spread(operation)}, raw ${spread(operationRaw)}; plan, 2 approvals, execute, ${first.waves.length - 1} continues, each answered after the read models caught up; ${TARGETS + options.others} sites in the ledger`,
      }),
      figure({
        name: 'postgres 883-site rollback (service layer)',
        value: rolledBack.medianMs,
        unit: 'ms',
        baseline: rollbackRaw.medianMs,
        baselineName: 'raw pg: read the 883 site streams in one query, insert the same 884 rows in one commit',
        better: 'lower',
        target: 'under 1 s',
        targetCheck: (f) => f.value < 1_000,
        note: `${spread(rolledBack)}, p99 ${rolledBack.p99Ms.toFixed(0)} ms, raw ${spread(rollbackRaw)}; answered after the read models caught up`,
      }),
      figure({
        name: 'postgres reading the 883 sites as a plan, wave or rollback does (SiteStreams.loadMany, fold cache warm)',
        value: loadMany.medianMs,
        unit: 'ms',
        baseline: timingOf(readTimings, reads.raw).medianMs,
        baselineName: 'raw pg: every row of the 883 site streams in one query',
        better: 'lower',
        note: `${spread(loadMany)}; diagnostic: one query per site for the events after its cached fold (none here), 32 at a time on the service's pool of 10`,
      }),
    ];
  } finally {
    await raw.close();
    await app.close();
    data.dispose();
  }
}
