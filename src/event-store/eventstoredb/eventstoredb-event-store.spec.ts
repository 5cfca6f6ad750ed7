import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AccessDeniedError,
  DeadlineExceededError,
  StreamNotFoundError,
  type AppendResult as EsdbAppendResult,
  type EventData,
  type Position,
} from '@eventstore/db-client';
import { describe, expect, it } from 'vitest';
import { EMPTY_STREAM_HEAD, chainEvents, type NewEvent } from '../event-envelope.js';
import {
  EventStoreFailedError,
  EventStoreUnavailableError,
  InvalidPositionError,
  PartialAppendError,
  WrongExpectedVersionError,
} from '../event-store.errors.js';
import { describeEventStoreContract } from '../event-store.contract.js';
import type { EventStore, StreamAppend } from '../event-store.port.js';
import { LEDGER_STREAM_PREFIXES } from '../ledger-streams.js';
import { EventStoreDbEventStore } from './eventstoredb-event-store.js';
import { openEventStoreDbClient, type EventStoreDbClient } from './eventstoredb.client.js';
import { toEventStoreDbEvent, type EventStoreDbRecord } from './eventstoredb.codec.js';
import { encodeEventStoreDbPosition } from './eventstoredb.positions.js';

const connectionString = process.env.EVENTSTORE_CONNECTION_STRING;

if (!connectionString) {
  console.warn(
    'skipped: no EventStoreDB (set EVENTSTORE_CONNECTION_STRING, e.g. esdb://localhost:2113?tls=false, to run the store contract against a server)',
  );
}

describe.skipIf(!connectionString)('EventStoreDB (server at EVENTSTORE_CONNECTION_STRING)', () => {
  describeEventStoreContract('eventstoredb', async () => {
    if (!connectionString) throw new Error('EVENTSTORE_CONNECTION_STRING is not set');
    const clients: EventStoreDbClient[] = [];
    // Contract streams are `contract-<uuid>`; the ledger's own prefixes stay
    // in so the suite sees the global order as the service would. Each
    // store has its own client, so the second writer is truly independent.
    const connect = (): EventStore => {
      const client = openEventStoreDbClient(connectionString);
      clients.push(client);
      return new EventStoreDbEventStore(client, {
        streamPrefixes: [...LEDGER_STREAM_PREFIXES, 'contract-'],
      });
    };
    let store = connect();
    const others: EventStore[] = [];
    return {
      get store() {
        return store;
      },
      async openSecondWriter() {
        const other = connect();
        others.push(other);
        return other;
      },
      async reopen() {
        await store.close();
        store = connect();
        return store;
      },
      // The server outlives the run; the contract's streams stay behind
      // under fresh names and the suite never reads from before its start.
      async cleanup() {
        await Promise.all([store, ...others].map((s) => s.close()));
        await Promise.all(clients.map((client) => client.dispose()));
      },
    };
  });
});

/*
 * What follows needs no server. It tests the adapter's own logic — what it
 * does with the answers a client gives — against a scripted stand-in for the
 * client, built from the client's real error classes and result shapes. It
 * makes no claim that the adapter works against a server: the contract
 * above does that, when one is configured.
 */

type AppendScript = (events: readonly EventData[], commit: () => EsdbAppendResult) => Promise<EsdbAppendResult>;

/** Commits as a server would. */
const commits: AppendScript = async (_events, commit) => commit();

/** A stand-in for the client: streams in memory, appends as scripted per stream. */
class ScriptedClient {
  readonly streams = new Map<string, EventStoreDbRecord[]>();
  readonly appendCalls: string[] = [];
  readonly scripts = new Map<string, AppendScript[]>();
  readonly readAllCalls: unknown[] = [];
  readonly subscribeCalls: (Position | 'start' | undefined)[] = [];
  allRecords: EventStoreDbRecord[] = [];
  subscriptionScripts: (() => Readable)[] = [];
  private nextPosition = 1_000n;

