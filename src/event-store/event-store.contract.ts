import { randomUUID } from 'node:crypto';
import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JsonObject } from '../common/json.js';
import {
  EMPTY_STREAM_HEAD,
  GENESIS_HASH,
  chainEvents,
  verifyChain,
  type EventMetadata,
  type NewEvent,
  type StoredEvent,
} from './event-envelope.js';
import {
  DuplicateEventIdError,
  InvalidEventIdError,
  InvalidPositionError,
  PartialAppendError,
  WrongExpectedVersionError,
} from './event-store.errors.js';
import type { AppendResult, EventStore, StreamAppend } from './event-store.port.js';

export interface EventStoreContractSubject {
  store: EventStore;
  /**
   * A second, independent writer on the same data (another connection/client),
   * for the race test. `cleanup` closes it; the suite does not.
   */
  openSecondWriter(): Promise<EventStore>;
  /**
   * Close `store` and open the same data again (acknowledged appends must
   * still be there). Optional: memory cannot. `cleanup` closes the new store.
   */
  reopen?(): Promise<EventStore>;
  cleanup(): Promise<void>;
}

/** Below vitest's default 5 s test timeout, so a stuck wait fails with our message. */
const DEADLINE_MS = 4_000;

/**
 * The one suite every EventStore adapter runs.
 *
 * It must pass against a shared, non-empty store (an EventStoreDB server
 * reused between runs, other test files writing at the same time): every
 * stream id is fresh (`contract-<uuid>`), global-order tests look only at
 * their own streams and start from `lastPosition()` taken at the test's
 * start. The adapter must therefore show `contract-` streams in its global
 * order.
 */
