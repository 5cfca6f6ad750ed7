import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../src/event-store/event-envelope.js';
import { PostgresEventStore } from '../src/event-store/postgres/postgres-event-store.js';
import { openPostgres, type PostgresConnection } from '../src/event-store/postgres/postgres.connection.js';
import { pollUntil } from '../src/testing/poll-until.js';
import { createTestDatabase, postgresForTests, withRawConnection, type TestDatabase } from '../src/testing/postgres.js';

/**
 * Issue 10, point 2: the global order on PostgreSQL never skips. A
 * subscriber that reads by position must never miss an event that commits
 * after a higher position did. The writers are separate processes running
 * the built adapter (test/fixtures/postgres-writer.mjs); one of them holds
 * an append's transaction open after it has taken its positions, while the
 * other keeps appending. A control shows that the same schedule defeats a
 * subscriber when positions come from a plain sequence without the append
 * lock, so the lock, not luck, is what makes the adapter pass.
 */
const hasPostgres = await postgresForTests();
const WRITER = new URL('./fixtures/postgres-writer.mjs', import.meta.url);
const DEADLINE_MS = 10_000;

describe.skipIf(!hasPostgres)('global order on PostgreSQL (server at LEDGER_TEST_POSTGRES_URL)', () => {
  let db: TestDatabase;
  let connection: PostgresConnection;
  const children: ChildProcess[] = [];
  const subscriptions = new AbortController();

  beforeAll(async () => {
    db = await createTestDatabase();
    connection = await openPostgres(db.url, { log: () => undefined });
  });
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
  });
  afterAll(async () => {
    subscriptions.abort();
    await connection?.close();
    await db?.drop();
  });

  it('a subscriber sees every event of two concurrent writer processes once, in stream order, though one held its transaction open', async () => {
    const run = randomUUID().slice(0, 8);
    const store = new PostgresEventStore(connection, { warn: () => undefined });
    const seen = follow(store, await store.lastPosition(), `site-gap-${run}-`, subscriptions.signal);

    const holder = startWriter(db.url, { prefix: `site-gap-${run}-a-`, holdAt: 40, name: 'holder' });
    const other = startWriter(db.url, { prefix: `site-gap-${run}-b-`, name: 'other' });
    children.push(holder.child, other.child);
    await Promise.all([holder.next('ready'), other.next('ready')]);
    holder.child.send({ type: 'go' });

    // The holder is inside a transaction that has taken positions and not
    // committed. Only then does the other writer start: with group commit it
    // writes its 400 events in a few tens of milliseconds, so started together
    // it could be done before the holder holds anything. Without the lock it
    // now commits higher positions, and the subscriber reads past the held
    // ones; with it, it waits for the lock. Release once either is seen.
    const { positions } = (await holder.next('holding')) as { positions: string[] };
    other.child.send({ type: 'go' });
    const held = positions.reduce((a, b) => (store.comparePositions(a, b) >= 0 ? a : b));
    const outcome = await pollUntil(
      async () => {
        if (seen.events.some((e) => e.streamId.includes('-b-') && store.comparePositions(e.position, held) > 0)) {
          return 'the subscriber read past the held positions';
        }
        return (await waitsForAdvisoryLock(db.url, 'other')) ? 'the other writer waits for the append lock' : undefined;
      },
      { what: 'the other writer to commit or to wait', timeoutMs: DEADLINE_MS, intervalMs: 5 },
    );
    holder.child.send({ type: 'release' });

    const written = [
      ...((await holder.next('done')) as { written: Written[] }).written,
      ...((await other.next('done')) as { written: Written[] }).written,
    ];
    expect(written.length).toBeGreaterThan(600);
    await pollUntil(() => seen.events.length >= written.length || seen.failure !== undefined, {
      what: `the subscriber to see all ${written.length} events`,
      timeoutMs: DEADLINE_MS,
      show: () => `${seen.events.length} seen, missing ${missing(written, seen.events).slice(0, 3).join(', ')}…`,
    });
    expect(seen.failure).toBeUndefined();
    // Give a repeat or a stray event time to show up.
    const last = written.length;
    await store.append(`site-gap-${run}-end`, 0, [marker()]);
    await pollUntil(() => seen.events.some((e) => e.streamId === `site-gap-${run}-end`), {
      what: 'the end marker',
      timeoutMs: DEADLINE_MS,
    });

    const delivered = seen.events.filter((e) => e.streamId !== `site-gap-${run}-end`);
    expect(missing(written, delivered)).toEqual([]);
    // Exactly once, and nothing of theirs that they did not acknowledge.
    expect(new Set(delivered.map((e) => e.eventId)).size).toBe(delivered.length);
    expect(delivered).toHaveLength(last);
    // In each stream's order, versions 1, 2, 3, … without a hole.
    const versions = new Map<string, number[]>();
    for (const event of delivered)
      versions.set(event.streamId, [...(versions.get(event.streamId) ?? []), event.version]);
    for (const [streamId, seenVersions] of versions) {
      expect({ streamId, versions: seenVersions }).toEqual({
        streamId,
        versions: seenVersions.map((_, i) => i + 1),
      });
    }
    // And positions ascend in delivery order.
    for (let i = 1; i < seen.events.length; i++) {
      expect(store.comparePositions(seen.events[i - 1]?.position ?? '0', seen.events[i]?.position ?? '0')).toBe(-1);
    }
    // How the adapter got there: the other writer had to wait for the held transaction.
    expect(outcome).toBe('the other writer waits for the append lock');
  });

  it('control: with a plain sequence and no append lock, the same schedule makes the subscriber miss the held event', async () => {
    const run = randomUUID().slice(0, 8);
    const store = new PostgresEventStore(connection, { warn: () => undefined });
    const seen = follow(store, await store.lastPosition(), `site-ctl-${run}-`, subscriptions.signal);
    const [a, b] = [`site-ctl-${run}-a`, `site-ctl-${run}-b`];

    await withRawConnection(db.url, (writerA) =>
      withRawConnection(db.url, async (writerB) => {
        // Writer A takes its position and holds its transaction open …
        await writerA.query('BEGIN');
        const heldA = await insertRaw(writerA, a, 1);
        // … while writer B takes the next position and commits.
        const committedB = await insertRaw(writerB, b, 1);
        expect(store.comparePositions(committedB.position, heldA.position)).toBeGreaterThan(0);
        await pollUntil(() => seen.events.some((e) => e.eventId === committedB.eventId), {
          what: "the subscriber to read B's event",
          timeoutMs: DEADLINE_MS,
        });
        await writerA.query('COMMIT');
        const after = await insertRaw(writerB, b, 2);
        await pollUntil(() => seen.events.some((e) => e.eventId === after.eventId), {
          what: "the subscriber to read B's next event",
          timeoutMs: DEADLINE_MS,
        });

        // A's event is stored, below B's position, and the subscriber never saw it.
        expect((await store.readStream(a)).map((e) => e.eventId)).toEqual([heldA.eventId]);
        expect(seen.events.map((e) => e.eventId)).toEqual([committedB.eventId, after.eventId]);
      }),
    );
  });
});

