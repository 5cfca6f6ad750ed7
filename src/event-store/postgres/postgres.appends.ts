import pg from 'pg';
import { checkAppends, isCommittedRetry } from '../adapter-kit.js';
import { EMPTY_STREAM_HEAD, chainEvents, type ChainedEvent, type StreamHead } from '../event-envelope.js';
import { DuplicateEventIdError, WrongExpectedVersionError } from '../event-store.errors.js';
import type { AppendResult, StreamAppend } from '../event-store.port.js';
import { withConnection } from './postgres.client.js';
import { toPortError } from './postgres.errors.js';
import type { PostgresReads } from './postgres.reads.js';
import { COMMITS_CHANNEL, LEDGER_LOCK_SPACE, LEDGER_LOCKS } from './postgres.schema.js';

/** Runs inside an append's transaction after its positions are taken, before it commits. */
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
 * stored, or the event of this call whose position the insert will tell.
 */
type PositionSource = { position: string } | { eventId: string };

/**
 * `append`/`appendMany` on PostgreSQL: one transaction per call, all or
 * nothing. It takes the append lock (see `postgres-event-store.ts` for why),
 * reads the heads of its streams, checks each expected version (or the
 * retry rule), chains and inserts the events, announces the commit with
 * NOTIFY (delivered only once it commits) and commits.
 */
export async function appendInTransaction(
  context: AppendsContext,
  appends: readonly StreamAppend[],
): Promise<AppendResult[]> {
  const occurredAtMs = checkAppends(appends);
  let wrote = false;
  try {
    const results = await withConnection(context.pool, async (client, discard) => {
      try {
        await client.query(`BEGIN; SELECT pg_advisory_xact_lock(${LEDGER_LOCK_SPACE}, ${LEDGER_LOCKS.appends})`);
        const { results: answers, columns } = await decide(context, client, appends, occurredAtMs);
        wrote = columns.length > 0;
        if (wrote) {
          await context.beforeCommit?.(answers);
          await client.query(`NOTIFY ${COMMITS_CHANNEL}; COMMIT`);
        } else {
          await client.query('COMMIT');
        }
        return answers;
      } catch (error) {
        // A connection that cannot even roll back is in an unknown state: drop it.
        await client.query('ROLLBACK').catch(discard);
        throw error;
      }
    });
    if (wrote) context.committed();
    return results;
  } catch (error) {
    throw await translate(context, error, appends);
  }
}

/**
 * Inside the transaction, under the lock: nobody else writes now, so the
 * heads read here stay the heads until commit.
 */
async function decide(
  context: AppendsContext,
  client: pg.PoolClient,
  appends: readonly StreamAppend[],
  occurredAtMs: readonly number[][],
): Promise<{ results: AppendResult[]; columns: EventColumns }> {
  const stored = await context.reads.headsOf(client, [...new Set(appends.map((append) => append.streamId))]);
  /** The last event this call chains onto each stream, so far. */
  const written = new Map<string, ChainedEvent>();
  const columns = new EventColumns();
  const answers: Omit<AppendResult, 'position'>[] = [];
  const sources: PositionSource[] = [];

  for (const [i, append] of appends.entries()) {
    const { streamId, expectedVersion, events } = append;
    const head: StreamHead | undefined = written.get(streamId) ?? stored.get(streamId);
    const actualVersion = head?.version ?? 0;
    if (actualVersion !== expectedVersion) {
      // The retry rule looks at what is stored, so not at a stream this call already wrote.
      const retried = written.has(streamId) ? undefined : await committedRetry(context, client, append);
      if (retried === undefined) throw new WrongExpectedVersionError(streamId, expectedVersion, actualVersion);
      answers.push({ streamId, nextVersion: retried.nextVersion });
      sources.push({ position: retried.position });
      continue;
    }
    const chained = chainEvents(streamId, head ?? EMPTY_STREAM_HEAD, events);
    chained.forEach((event, j) => columns.add(event, occurredAtMs[i]?.[j] ?? Number.NaN));
    const last = chained.at(-1);
    if (last !== undefined) written.set(streamId, last);
    answers.push({ streamId, nextVersion: actualVersion + events.length });
    // An empty append answers the stream's last position: '0' for a stream that does not exist.
    const lastWritten = written.get(streamId);
    sources.push(
      lastWritten !== undefined
        ? { eventId: lastWritten.eventId }
        : { position: stored.get(streamId)?.position ?? '0' },
    );
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
  const results = answers.map((answer, i) => {
    const source = sources[i];
    const position =
      source === undefined ? undefined : 'position' in source ? source.position : positions.get(source.eventId);
    if (position === undefined) throw new Error(`no position for the append to ${answer.streamId}`);
    return { ...answer, position };
  });
  return { results, columns };
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

/**
 * The port's error for a failed append. Under the append lock a unique
 * violation means an event id that is already stored, or a writer that
 * bypassed the lock (by hand, or an older version of the ledger); either is
 * reported as what it means, read after the rollback.
 */
async function translate(context: AppendsContext, error: unknown, appends: readonly StreamAppend[]): Promise<unknown> {
  if (error instanceof pg.DatabaseError && error.code === UNIQUE_VIOLATION) {
    const named = await explainUniqueViolation(context, error, appends).catch(() => undefined);
    if (named !== undefined) return named;
  }
  const streams = [...new Set(appends.map((append) => append.streamId))];
  const action = `appending to ${streams.slice(0, 3).join(', ')}${streams.length > 3 ? ` and ${streams.length - 3} more` : ''}`;
  return toPortError(error, { action, target: context.target });
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