export function describeEventStoreContract(name: string, open: () => Promise<EventStoreContractSubject>): void {
  describe(`EventStore contract: ${name}`, () => {
    let subject: EventStoreContractSubject;
    let store: EventStore;
    /** Aborted after each test so a failed test leaves no subscription running. */
    let subscriptions: AbortController;

    beforeEach(async () => {
      subject = await open();
      store = subject.store;
      subscriptions = new AbortController();
    });

    afterEach(async () => {
      subscriptions.abort();
      await subject.cleanup();
    });

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    describe('versions', () => {
      it('a new stream is at version 0 and reads as []', async () => {
        const streamId = newStreamId();
        expect(await store.streamVersion(streamId)).toBe(0);
        expect(await store.readStream(streamId)).toEqual([]);
      });

      it('the first event is version 1, then each append adds its count', async () => {
        const streamId = newStreamId();
        const first = await store.append(streamId, 0, [newEvent()]);
        expect(first).toMatchObject({ streamId, nextVersion: 1 });
        expect(await store.streamVersion(streamId)).toBe(1);

        const second = await store.append(streamId, 1, [newEvent(), newEvent()]);
        expect(second).toMatchObject({ streamId, nextVersion: 3 });
        expect(await store.streamVersion(streamId)).toBe(3);
        expect((await store.readStream(streamId)).map((e) => e.version)).toEqual([1, 2, 3]);
      });

      it("an append's position is that of its last event", async () => {
        const streamId = newStreamId();
        const result = await store.append(streamId, 0, [newEvent(), newEvent()]);
        const events = await store.readStream(streamId);
        expect(result.position).toBe(events[1]?.position);
      });

      it.each([
        { stored: 0, expected: 1, case: 'expecting 1 of a new stream' },
        { stored: 2, expected: 0, case: 'expecting a new stream at version 2' },
        { stored: 2, expected: 1, case: 'expecting 1 of a stream at 2' },
        { stored: 2, expected: 3, case: 'expecting 3 of a stream at 2' },
      ])('a wrong expected version ($case) throws and writes nothing', async ({ stored, expected }) => {
        const streamId = newStreamId();
        if (stored > 0) await store.append(streamId, 0, newEvents(stored));
        const start = await store.lastPosition();
        const intruder = newEvent();

        await expectVersionConflict(store.append(streamId, expected, [intruder]), {
          streamId,
          expectedVersion: expected,
          actualVersion: stored,
        });

        expect(await store.streamVersion(streamId)).toBe(stored);
        expect((await store.readStream(streamId)).map((e) => e.eventId)).not.toContain(intruder.eventId);
        const after = await readAllAfter(store, start);
        expect(after.map((e) => e.eventId)).not.toContain(intruder.eventId);
      });

      it('an empty append only checks the version', async () => {
        const streamId = newStreamId();
        const empty = await store.append(streamId, 0, []);
        expect(empty).toMatchObject({ streamId, nextVersion: 0 });
        expect(await store.streamVersion(streamId)).toBe(0);

        await store.append(streamId, 0, [newEvent()]);
        expect(await store.append(streamId, 1, [])).toMatchObject({
          nextVersion: 1,
        });
        await expectVersionConflict(store.append(streamId, 0, []), {
          streamId,
          expectedVersion: 0,
          actualVersion: 1,
        });
        expect(await store.streamVersion(streamId)).toBe(1);
      });
    });

    describe('readStream', () => {
      /** Five events, an hour apart in occurredAt (at .250 s), far from the wall clock. */
      const times = [1, 2, 3, 4, 5].map((hour) => `2020-02-02T0${hour}:00:00.250Z`);
      let streamId: string;

      beforeEach(async () => {
        streamId = newStreamId();
        await store.append(
          streamId,
          0,
          times.map((occurredAt) => newEvent({ occurredAt })),
        );
      });

      const versions = async (options: Parameters<EventStore['readStream']>[1]) =>
        (await store.readStream(streamId, options)).map((e) => e.version);

      it('reads oldest first', async () => {
        expect(await versions(undefined)).toEqual([1, 2, 3, 4, 5]);
      });

      it('afterVersion, toVersion and limit narrow the read', async () => {
        expect(await versions({ afterVersion: 2 })).toEqual([3, 4, 5]);
        expect(await versions({ afterVersion: 5 })).toEqual([]);
        expect(await versions({ toVersion: 3 })).toEqual([1, 2, 3]);
        expect(await versions({ toVersion: 0 })).toEqual([]);
        expect(await versions({ afterVersion: 1, toVersion: 3 })).toEqual([2, 3]);
        expect(await versions({ limit: 2 })).toEqual([1, 2]);
        expect(await versions({ afterVersion: 2, limit: 2 })).toEqual([3, 4]);
        expect(await versions({ toVersion: 9 })).toEqual([1, 2, 3, 4, 5]);
      });

      it('toTime keeps events whose metadata.occurredAt is at or before it', async () => {
        expect(await versions({ toTime: '2020-02-02T03:00:00.250Z' })).toEqual([1, 2, 3]);
        expect(await versions({ toTime: '2020-02-02T03:00:00.249Z' })).toEqual([1, 2]);
        expect(await versions({ toTime: '2020-02-02T03:59:59.999Z' })).toEqual([1, 2, 3]);
        expect(await versions({ toTime: '2020-02-02T01:00:00.000Z' })).toEqual([]);
        expect(await versions({ toTime: '2030-01-01T00:00:00.000Z' })).toEqual([1, 2, 3, 4, 5]);
        expect(await versions({ toTime: '2020-02-02T04:00:00.250Z', toVersion: 3 })).toEqual([1, 2, 3]);
      });

      it('toTime is compared as a time, not as a string', async () => {
        // As strings, "…T03:00:00.250Z" < "…T03:00:00Z" ('.' < 'Z'); as times it is later.
        expect(await versions({ toTime: '2020-02-02T03:00:00Z' })).toEqual([1, 2]);
        // The same instant as …T03:00:00.250Z, written with an offset.
        expect(await versions({ toTime: '2020-02-02T04:00:00.250+01:00' })).toEqual([1, 2, 3]);
      });
    });

    describe('hash chain', () => {
      it('stores events exactly as chained: first prevHash is GENESIS_HASH, every link verifies', async () => {
        const streamId = newStreamId();
        const first = [
          newEvent({
            data: {
              text: 'grüße, 日本, "quotes" and \\ back',
              count: 42,
              ratio: 0.125,
              on: true,
              off: false,
              nothing: null,
              list: [1, 'two', { three: [3] }],
              nested: { b: 1, a: { z: [], y: {} } },
            },
          }),
          newEvent({
            causationId: randomUUID(),
            operationId: 'op_contract',
            reason: 'why',
          }),
        ];
        const second = [newEvent({ ticket: 'TICKET-1', compensates: first[0]?.eventId })];
        await store.append(streamId, 0, first);
        await store.append(streamId, 2, second);

        const stored = await store.readStream(streamId);
        expect(stored[0]?.prevHash).toBe(GENESIS_HASH);
        expect(stored[1]?.prevHash).toBe(stored[0]?.hash);
        expect(stored[2]?.prevHash).toBe(stored[1]?.hash);
        expect(verifyChain(stored)).toEqual({
          ok: true,
          head: { version: 3, hash: stored[2]?.hash },
        });

        const expected = chainEvents(streamId, EMPTY_STREAM_HEAD, [...first, ...second]);
        expect(stored.map(withoutPosition)).toStrictEqual(expected);
      });

      it('readAll returns the same events as readStream', async () => {
        const start = await store.lastPosition();
        const streamId = newStreamId();
        await store.append(streamId, 0, newEvents(3));
        const fromStream = await store.readStream(streamId);
        const fromAll = (await readAllAfter(store, start)).filter((e) => e.streamId === streamId);
        expect(fromAll).toStrictEqual(fromStream);
      });
    });

    describe('global order', () => {
      it('readAll follows commit order across streams', async () => {
        const start = await store.lastPosition();
        const [a, b] = [newStreamId(), newStreamId()];
        const written = [newEvent(), newEvent(), newEvent(), newEvent(), newEvent()];
        await store.append(a, 0, written.slice(0, 1));
        await store.append(b, 0, written.slice(1, 3));
        await store.append(a, 1, written.slice(3, 4));
        await store.append(b, 2, written.slice(4, 5));

        const own = ownEvents(await readAllAfter(store, start), [a, b]);
        expect(own.map((e) => e.eventId)).toEqual(written.map((e) => e.eventId));
        expect(own.map((e) => `${e.streamId === a ? 'a' : 'b'}${e.version}`)).toEqual(['a1', 'b1', 'b2', 'a2', 'b3']);
      });

      it('events appended together appear together and in order', async () => {
        const start = await store.lastPosition();
        const streamId = newStreamId();
        await store.append(streamId, 0, newEvents(4));
        const all = await readAllAfter(store, start);
        const firstIndex = all.findIndex((e) => e.streamId === streamId);
        expect(firstIndex).toBeGreaterThanOrEqual(0);
        expect(all.slice(firstIndex, firstIndex + 4).map((e) => `${e.streamId}/${e.version}`)).toEqual(
          [1, 2, 3, 4].map((version) => `${streamId}/${version}`),
        );
      });

      it('paging with after/limit gives every event once, with no gaps', async () => {
        const start = await store.lastPosition();
        const streams = [newStreamId(), newStreamId(), newStreamId()];
        const written: string[] = [];
        for (let round = 0; round < 3; round++) {
          for (const streamId of streams) {
            const events = newEvents(round + 1);
            await store.append(streamId, (round * (round + 1)) / 2, events);
            written.push(...events.map((e) => e.eventId));
          }
        }
        const everything = await readAllAfter(store, start);

        for (const limit of [1, 2, 5, 7]) {
          const paged: StoredEvent[] = [];
          let after = start;
          for (;;) {
            const page = await store.readAll({ after, limit });
            expect(page.length).toBeLessThanOrEqual(limit);
            const [first, last] = [page[0], page.at(-1)];
            if (first === undefined || last === undefined) break;
            if (after !== undefined) {
              expect(store.comparePositions(first.position, after)).toBeGreaterThan(0);
            }
            paged.push(...page);
            after = last.position;
            // On a shared store others may keep writing; stop once past our events.
            if (ownEvents(paged, streams).length === written.length) break;
          }
          expect(ownEvents(paged, streams).map((e) => e.eventId)).toEqual(written);
          // Nothing skipped or repeated between pages, foreign events included
          // (up to our last event: a shared store may have grown since).
          const upTo = paged.findLastIndex((e) => streams.includes(e.streamId)) + 1;
          expect(paged.slice(0, upTo).map((e) => e.position)).toEqual(everything.slice(0, upTo).map((e) => e.position));
        }
      });

      it('positions strictly increase under comparePositions', async () => {
        const start = await store.lastPosition();
        const [a, b] = [newStreamId(), newStreamId()];
        for (let i = 0; i < 6; i++) await store.append(i % 2 ? b : a, Math.floor(i / 2), [newEvent()]);
        await store.append(a, 3, newEvents(5));
        const all = await readAllAfter(store, start);
        expect(ownEvents(all, [a, b])).toHaveLength(11);
        for (let i = 1; i < all.length; i++) {
          const [earlier, later] = [all[i - 1]?.position ?? '', all[i]?.position ?? ''];
          expect(store.comparePositions(earlier, later)).toBeLessThan(0);
          expect(store.comparePositions(later, earlier)).toBeGreaterThan(0);
          expect(store.comparePositions(later, later)).toBe(0);
        }
        if (start !== undefined) {
          expect(store.comparePositions(start, all[0]?.position ?? '')).toBeLessThan(0);
        }
      });

      it('lastPosition() is the position of the last appended event', async () => {
        const result = await store.append(newStreamId(), 0, newEvents(2));
        const last = await store.lastPosition();
        expect(last).toBeDefined();
        if (last !== result.position) {
          // Only possible on a shared store that another writer appended to
          // meanwhile: then it must be one of the positions after ours.
          const later = await store.readAll({
            after: result.position,
            limit: 1000,
          });
          expect(later.map((e) => e.position)).toContain(last);
        }
      });
    });

    describe('appendMany', () => {
      it('appends to several streams and answers in order', async () => {
        const start = await store.lastPosition();
        const [a, b, c] = [newStreamId(), newStreamId(), newStreamId()];
        await store.append(b, 0, newEvents(2));
        const results = await store.appendMany([
          { streamId: a, expectedVersion: 0, events: newEvents(1) },
          { streamId: b, expectedVersion: 2, events: newEvents(3) },
          { streamId: c, expectedVersion: 0, events: newEvents(2) },
        ]);
        expect(
          results.map(({ streamId, nextVersion }) => ({
            streamId,
            nextVersion,
          })),
        ).toEqual([
          { streamId: a, nextVersion: 1 },
          { streamId: b, nextVersion: 5 },
          { streamId: c, nextVersion: 2 },
        ]);
        for (const result of results) {
          const events = await store.readStream(result.streamId);
          expect(result.position).toBe(events.at(-1)?.position);
          expect(verifyChain(events).ok).toBe(true);
        }
        const own = ownEvents(await readAllAfter(store, start), [a, b, c]);
        expect(own.map((e) => `${e.streamId}/${e.version}`)).toEqual([
          `${b}/1`,
          `${b}/2`,
          `${a}/1`,
          `${b}/3`,
          `${b}/4`,
          `${b}/5`,
          `${c}/1`,
          `${c}/2`,
        ]);
      });

      it('may append to one stream twice, in order', async () => {
        const streamId = newStreamId();
        const [first, second] = [newEvents(2), newEvents(1)];
        const results = await store.appendMany([
          { streamId, expectedVersion: 0, events: first },
          { streamId, expectedVersion: 2, events: second },
        ]);
        expect(results.map((r) => r.nextVersion)).toEqual([2, 3]);
        const stored = await store.readStream(streamId);
        expect(stored.map((e) => e.eventId)).toEqual([...first, ...second].map((e) => e.eventId));
        expect(verifyChain(stored).ok).toBe(true);
      });

      it('writes nothing when a later stream is not at its version, or says exactly what it committed', async () => {
        const [a, b, c] = [newStreamId(), newStreamId(), newStreamId()];
        await store.append(b, 0, newEvents(1));
        const appends: StreamAppend[] = [
          { streamId: a, expectedVersion: 0, events: newEvents(2) },
          { streamId: b, expectedVersion: 0, events: newEvents(1) },
          { streamId: c, expectedVersion: 0, events: newEvents(1) },
        ];
        const error = await store.appendMany(appends).then(
          () => undefined,
          (reason: unknown) => reason,
        );
        // An all-or-nothing store throws the conflict and writes nothing; a
        // store that commits stream by stream may instead have written `a`
        // already (a writer raced it), and must then say so.
        let committed = 0;
        if (error instanceof PartialAppendError) {
          committed = error.completed.length;
          expect(error.cause).toBeInstanceOf(WrongExpectedVersionError);
          expect(error.completed.map((r) => r.streamId)).toEqual([a]);
        } else {
          await expectVersionConflict(Promise.reject(error), {
            streamId: b,
            expectedVersion: 0,
            actualVersion: 1,
          });
        }
        expect(await eventIdsOf(store, a)).toEqual(committed > 0 ? idsOf(appends[0]) : []);
        expect(await store.streamVersion(b)).toBe(1);
        expect(await eventIdsOf(store, c)).toEqual([]);
      });

      it('a caller that resumes after PartialAppendError ends where an all-or-nothing success would', async () => {
        const [a, b, c] = [newStreamId(), newStreamId(), newStreamId()];
        await store.append(b, 0, newEvents(2));
        const appends: StreamAppend[] = [
          { streamId: a, expectedVersion: 0, events: newEvents(1) },
          { streamId: b, expectedVersion: 2, events: newEvents(2) },
          { streamId: c, expectedVersion: 0, events: newEvents(3) },
          { streamId: a, expectedVersion: 1, events: newEvents(1) },
        ];
        const results = await appendManyResuming(store, appends);

        expect(results.map((r) => [r.streamId, r.nextVersion])).toEqual([
          [a, 1],
          [b, 4],
          [c, 3],
          [a, 2],
        ]);
        for (const streamId of [a, b, c]) {
          const stored = await store.readStream(streamId);
          expect(verifyChain(stored).ok).toBe(true);
          expect(stored.at(-1)?.position).toBe(results.findLast((r) => r.streamId === streamId)?.position);
        }
        expect(await eventIdsOf(store, a)).toEqual([...idsOf(appends[0]), ...idsOf(appends[3])]);
        expect((await eventIdsOf(store, b)).slice(2)).toEqual(idsOf(appends[1]));
        expect(await eventIdsOf(store, c)).toEqual(idsOf(appends[2]));
      });
    });

    describe('retry rule', () => {
      it('an append repeated after it committed succeeds, writes nothing twice and answers as the first did', async () => {
        const start = await store.lastPosition();
        const streamId = newStreamId();
        const events = newEvents(2);
        const first = await store.append(streamId, 0, events);
        expect(await store.append(streamId, 0, events)).toEqual(first);

        // Still so once the stream has moved on.
        await store.append(streamId, 2, newEvents(1));
        expect(await store.append(streamId, 0, events)).toEqual(first);
        expect(await store.streamVersion(streamId)).toBe(3);
        const own = ownEvents(await readAllAfter(store, start), [streamId]);
        expect(own.map((e) => e.version)).toEqual([1, 2, 3]);
      });

      it('applies to each append of an appendMany', async () => {
        const [a, b] = [newStreamId(), newStreamId()];
        const appends: StreamAppend[] = [
          { streamId: a, expectedVersion: 0, events: newEvents(1) },
          { streamId: b, expectedVersion: 0, events: newEvents(2) },
        ];
        const [firstA] = await store.appendMany(appends.slice(0, 1));
        const results = await store.appendMany(appends);
        expect(results[0]).toEqual(firstA);
        expect(results[1]).toMatchObject({ streamId: b, nextVersion: 2 });
        expect(await eventIdsOf(store, a)).toEqual(idsOf(appends[0]));
        expect(await eventIdsOf(store, b)).toEqual(idsOf(appends[1]));
      });

      it('does not apply when the stored events are not exactly the same ones', async () => {
        const streamId = newStreamId();
        const events = newEvents(2);
        await store.append(streamId, 0, events);
        // Not the ones right after the expected version, more than them, in
        // another order, or an empty append: a plain conflict.
        for (const retried of [
          events.slice(1),
          [...events, newEvent()],
          [events[1], events[0]].filter((e) => e !== undefined),
          [],
        ]) {
          await expectVersionConflict(store.append(streamId, 0, retried), {
            streamId,
            expectedVersion: 0,
            actualVersion: 2,
          });
        }
        expect(await store.streamVersion(streamId)).toBe(2);
      });
    });

    describe('event ids', () => {
      const uuid = '0b6fb1b2-8b4f-4c4e-9a57-3f0e0a1b2c3d';
      it.each([
        { case: 'upper case', eventId: uuid.toUpperCase() },
        { case: 'without dashes', eventId: uuid.replace(/-/g, '') },
        { case: 'in braces', eventId: `{${uuid}}` },
        {
          case: 'the nil UUID',
          eventId: '00000000-0000-0000-0000-000000000000',
        },
        { case: 'version 0', eventId: '0b6fb1b2-8b4f-0c4e-9a57-3f0e0a1b2c3d' },
        {
          case: 'variant 11xx',
          eventId: '0b6fb1b2-8b4f-4c4e-ca57-3f0e0a1b2c3d',
        },
        { case: 'not a UUID', eventId: 'event-1' },
        { case: 'empty', eventId: '' },
      ])(
        'an id that is not a lowercase RFC 4122 UUID ($case) throws InvalidEventIdError and writes nothing',
        async ({ eventId }) => {
          const [a, b] = [newStreamId(), newStreamId()];
          const error = await store
            .appendMany([
              { streamId: a, expectedVersion: 0, events: newEvents(1) },
              {
                streamId: b,
                expectedVersion: 0,
                events: [{ ...newEvent(), eventId }],
              },
            ])
            .catch((reason: unknown) => reason);
          expect(error).toBeInstanceOf(InvalidEventIdError);
          expect(error).toMatchObject({
            code: 'store.invalid-event-id',
            eventId,
          });
          expect(await store.streamVersion(a)).toBe(0);
          expect(await store.streamVersion(b)).toBe(0);
        },
      );

      it('accepts the ids crypto.randomUUID() makes, and gives them back unchanged', async () => {
        const streamId = newStreamId();
        const events = newEvents(3);
        await store.append(streamId, 0, events);
        expect(await eventIdsOf(store, streamId)).toEqual(events.map((e) => e.eventId));
      });

      it('refuses one id twice in one call, writing nothing', async () => {
        const [a, b] = [newStreamId(), newStreamId()];
        const event = newEvent();
        await expect(
          store.appendMany([
            { streamId: a, expectedVersion: 0, events: [event] },
            { streamId: b, expectedVersion: 0, events: [{ ...event }] },
          ]),
        ).rejects.toBeInstanceOf(DuplicateEventIdError);
        expect(await store.streamVersion(a)).toBe(0);
      });
    });

    describe('positions', () => {
      const foreign = ['', 'x', ' 1', '-1', '1.5', '1e3', 'position-1', '0x10'];

      it('isPosition holds for every position the store issues and for no foreign string', async () => {
        const streamId = newStreamId();
        const result = await store.append(streamId, 0, newEvents(2));
        const empty = await store.append(newStreamId(), 0, []);
        const stored = await store.readStream(streamId);
        for (const position of [result.position, empty.position, ...stored.map((e) => e.position)]) {
          expect(store.isPosition(position)).toBe(true);
        }
        for (const text of foreign) expect(store.isPosition(text)).toBe(false);
      });

      it('a foreign position throws InvalidPositionError wherever one is accepted', async () => {
        const { position } = await store.append(newStreamId(), 0, newEvents(1));
        for (const text of foreign) {
          await expect(store.readAll({ after: text, limit: 1 })).rejects.toBeInstanceOf(InvalidPositionError);
          expect(() => store.subscribeAll({ after: text })).toThrow(InvalidPositionError);
          expect(() => store.comparePositions(text, position)).toThrow(InvalidPositionError);
          expect(() => store.comparePositions(position, text)).toThrow(InvalidPositionError);
        }
      });

      it("an empty append's position on a new stream is a valid position before every event", async () => {
        const empty = await store.append(newStreamId(), 0, []);
        const { position } = await store.append(newStreamId(), 0, newEvents(1));
        expect(store.comparePositions(empty.position, position)).toBeLessThan(0);
      });
    });

    describe('subscribeAll', () => {
      it('delivers stored events (catch-up), then new ones as they are committed (live)', async () => {
        const start = await store.lastPosition();
        const streamId = newStreamId();
        const stored = newEvents(3);
        await store.append(streamId, 0, stored);

        const events = ownIterator(store, streamId, {
          after: start,
          signal: subscriptions.signal,
        });
        const caughtUp = [await events.next(), await events.next(), await events.next()];
        expect(caughtUp.map((e) => e.eventId)).toEqual(stored.map((e) => e.eventId));

        // Ask first, then append: the subscriber is waiting when the event commits.
        const live = newEvent();
        const delivered = events.next();
        await store.append(streamId, 3, [live]);
        expect(await delivered).toMatchObject({
          eventId: live.eventId,
          streamId,
          version: 4,
        });
      });

      it('catches up across many events in order', async () => {
        const start = await store.lastPosition();
        const streamId = newStreamId();
        const count = 600;
        for (let version = 0; version < count; version += 200) {
          await store.append(streamId, version, newEvents(200));
        }
        const events = ownIterator(store, streamId, {
          after: start,
          signal: subscriptions.signal,
        });
        const versions: number[] = [];
        for (let i = 0; i < count; i++) versions.push((await events.next()).version);
        expect(versions).toEqual(Array.from({ length: count }, (_, i) => i + 1));
      });

      it('resumes after a position with no gaps or repeats', async () => {
        const start = await store.lastPosition();
        const streamId = newStreamId();
        const written = newEvents(5);
        await store.append(streamId, 0, written.slice(0, 2));
        await store.append(streamId, 2, written.slice(2));
        const ids = written.map((e) => e.eventId);

        // A consumer reads two events, stops, and resumes from the last one it saw.
        const firstRun = ownIterator(store, streamId, {
          after: start,
          signal: subscriptions.signal,
        });
        const seen = [await firstRun.next(), await firstRun.next()];
        await firstRun.stop();
        const resumed = ownIterator(store, streamId, {
          after: seen[1]?.position,
          signal: subscriptions.signal,
        });
        const rest = [await resumed.next(), await resumed.next(), await resumed.next()];
        expect([...seen, ...rest].map((e) => e.eventId)).toEqual(ids);

        // The next event after the resumed run is a new one, not a repeat.
        const next = resumed.next();
        const extra = newEvent();
        await store.append(streamId, 5, [extra]);
        expect((await next).eventId).toBe(extra.eventId);
      });

      it('delivers events committed by another writer', async () => {
        const other = await subject.openSecondWriter();
        const start = await store.lastPosition();
        const streamId = newStreamId();
        const events = ownIterator(store, streamId, {
          after: start,
          signal: subscriptions.signal,
        });
        const delivered = events.next();
        const written = newEvent();
        await other.append(streamId, 0, [written]);
        expect((await delivered).eventId).toBe(written.eventId);
      });

      it('ends when the signal aborts while waiting, leaving no listener on it', async () => {
        const start = await store.lastPosition();
        const streamId = newStreamId();
        await store.append(streamId, 0, newEvents(1));
        const controller = new AbortController();
        const iterator = store.subscribeAll({ after: start, signal: controller.signal })[Symbol.asyncIterator]();
        expect((await within(nextOf(iterator, streamId), 'the stored event')).done).toBe(false);

        const pending = nextOf(iterator, streamId); // caught up: waiting for live events
        controller.abort();
        expect(await within(pending, 'the end after abort')).toEqual({
          done: true,
          value: undefined,
        });
        expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);

        // Appended after the abort: never delivered.
        await store.append(streamId, 1, newEvents(1));
        expect((await within(iterator.next(), 'the ended iterator')).done).toBe(true);
      });

      it('delivers nothing when the signal is already aborted', async () => {
        const streamId = newStreamId();
        await store.append(streamId, 0, newEvents(1));
        const iterator = store.subscribeAll({ signal: AbortSignal.abort() })[Symbol.asyncIterator]();
        expect((await within(iterator.next(), 'the end')).done).toBe(true);
      });

      it('delivers nothing more once the signal aborts, even events already stored', async () => {
        const start = await store.lastPosition();
        const streamId = newStreamId();
        await store.append(streamId, 0, newEvents(3));
        const controller = new AbortController();
        const iterator = store.subscribeAll({ after: start, signal: controller.signal })[Symbol.asyncIterator]();
        const first = await within(nextOf(iterator, streamId), 'the first event');
        expect(first.value?.version).toBe(1);
        controller.abort();
        expect(await within(nextOf(iterator, streamId), 'the end after abort')).toEqual({
          done: true,
          value: undefined,
        });
      });

      it('ends when the consumer breaks out of for-await, leaving no listener behind', async () => {
        const start = await store.lastPosition();
        const streamId = newStreamId();
        const controller = new AbortController();
        const iterator = store.subscribeAll({ after: start, signal: controller.signal })[Symbol.asyncIterator]();
        // Wait for a live event first, so the adapter has had to listen for one.
        const live = within(nextOf(iterator, streamId), 'the live event');
        await store.append(streamId, 0, newEvents(3));
        expect((await live).value?.version).toBe(1);

        let received: StoredEvent | undefined;
        await within(
          (async () => {
            for await (const event of {
              [Symbol.asyncIterator]: () => iterator,
            }) {
              if (event.streamId === streamId) {
                received = event;
                break; // calls iterator.return()
              }
            }
          })(),
          'for-await to end after break',
        );
        expect(received?.version).toBe(2);
        // Ended for good: the stored event it did not deliver stays undelivered.
        expect(await within(iterator.next(), 'the ended iterator')).toEqual({
          done: true,
          value: undefined,
        });
        expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
      });
    });

    describe('two writers race', () => {
      const race = async (writerA: EventStore, writerB: EventStore): Promise<void> => {
        for (let round = 0; round < 4; round++) {
          const streamId = newStreamId();
          const base = round % 2; // expected version 0 and n
          if (base > 0) await store.append(streamId, 0, newEvents(base));
          const [a, b] = [newEvents(2), newEvents(3)];

          const outcomes = await Promise.allSettled([
            writerA.append(streamId, base, a),
            writerB.append(streamId, base, b),
          ]);

          const fulfilled = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
          const rejected = outcomes.flatMap((o): unknown[] => (o.status === 'rejected' ? [o.reason] : []));
          expect(fulfilled).toHaveLength(1);
          expect(rejected).toHaveLength(1);
          const winner = fulfilled[0] === 0 ? a : b;
          expect(rejected[0]).toBeInstanceOf(WrongExpectedVersionError);
          expect(rejected[0]).toMatchObject({
            streamId,
            expectedVersion: base,
            actualVersion: base + winner.length,
          });

          const stored = await store.readStream(streamId);
          expect(stored.slice(base).map((e) => e.eventId)).toEqual(winner.map((e) => e.eventId));
          expect(stored).toHaveLength(base + winner.length);
          expect(verifyChain(stored).ok).toBe(true);
        }
      };

      it('on one store, exactly one of two appends with the same expected version wins', async () => {
        await race(store, store);
      });

      it('on two writers, exactly one of two appends with the same expected version wins', async () => {
        await race(store, await subject.openSecondWriter());
      });
    });

    describe('concurrent appends (a store may commit them together)', () => {
      const CALLERS = 24;

      it('appends to distinct streams from many callers at once all succeed, at distinct positions with no gaps', async () => {
        const start = await store.lastPosition();
        const streams = Array.from({ length: CALLERS }, () => newStreamId());
        const written = streams.map((_, i) => newEvents(1 + (i % 3)));
        const results = await Promise.all(streams.map((streamId, i) => store.append(streamId, 0, written[i] ?? [])));

        expect(results.map((r) => [r.streamId, r.nextVersion])).toEqual(streams.map((s, i) => [s, written[i]?.length]));
        const own = ownEvents(await readAllAfter(store, start), streams);
        expect(own).toHaveLength(written.flat().length);
        // Each answer is its last event's position, and each stream's events are together, in order.
        for (const [i, result] of results.entries()) {
          const events = own.filter((e) => e.streamId === result.streamId);
          expect(events.map((e) => e.eventId)).toEqual(written[i]?.map((e) => e.eventId));
          expect(result.position).toBe(events.at(-1)?.position);
          const first = own.indexOf(events[0]!);
          expect(own.slice(first, first + events.length)).toEqual(events);
          expect(verifyChain(events).ok).toBe(true);
        }
        // No gaps: one event at a time from the start, a reader meets every one of them.
        const stepped: StoredEvent[] = [];
        for (let after = start; ownEvents(stepped, streams).length < own.length;) {
          const [next] = await store.readAll({ after, limit: 1 });
          if (next === undefined) break;
          stepped.push(next);
          after = next.position;
        }
        expect(ownEvents(stepped, streams).map((e) => e.position)).toEqual(own.map((e) => e.position));
      });

      it('one append that conflicts fails alone; the appends around it commit', async () => {
        const [a, b, c, d, e] = [newStreamId(), newStreamId(), newStreamId(), newStreamId(), newStreamId()];
        await store.append(b, 0, newEvents(1));
        const appends: StreamAppend[][] = [
          [{ streamId: a, expectedVersion: 0, events: newEvents(1) }],
          [{ streamId: b, expectedVersion: 0, events: newEvents(1) }], // b is at 1
          [{ streamId: c, expectedVersion: 0, events: newEvents(2) }],
          [
            // b is at 1: nothing of this call is written. b comes first, so
            // that a store committing stream by stream fails before d too.
            { streamId: b, expectedVersion: 3, events: newEvents(1) },
            { streamId: d, expectedVersion: 0, events: newEvents(1) },
          ],
          [{ streamId: e, expectedVersion: 0, events: newEvents(1) }],
        ];
        const outcomes = await Promise.allSettled(appends.map((each) => store.appendMany(each)));

        expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
        const reasons = outcomes.flatMap((o): unknown[] => (o.status === 'rejected' ? [o.reason] : []));
        await expectVersionConflict(Promise.reject(reasons[0]), { streamId: b, expectedVersion: 0, actualVersion: 1 });
        await expectVersionConflict(Promise.reject(reasons[1]), { streamId: b, expectedVersion: 3, actualVersion: 1 });
        expect(await eventIdsOf(store, a)).toEqual(idsOf(appends[0]?.[0]));
        expect(await store.streamVersion(b)).toBe(1);
        expect(await eventIdsOf(store, c)).toEqual(idsOf(appends[2]?.[0]));
        expect(await eventIdsOf(store, d)).toEqual([]);
        expect(await eventIdsOf(store, e)).toEqual(idsOf(appends[4]?.[0]));
      });

      it('an append repeated while the first attempt is still in flight succeeds, writing nothing twice', async () => {
        const [a, b] = [newStreamId(), newStreamId()];
        const events = newEvents(2);
        const [first, again, other] = await Promise.all([
          store.append(a, 0, events),
          store.append(a, 0, events),
          store.append(b, 0, newEvents(1)),
        ]);
        expect(again).toEqual(first);
        expect(other).toMatchObject({ streamId: b, nextVersion: 1 });
        expect(await eventIdsOf(store, a)).toEqual(events.map((e) => e.eventId));
      });

      it('each append is durable when it resolves: an independent reader sees it at that moment', async () => {
        const other = await subject.openSecondWriter();
        const streams = Array.from({ length: CALLERS }, () => newStreamId());
        const written = streams.map(() => newEvents(1));
        const seen: Promise<string[]>[] = [];
        await Promise.all(
          streams.map((streamId, i) =>
            store.append(streamId, 0, written[i] ?? []).then(() => {
              seen.push(eventIdsOf(other, streamId));
            }),
          ),
        );
        expect(await Promise.all(seen)).toEqual(written.map((events) => events.map((e) => e.eventId)));

        const reopen = subject.reopen?.bind(subject);
        if (reopen === undefined) return;
        const reopened = await reopen();
        for (const [i, streamId] of streams.entries()) {
          expect(await eventIdsOf(reopened, streamId)).toEqual(written[i]?.map((e) => e.eventId));
        }
      });

      it('appends resolve in the order of their positions', async () => {
        const resolved: AppendResult[] = [];
        await Promise.all(
          Array.from({ length: CALLERS }, (_, i) =>
            store.append(newStreamId(), 0, newEvents(1 + (i % 2))).then((result) => void resolved.push(result)),
          ),
        );
        expect(resolved).toHaveLength(CALLERS);
        for (let i = 1; i < resolved.length; i++) {
          expect(store.comparePositions(resolved[i - 1]!.position, resolved[i]!.position)).toBeLessThan(0);
        }
      });
    });

    describe('durability', () => {
      it('acknowledged appends are still there after reopening', async (context) => {
        const reopen = subject.reopen?.bind(subject);
        if (reopen === undefined) return context.skip(`${name} cannot be reopened`);
        const start = await store.lastPosition();
        const streamId = newStreamId();
        await store.append(streamId, 0, newEvents(2));
        const result = await store.append(streamId, 2, newEvents(1));
        const before = await store.readStream(streamId);

        const reopened = await reopen();
        expect(await reopened.readStream(streamId)).toStrictEqual(before);
        expect(await reopened.streamVersion(streamId)).toBe(3);
        const last = await reopened.lastPosition();
        expect(last !== undefined && reopened.comparePositions(last, result.position) >= 0).toBe(true);

        // The chain goes on from where it was.
        await reopened.append(streamId, 3, newEvents(1));
        const after = await reopened.readStream(streamId);
        expect(after).toHaveLength(4);
        expect(verifyChain(after).ok).toBe(true);
        const own = ownEvents(await readAllAfter(reopened, start), [streamId]);
        expect(own.map((e) => e.version)).toEqual([1, 2, 3, 4]);
      });
    });
  });
}