  /** Events already in a stream, as another writer (or an earlier attempt) left them. */
  store(streamId: string, events: readonly EventData[]): void {
    const stream = this.streams.get(streamId) ?? [];
    for (const event of events) {
      this.nextPosition += 100n;
      stream.push(recordOf(streamId, event, BigInt(stream.length), this.nextPosition));
    }
    this.streams.set(streamId, stream);
  }

  async appendToStream(streamId: string, events: EventData[]): Promise<EsdbAppendResult> {
    this.appendCalls.push(streamId);
    const script = this.scripts.get(streamId)?.shift() ?? commits;
    return script(events, () => {
      this.store(streamId, events);
      const last = this.streams.get(streamId)?.at(-1);
      if (!last?.position) throw new Error('nothing stored');
      return {
        success: true,
        nextExpectedRevision: last.revision,
        position: last.position,
      };
    });
  }

  readStream(
    streamId: string,
    options: {
      direction: string;
      fromRevision: bigint | 'end';
      maxCount: number;
    },
  ): Readable & { cancel(): Promise<void> } {
    const stream = this.streams.get(streamId);
    if (stream === undefined) return failing(new StreamNotFoundError(undefined, streamId));
    const records =
      options.fromRevision === 'end'
        ? stream.slice(-options.maxCount).reverse()
        : stream.slice(Number(options.fromRevision), Number(options.fromRevision) + options.maxCount);
    return reading(records.map((event) => ({ event })));
  }

  readAll(options: unknown): Readable & { cancel(): Promise<void> } {
    this.readAllCalls.push(options);
    return reading(this.allRecords.map((event) => ({ event })));
  }

  subscribeToAll(options: { fromPosition?: Position | 'start' }): Readable & { unsubscribe(): Promise<void> } {
    this.subscribeCalls.push(options.fromPosition);
    const next = this.subscriptionScripts.shift();
    if (next === undefined) throw new Error('no subscription scripted');
    return Object.assign(next(), { unsubscribe: async () => undefined });
  }

  /** The one cast of this file: the stand-in offers only what the adapter calls. */
  asClient(): EventStoreDbClient {
    return this as unknown as EventStoreDbClient;
  }
}

function recordOf(streamId: string, event: EventData, revision: bigint, commit: bigint): EventStoreDbRecord {
  return {
    streamId,
    id: event.id,
    revision,
    type: event.type,
    isJson: event.contentType === 'application/json',
    data: JSON.parse(JSON.stringify(event.data)) as unknown,
    metadata: JSON.parse(JSON.stringify(event.metadata)) as unknown,
    position: { commit, prepare: commit },
  };
}

function reading(items: readonly unknown[]): Readable & { cancel(): Promise<void> } {
  return Object.assign(Readable.from(items), { cancel: async () => undefined });
}

function failing(error: Error): Readable & { cancel(): Promise<void> } {
  const readable = new Readable({
    objectMode: true,
    read() {
      this.destroy(error);
    },
  });
  return Object.assign(readable, { cancel: async () => undefined });
}

function newEvent(): NewEvent {
  return {
    eventId: randomUUID(),
    type: 'SiteRegistered',
    data: { n: 1 },
    metadata: {
      actor: 'unit:test',
      occurredAt: new Date().toISOString(),
      correlationId: randomUUID(),
      causationId: null,
    },
  };
}

const newEvents = (count: number): NewEvent[] => Array.from({ length: count }, () => newEvent());

/** The records a server would hold for `events` appended to a new stream. */
function ledgerRecords(streamId: string, events: readonly NewEvent[], firstCommit: bigint): EventStoreDbRecord[] {
  return chainEvents(streamId, EMPTY_STREAM_HEAD, events).map((event, i) =>
    recordOf(streamId, toEventStoreDbEvent(event), BigInt(i), firstCommit + BigInt(i) * 100n),
  );
}

function threeStreams(): StreamAppend[] {
  return ['site-a', 'site-b', 'site-c'].map((streamId) => ({
    streamId,
    expectedVersion: 0,
    events: newEvents(2),
  }));
}

