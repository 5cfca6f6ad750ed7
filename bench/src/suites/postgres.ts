import type { SuiteOptions, SuiteResult, Figure } from '../harness.js';
import { compareAggregates } from '../postgres/aggregate.js';
import { compareAppends } from '../postgres/append.js';
import { BENCH_POSTGRES_URL, postgresUnreachable, serverFacts, withBenchDatabases } from '../postgres/databases.js';
import { measureFailover } from '../postgres/failover.js';
import { compareOperation } from '../postgres/operation.js';

/**
 * The PostgreSQL store (LEDGER_STORE=postgres) beside Emmett's PostgreSQL
 * store and raw `pg` inserts, in the same run, each on throwaway databases
 * of the server at LEDGER_BENCH_POSTGRES_URL: appends with 1 and with 32
 * concurrent callers, a 1,000-event aggregate, the 883-site incident through
 * the service layer, and the failover of a running wave between two real
 * service processes.
 */
export async function run({ quick }: SuiteOptions): Promise<SuiteResult> {
  const unreachable = await postgresUnreachable();
  if (unreachable !== undefined) {
    return {
      suite: 'postgres',
      figures: [],
      omissions: [{ name: 'postgres suite', reason: `no PostgreSQL at ${BENCH_POSTGRES_URL} (${unreachable})` }],
      facts: {},
    };
  }
  const figures: Figure[] = [];
  const rounds = quick ? 2 : 4;
  await withBenchDatabases(
    ['append_ours', 'append_store', 'append_raw', 'append_emmett'],
    async ([ours, store, raw, peer]) => {
      const databases = { ours: ours!, store: store!, raw: raw!, peer: peer! };
      for (const shape of [
        { streams: quick ? 200 : 500, events: 1, callers: 1, iterations: 1 },
        { streams: quick ? 640 : 1_600, events: 1, callers: 32, iterations: 1 },
        { streams: 1, events: 1_000, callers: 1, iterations: quick ? 2 : 4 },
      ])
        // Many short rounds: the disk and the server are shared, and their
        // pace moves within seconds; every contender gets a share of each moment.
        figures.push(...(await compareAppends(databases, { ...shape, rounds: quick ? 2 : 6 })));
    },
  );
  await withBenchDatabases(['aggregate_ours', 'aggregate_emmett'], async ([ours, peer]) => {
    figures.push(
      ...(await compareAggregates(
        { ours: ours!, peer: peer! },
        { length: 1_000, iterations: quick ? 10 : 40, rounds: quick ? 1 : 2 },
      )),
    );
  });
  await withBenchDatabases(['operation', 'operation_raw'], async ([service, raw]) => {
    figures.push(
      ...(await compareOperation(
        { service: service!, raw: raw! },
        { others: quick ? 2_000 : 10_000, iterations: quick ? 1 : 2, rounds },
      )),
    );
  });
  await withBenchDatabases(['failover'], async ([database]) => {
    figures.push(...(await measureFailover(database!, { trials: quick ? 1 : 3 })));
  });
  return { suite: 'postgres', figures, omissions: [], facts: { 'postgres server': await serverFacts() } };
}