function newStreamId(): string {
  return `contract-${randomUUID()}`;
}

type EventOptions = Partial<Omit<EventMetadata, 'actor' | 'correlationId'>> & {
  data?: JsonObject;
};

/** A fresh event for a store test: random ids, now as its time; `data` defaults to `{ n: 1 }`. */
export function newEvent(options: EventOptions = {}): NewEvent {
  const { data, occurredAt, causationId, ...optional } = options;
  const metadata: EventMetadata = {
    actor: 'contract:test',
    occurredAt: occurredAt ?? new Date().toISOString(),
    correlationId: randomUUID(),
    causationId: causationId ?? null,
  };
  // Only set optional members that have a value: they must round-trip as absent.
  for (const [key, value] of Object.entries(optional)) {
    if (value !== undefined) Object.assign(metadata, { [key]: value });
  }
  return {
    eventId: randomUUID(),
    type: 'ContractEventRecorded',
    data: data ?? { n: 1 },
    metadata,
  };
}

function newEvents(count: number): NewEvent[] {
  return Array.from({ length: count }, (_, i) => newEvent({ data: { i } }));
}

/**
 * How a caller finishes an `appendMany` on any store: after a
 * PartialAppendError, append the rest again with the same events (the retry
 * rule makes repeating the one that failed safe, committed or not).
 */