const idsIn = (client: ScriptedClient, streamId: string): string[] =>
  (client.streams.get(streamId) ?? []).map((record) => record.id);

const idsOf = (append: StreamAppend | undefined): string[] => append?.events.map((event) => event.eventId) ?? [];

describe('EventStoreDbEventStore.appendMany, against a scripted client', () => {
  it('throws PartialAppendError carrying exactly the committed results when a later stream fails', async () => {
    const client = new ScriptedClient();
    client.scripts.set('site-b', [
      async () => {
        throw new AccessDeniedError();
      },
    ]);
    const store = new EventStoreDbEventStore(client.asClient());
    const appends = threeStreams();

    const error = await store.appendMany(appends).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(PartialAppendError);
    const partial = error as PartialAppendError;
    const committedA = client.streams.get('site-a')?.at(-1)?.position;
    expect(partial.completed).toEqual([
      {
        streamId: 'site-a',
        nextVersion: 2,
        position: committedA && encodeEventStoreDbPosition(committedA),
      },
    ]);
    expect(partial.cause).toBeInstanceOf(EventStoreFailedError);
    expect(partial.cause).toMatchObject({ reason: 'access-denied' });
    // Nothing after the failed stream was even tried.
    expect(client.appendCalls).toEqual(['site-a', 'site-b']);
    expect(idsIn(client, 'site-a')).toEqual(idsOf(appends[0]));
    expect(client.streams.has('site-b')).toBe(false);
  });

  it('a caller that appends the rest from the error ends with the streams an all-or-nothing success gives', async () => {
    const client = new ScriptedClient();
    client.scripts.set('site-b', [
      async () => {
        throw new DeadlineExceededError();
      },
    ]);
    const store = new EventStoreDbEventStore(client.asClient());
    const appends = threeStreams();

    const error = await store.appendMany(appends).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PartialAppendError);
    const { completed, cause } = error as PartialAppendError;
    // The outcome of a deadline is unknown; the store read the stream back and found nothing.
    expect(cause).toBeInstanceOf(EventStoreUnavailableError);
    const rest = await store.appendMany(appends.slice(completed.length));

    const results = [...completed, ...rest];
    expect(results.map((r) => [r.streamId, r.nextVersion])).toEqual([
      ['site-a', 2],
      ['site-b', 2],
      ['site-c', 2],
    ]);
    for (const append of appends) expect(idsIn(client, append.streamId)).toEqual(idsOf(append));
  });

  it('an append that committed although its deadline passed is a success, not a retry or a conflict', async () => {
    const client = new ScriptedClient();
    client.scripts.set('site-b', [
      async (_events, commit) => {
        commit();
        throw new DeadlineExceededError();
      },
    ]);
    const store = new EventStoreDbEventStore(client.asClient());
    const appends = threeStreams();

    const results = await store.appendMany(appends);

    expect(results.map((r) => [r.streamId, r.nextVersion])).toEqual([
      ['site-a', 2],
      ['site-b', 2],
      ['site-c', 2],
    ]);
    expect(client.appendCalls).toEqual(['site-a', 'site-b', 'site-c']);
    for (const append of appends) expect(idsIn(client, append.streamId)).toEqual(idsOf(append));
  });

  it('a retry whose events the stream already holds, in order, succeeds without appending', async () => {
    const client = new ScriptedClient();
    const [, b] = threeStreams();
    if (b === undefined) throw new Error('no append');
    client.streams.set('site-b', ledgerRecords('site-b', b.events, 5_000n));
    const store = new EventStoreDbEventStore(client.asClient());

    const [result] = await store.appendMany([b]);

    const last = client.streams.get('site-b')?.at(-1)?.position;
    expect(result).toEqual({
      streamId: 'site-b',
      nextVersion: 2,
      position: last && encodeEventStoreDbPosition(last),
    });
    expect(client.appendCalls).toEqual([]);
  });

  it('a stream holding other events is a conflict, found before anything is written', async () => {
    const client = new ScriptedClient();
    client.streams.set('site-b', ledgerRecords('site-b', newEvents(1), 5_000n));
    const store = new EventStoreDbEventStore(client.asClient());

    await expect(store.appendMany(threeStreams())).rejects.toEqual(new WrongExpectedVersionError('site-b', 0, 1));
    expect(client.appendCalls).toEqual([]);
  });

  it('an append answered with success: false (throwOnAppendFailure=false) is a conflict, never a write', async () => {
    const client = new ScriptedClient();
    const intruder = ledgerRecords('site-a', newEvents(1), 9_000n);
    client.scripts.set('site-a', [
      async () => {
        // Another writer got there between the version check and the append.
        client.streams.set('site-a', intruder);
        return {
          success: false,
          nextExpectedRevision: 1n,
          position: undefined,
        };
      },
    ]);
    const store = new EventStoreDbEventStore(client.asClient());

    await expect(store.append('site-a', 0, newEvents(2))).rejects.toEqual(
      new WrongExpectedVersionError('site-a', 0, 1),
    );
  });
});

