import pg from 'pg';
import { isCommittedRetry } from '../adapter-kit.js';
import { EMPTY_STREAM_HEAD, chainEvents, type ChainedEvent, type StreamHead } from '../event-envelope.js';
import { DuplicateEventIdError, WrongExpectedVersionError } from '../event-store.errors.js';
import type { AppendResult, StreamAppend } from '../event-store.port.js';
import type { GroupOutcome, QueuedAppend } from '../group-commit.js';
import { withConnection } from './postgres.client.js';
import { isTransientPostgresError, toPortError } from './postgres.errors.js';
import type { PostgresReads, StoredHead } from './postgres.reads.js';
import { COMMITS_CHANNEL, LEDGER_LOCK_SPACE, LEDGER_LOCKS } from './postgres.schema.js';

/**
 * Runs inside each transaction that writes events, after its positions are
 * taken and before it commits, with the answers of every append of its
 * group that it is about to commit, in order.
 */
export type BeforeCommitHook = (results: readonly AppendResult[]) => Promise<void>;

export interface AppendsContext {
  pool: pg.Pool;
  reads: PostgresReads;
  /** Where, for messages. */
  target: string;
  /** Called after each commit that wrote events: wakes this process's subscribers at once. */
  committed(): void;
  beforeCommit?: BeforeCommitHook | undefined;
}

/** The unique constraints of the events table (postgres.schema.ts), as the server names them in errors. */
const CONSTRAINT = {
  eventId: 'events_event_id_unique',
  streamVersion: 'events_stream_version_unique',
} as const;

const UNIQUE_VIOLATION = '23505';

/**
 * Inserts every event of a call in one statement: `unnest` turns one array
 * per column into rows, `ORDER BY n` makes the identity hand out positions in
 * the order of the events, and `RETURNING` tells each event its position.
 */
const INSERT_EVENTS = `
INSERT INTO events (stream_id, version, event_id, type, data, metadata, prev_hash, hash, occurred_at)
SELECT stream_id, version, event_id, type, data, metadata, prev_hash, hash, occurred_at
FROM unnest($1::text[], $2::int[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[])
  WITH ORDINALITY AS e(stream_id, version, event_id, type, data, metadata, prev_hash, hash, occurred_at, n)
ORDER BY n
RETURNING event_id, position`;

/** The insert's parameters: one array per column. */
class EventColumns {
  readonly streamIds: string[] = [];
  readonly versions: number[] = [];
  readonly eventIds: string[] = [];
  readonly types: string[] = [];
  readonly data: string[] = [];
  readonly metadata: string[] = [];
  readonly prevHashes: string[] = [];
  readonly hashes: string[] = [];
  readonly occurredAt: number[] = [];

  get length(): number {
    return this.eventIds.length;
  }

  add(event: ChainedEvent, occurredAtMs: number): void {
    this.streamIds.push(event.streamId);
    this.versions.push(event.version);
    this.eventIds.push(event.eventId);
    this.types.push(event.type);
    this.data.push(JSON.stringify(event.data));
    this.metadata.push(JSON.stringify(event.metadata));
    this.prevHashes.push(event.prevHash);
    this.hashes.push(event.hash);
    this.occurredAt.push(occurredAtMs);
  }

  values(): unknown[] {
    return [
      this.streamIds,
      this.versions,
      this.eventIds,
      this.types,
      this.data,
      this.metadata,
      this.prevHashes,
      this.hashes,
      this.occurredAt,
    ];
  }
}

/**
 * Where an append's answer takes its position from: a position already
 * stored, or the event of this group whose position the insert will tell.
 */
type PositionSource = { position: string } | { eventId: string };

/** One queued append, decided, before anything is written. */
type Plan =
  | {
      answers: Omit<AppendResult, 'position'>[];
      sources: PositionSource[];
      events: { event: ChainedEvent; occurredAtMs: number }[];
      /** The last event it chains onto each stream it writes. */
      written: Map<string, ChainedEvent>;
    }
  | { error: unknown }
  | { deferred: true };

/**
 * `append`/`appendMany` on PostgreSQL: the appends queued while the previous
 * group committed (see `group-commit.ts`) commit in one transaction. It takes
 * the append lock (see `postgres-event-store.ts` for why), reads the heads of
 * every stream of the group in one query, decides each append in order in
 * memory (its expected versions, or the retry rule), inserts the events of
 * all that pass in one statement, announces the commit with NOTIFY
 * (delivered only once it commits) and commits. A few round trips whatever
 * the size of the group, and one WAL flush.
 *
 * Why decided in memory rather than under a SAVEPOINT each, as on SQLite:
 * under the lock nobody else writes, so the heads read at the start stay the
 * heads, and a version check needs no statement; a savepoint, a head read
 * and an insert per append would cost four round trips each, and the group
 * would spend its time on the network instead of sharing one flush. What
 * only the server can check (an event id already stored, a writer that
 * bypassed the lock) shows as a unique violation of the group's insert; the
 * group is then rolled back and its appends run again one transaction each,
 * as before group commit, so the one at fault fails alone (and says why).
 *
 * An append that does not match a stream an earlier append of the same
 * group writes is deferred to the next group, where it meets that append
 * committed: a conflict, or the retry rule, exactly as one after the other.
 * It goes first in the next group, so it is deferred once at most.
 *
 * A failure of the transaction itself (the lock not granted within
 * `lock_timeout`, a lost connection, a failed COMMIT) fails every append of
 * the group with the same `EventStoreUnavailableError`; a COMMIT whose
 * answer was lost may have committed, which the retry rule covers.
 */