export async function appendManyResuming(
  store: EventStore,
  appends: readonly StreamAppend[],
  attempts = 3,
): Promise<AppendResult[]> {
  const done: AppendResult[] = [];
  for (let attempt = 1; ; attempt++) {
    try {
      return [...done, ...(await store.appendMany(appends.slice(done.length)))];
    } catch (error) {
      if (!(error instanceof PartialAppendError) || attempt >= attempts) throw error;
      done.push(...error.completed);
    }
  }
}

function idsOf(append: StreamAppend | undefined): string[] {
  return append?.events.map((e) => e.eventId) ?? [];
}

async function eventIdsOf(store: EventStore, streamId: string): Promise<string[]> {
  return (await store.readStream(streamId)).map((e) => e.eventId);
}

function withoutPosition({ position: _position, ...event }: StoredEvent): Omit<StoredEvent, 'position'> {
  return event;
}

function ownEvents(events: readonly StoredEvent[], streamIds: readonly string[]): StoredEvent[] {
  return events.filter((e) => streamIds.includes(e.streamId));
}

/** Every event after `after`, page by page (the adapter may cap a page). */
async function readAllAfter(store: EventStore, after: string | undefined): Promise<StoredEvent[]> {
  const all: StoredEvent[] = [];
  for (;;) {
    const page = await store.readAll({ after, limit: 500 });
    const [first, last] = [page[0], page.at(-1)];
    if (first === undefined || last === undefined) return all;
    // A store that does not move past `after` would loop here forever.
    if (after !== undefined && store.comparePositions(first.position, after) <= 0) {
      throw new Error(`readAll after ${after} returned position ${first.position}`);
    }
    all.push(...page);
    after = last.position;
  }
}