describe('EventStoreDbEventStore reads, against a scripted client', () => {
  it('readAll skips and reports a $streamDeleted record in a ledger stream instead of failing for good', async () => {
    const client = new ScriptedClient();
    const [first, second] = ledgerRecords('site-a', newEvents(2), 100n);
    if (first === undefined || second === undefined) throw new Error('no records');
    client.allRecords = [
      first,
      {
        streamId: 'site-x',
        id: randomUUID(),
        revision: 2n ** 63n - 1n,
        type: '$streamDeleted',
        isJson: false,
        data: new Uint8Array(0),
        metadata: undefined,
        position: { commit: 150n, prepare: 150n },
      },
      second,
    ];
    const warnings: string[] = [];
    const store = new EventStoreDbEventStore(client.asClient(), {
      warn: (message) => warnings.push(message),
    });

    const events = await store.readAll({ limit: 10 });

    expect(events.map((e) => e.eventId)).toEqual([first.id, second.id]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/\$streamDeleted.*site-x/);
  });

  it('refuses a position it did not issue before any I/O', async () => {
    const client = new ScriptedClient();
    const store = new EventStoreDbEventStore(client.asClient());
    await expect(store.readAll({ after: '42', limit: 1 })).rejects.toBeInstanceOf(InvalidPositionError);
    expect(() => store.subscribeAll({ after: '42' })).toThrow(InvalidPositionError);
    expect(client.readAllCalls).toEqual([]);
    expect(client.subscribeCalls).toEqual([]);
  });

  it('a subscription the server ends by itself resumes after the last event, and fails as unavailable when nothing comes', async () => {
    const client = new ScriptedClient();
    const [first, second] = ledgerRecords('site-a', newEvents(2), 100n);
    if (first?.position === undefined || second?.position === undefined) throw new Error('no records');
    client.subscriptionScripts = [() => Readable.from([{ event: first }, { event: second }]), () => Readable.from([])];
    const warnings: string[] = [];
    const store = new EventStoreDbEventStore(client.asClient(), {
      warn: (message) => warnings.push(message),
    });

    const delivered: string[] = [];
    const ended = await (async () => {
      for await (const event of store.subscribeAll()) delivered.push(event.eventId);
    })().catch((e: unknown) => e);

    expect(delivered).toEqual([first.id, second.id]);
    expect(client.subscribeCalls).toEqual(['start', second.position]);
    expect(warnings).toHaveLength(1);
    expect(ended).toBeInstanceOf(EventStoreUnavailableError);
  });

  it('a subscription refused for good fails with the port error, without resubscribing', async () => {
    const client = new ScriptedClient();
    client.subscriptionScripts = [() => failing(new AccessDeniedError())];
    const store = new EventStoreDbEventStore(client.asClient());

    const ended = await (async () => {
      for await (const _event of store.subscribeAll()) break;
    })().catch((e: unknown) => e);

    expect(ended).toBeInstanceOf(EventStoreFailedError);
    expect(client.subscribeCalls).toHaveLength(1);
  });
});