interface Written {
  streamId: string;
  version: number;
  eventId: string;
}

/** A writer process and its messages, in order of arrival. */
function startWriter(url: string, options: { prefix: string; name: string; holdAt?: number }) {
  const named = new URL(url);
  // So the test can find this writer's sessions in pg_stat_activity.
  named.searchParams.set('application_name', `gap-writer-${options.name}`);
  const child = fork(
    WRITER,
    [
      JSON.stringify({
        url: named.href,
        prefix: options.prefix,
        streams: 25,
        events: 400,
        concurrency: 4,
        holdAt: options.holdAt,
      }),
    ],
    { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const inbox: { type: string }[] = [];
  child.on('message', (message: { type: string }) => inbox.push(message));
  return {
    child,
    /** The writer's next message, which must be of `type`. */
    next: async (type: string): Promise<unknown> => {
      const message = await pollUntil(
        () => {
          if (inbox.length === 0 && child.exitCode !== null) {
            throw new Error(`writer ${options.name} exited ${child.exitCode}: ${output}`);
          }
          return inbox[0];
        },
        { what: `writer ${options.name} to say ${type}`, timeoutMs: DEADLINE_MS, intervalMs: 5 },
      );
      inbox.shift();
      if (message?.type !== type)
        throw new Error(`writer ${options.name} said ${JSON.stringify(message)}, not ${type}`);
      return message;
    },
  };
}

/** Collects, in delivery order, the events of streams starting with `prefix`. */
function follow(store: PostgresEventStore, after: string | undefined, prefix: string, signal: AbortSignal) {
  const seen = { events: [] as StoredEvent[], failure: undefined as unknown };
  void (async () => {
    try {
      for await (const event of store.subscribeAll(after === undefined ? { signal } : { after, signal })) {
        if (event.streamId.startsWith(prefix)) seen.events.push(event);
      }
    } catch (error) {
      seen.failure = error;
    }
  })();
  return seen;
}

async function waitsForAdvisoryLock(url: string, name: string): Promise<boolean> {
  return withRawConnection(url, async (raw) => {
    const { rows } = await raw.query(
      `SELECT 1 FROM pg_locks l JOIN pg_stat_activity a USING (pid)
       WHERE NOT l.granted AND l.locktype = 'advisory' AND a.application_name = $1`,
      [`gap-writer-${name}`],
    );
    return rows.length > 0;
  });
}

/** What a writer without the append lock does: one row, its position from the identity. */
async function insertRaw(
  client: pg.Client,
  streamId: string,
  version: number,
): Promise<{ eventId: string; position: string }> {
  const eventId = randomUUID();
  const metadata = JSON.stringify({
    actor: 'test',
    occurredAt: new Date().toISOString(),
    correlationId: eventId,
    causationId: null,
  });
  const { rows } = await client.query<{ position: string }>(
    `INSERT INTO events (stream_id, version, event_id, type, data, metadata, prev_hash, hash, occurred_at)
     VALUES ($1, $2, $3, 'Raw', '{}', $4, '', '', 0) RETURNING position`,
    [streamId, version, eventId, metadata],
  );
  const position = rows[0]?.position;
  if (position === undefined) throw new Error('the insert returned no position');
  return { eventId, position };
}

function missing(written: readonly Written[], seen: readonly StoredEvent[]): string[] {
  const ids = new Set(seen.map((e) => e.eventId));
  return written.filter((w) => !ids.has(w.eventId)).map((w) => `${w.streamId}/${w.version}`);
}

function marker() {
  return {
    eventId: randomUUID(),
    type: 'GapTestEnded',
    data: {},
    metadata: { actor: 'test', occurredAt: new Date().toISOString(), correlationId: randomUUID(), causationId: null },
  };
}