async function expectVersionConflict(
  attempt: Promise<unknown>,
  expected: {
    streamId: string;
    expectedVersion: number;
    actualVersion: number;
  },
): Promise<void> {
  const error = await attempt.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(WrongExpectedVersionError);
  expect(error).toMatchObject({ code: 'stream.version-conflict', ...expected });
}

/** `work`, or a failure naming `what` once the deadline passes. */
async function within<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${DEADLINE_MS} ms`)), DEADLINE_MS);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** The iterator's next result that is `streamId`'s event or the end. */
async function nextOf(iterator: AsyncIterator<StoredEvent>, streamId: string): Promise<IteratorResult<StoredEvent>> {
  for (;;) {
    const result = await iterator.next();
    if (result.done === true || result.value.streamId === streamId) return result;
  }
}

/**
 * A subscription seen through one stream: `next()` skips other streams'
 * events (a shared store has plenty) and fails on a deadline or an early end.
 */
function ownIterator(
  store: EventStore,
  streamId: string,
  options: { after?: string | undefined; signal: AbortSignal },
): { next(): Promise<StoredEvent>; stop(): Promise<void> } {
  const { after, signal } = options;
  const iterator = store.subscribeAll(after === undefined ? { signal } : { after, signal })[Symbol.asyncIterator]();
  return {
    next: () =>
      within(
        (async () => {
          for (;;) {
            const result = await iterator.next();
            if (result.done === true) throw new Error('the subscription ended early');
            if (result.value.streamId === streamId) return result.value;
          }
        })(),
        `event of ${streamId}`,
      ),
    stop: async () => {
      await within(Promise.resolve(iterator.return?.()), 'the subscription to stop');
    },
  };
}