export async function appendGroup(context: AppendsContext, group: readonly QueuedAppend[]): Promise<GroupOutcome[]> {
  try {
    return await commitGroup(context, group);
  } catch (error) {
    if (!isUniqueViolation(error)) {
      return group.map(({ appends }) => ({
        error: toPortError(error, { action: actionOf(appends), target: context.target }),
      }));
    }
    const [alone] = group;
    if (group.length === 1 && alone !== undefined) return [{ error: await translate(context, error, alone.appends) }];
  }
  const outcomes: GroupOutcome[] = [];
  for (const request of group) {
    try {
      const [outcome] = await commitGroup(context, [request]);
      outcomes.push(outcome ?? { error: new Error('no outcome for an append committed alone') });
    } catch (error) {
      outcomes.push({ error: await translate(context, error, request.appends) });
    }
  }
  return outcomes;
}

/** The group's transaction; throws the driver's error if the transaction fails as a whole. */
async function commitGroup(context: AppendsContext, group: readonly QueuedAppend[]): Promise<GroupOutcome[]> {
  let wrote = false;
  const outcomes = await withConnection(context.pool, async (client, discard) => {
    try {
      await client.query(`BEGIN; SELECT pg_advisory_xact_lock(${LEDGER_LOCK_SPACE}, ${LEDGER_LOCKS.appends})`);
      const plans = await decideGroup(context, client, group);
      const columns = new EventColumns();
      for (const plan of plans) {
        if ('events' in plan) for (const { event, occurredAtMs } of plan.events) columns.add(event, occurredAtMs);
      }
      const positions = new Map<string, string>();
      if (columns.length > 0) {
        const { rows } = await client.query<{ event_id: string; position: string }>({
          name: 'ledger-insert-events',
          text: INSERT_EVENTS,
          values: columns.values(),
        });
        for (const row of rows) positions.set(row.event_id, row.position);
      }
      const decided = plans.map((plan): GroupOutcome =>
        'answers' in plan ? { results: answer(plan, positions) } : plan,
      );
      wrote = columns.length > 0;
      if (wrote) {
        await context.beforeCommit?.(decided.flatMap((outcome) => ('results' in outcome ? outcome.results : [])));
        await client.query(`NOTIFY ${COMMITS_CHANNEL}; COMMIT`);
      } else {
        await client.query('COMMIT');
      }
      return decided;
    } catch (error) {
      // A connection that cannot even roll back is in an unknown state: drop it.
      await client.query('ROLLBACK').catch(discard);
      throw error;
    }
  });
  if (wrote) context.committed();
  return outcomes;
}

/**
 * Inside the transaction, under the lock: nobody else writes now, so the
 * heads read here stay the heads until commit, and each append is decided
 * on them and on what the appends before it in the group write.
 */
async function decideGroup(
  context: AppendsContext,
  client: pg.PoolClient,
  group: readonly QueuedAppend[],
): Promise<Plan[]> {
  const streamIds = new Set(group.flatMap(({ appends }) => appends.map((append) => append.streamId)));
  const stored = await context.reads.headsOf(client, [...streamIds]);
  /** The last event the group chains onto each stream, so far. */
  const groupWritten = new Map<string, ChainedEvent>();
  const plans: Plan[] = [];
  for (const request of group) {
    let plan: Plan;
    try {
      plan = await decide(context, client, request, stored, groupWritten);
    } catch (error) {
      // The server failed (the transaction is lost): the whole group fails.
      if (error instanceof pg.DatabaseError || isTransientPostgresError(error)) throw error;
      plan = { error };
    }
    if ('written' in plan) for (const [streamId, last] of plan.written) groupWritten.set(streamId, last);
    plans.push(plan);
  }
  return plans;
}

/** One queued append, all or nothing: nothing of it reaches the group until it is decided whole. */
async function decide(
  context: AppendsContext,
  client: pg.PoolClient,
  { appends, occurredAtMs }: QueuedAppend,
  stored: ReadonlyMap<string, StoredHead>,
  groupWritten: ReadonlyMap<string, ChainedEvent>,
): Promise<Plan> {
  /** The last event this append chains onto each stream, so far. */
  const written = new Map<string, ChainedEvent>();
  const events: { event: ChainedEvent; occurredAtMs: number }[] = [];
  const answers: Omit<AppendResult, 'position'>[] = [];
  const sources: PositionSource[] = [];

  for (const [i, append] of appends.entries()) {
    const { streamId, expectedVersion } = append;
    const head: StreamHead | undefined = written.get(streamId) ?? groupWritten.get(streamId) ?? stored.get(streamId);
    const actualVersion = head?.version ?? 0;
    if (actualVersion !== expectedVersion) {
      // Meet the earlier append of the group committed, in the next group.
      if (!written.has(streamId) && groupWritten.has(streamId)) return { deferred: true };
      // The retry rule looks at what is stored, so not at a stream this call already wrote.
      const retried = written.has(streamId) ? undefined : await committedRetry(context, client, append);
      if (retried === undefined)
        return { error: new WrongExpectedVersionError(streamId, expectedVersion, actualVersion) };
      answers.push({ streamId, nextVersion: retried.nextVersion });
      sources.push({ position: retried.position });
      continue;
    }
    const chained = chainEvents(streamId, head ?? EMPTY_STREAM_HEAD, append.events);
    chained.forEach((event, j) => events.push({ event, occurredAtMs: occurredAtMs[i]?.[j] ?? Number.NaN }));
    const last = chained.at(-1);
    if (last !== undefined) written.set(streamId, last);
    answers.push({ streamId, nextVersion: actualVersion + append.events.length });
    // An empty append answers the stream's last position: '0' for a stream that does not exist.
    const lastWritten = written.get(streamId) ?? groupWritten.get(streamId);
    sources.push(
      lastWritten !== undefined
        ? { eventId: lastWritten.eventId }
        : { position: stored.get(streamId)?.position ?? '0' },
    );
  }
  return { answers, sources, events, written };
}

/** A decided append's results, with the positions the insert told. */
function answer(
  plan: { answers: Omit<AppendResult, 'position'>[]; sources: PositionSource[] },
  positions: ReadonlyMap<string, string>,
): AppendResult[] {
  return plan.answers.map((answered, i) => {
    const source = plan.sources[i];
    const position =
      source === undefined ? undefined : 'position' in source ? source.position : positions.get(source.eventId);
    if (position === undefined) throw new Error(`no position for the append to ${answered.streamId}`);
    return { ...answered, position };
  });
}

/** The answer an earlier, committed attempt of this append got (the port's retry rule), if it was one. */
async function committedRetry(
  context: AppendsContext,
  client: pg.PoolClient,
  append: StreamAppend,
): Promise<AppendResult | undefined> {
  const { streamId, expectedVersion, events } = append;
  if (events.length === 0) return undefined;
  const following = await context.reads.following(client, streamId, expectedVersion, events.length);
  const last = following.at(-1);
  if (last === undefined || !isCommittedRetry(following, events)) return undefined;
  return { streamId, nextVersion: expectedVersion + events.length, position: last.position };
}

function isUniqueViolation(error: unknown): error is pg.DatabaseError {
  return error instanceof pg.DatabaseError && error.code === UNIQUE_VIOLATION;
}

/** `appending to site-a, site-b and 3 more`: for messages. */
function actionOf(appends: readonly StreamAppend[]): string {
  const streams = [...new Set(appends.map((append) => append.streamId))];
  return `appending to ${streams.slice(0, 3).join(', ')}${streams.length > 3 ? ` and ${streams.length - 3} more` : ''}`;
}

/**
 * The port's error for an append that failed alone. Under the append lock a
 * unique violation means an event id that is already stored, or a writer
 * that bypassed the lock (by hand, or an older version of the ledger);
 * either is reported as what it means, read after the rollback.
 */
async function translate(context: AppendsContext, error: unknown, appends: readonly StreamAppend[]): Promise<unknown> {
  if (isUniqueViolation(error)) {
    const named = await explainUniqueViolation(context, error, appends).catch(() => undefined);
    if (named !== undefined) return named;
  }
  return toPortError(error, { action: actionOf(appends), target: context.target });
}

async function explainUniqueViolation(
  context: AppendsContext,
  error: pg.DatabaseError,
  appends: readonly StreamAppend[],
): Promise<Error | undefined> {
  if (error.constraint === CONSTRAINT.eventId) {
    const events = appends.flatMap((append) => append.events);
    const stored = await context.reads.storedEventIds(
      context.pool,
      events.map((event) => event.eventId),
    );
    const duplicate = events.find((event) => stored.has(event.eventId));
    return duplicate === undefined ? undefined : new DuplicateEventIdError(duplicate.eventId);
  }
  if (error.constraint === CONSTRAINT.streamVersion) {
    for (const { streamId, expectedVersion } of appends) {
      const actual = await context.reads.streamVersion(context.pool, streamId);
      if (actual !== expectedVersion) return new WrongExpectedVersionError(streamId, expectedVersion, actual);
    }
  }
  return undefined;
}
