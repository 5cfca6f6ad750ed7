import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pollUntil } from '../testing/poll-until.js';
import type { IdempotencyClaim, IdempotencyStore, StoredAnswer } from './idempotency.port.js';

export interface IdempotencyStoreContractSubject {
  store: IdempotencyStore;
  /** A second store on the same database (another connection, another instance), for races. */
  other?: IdempotencyStore;
  /** Close `store` and open the same records again; stores that keep nothing (memory) leave it out. */
  reopen?(): Promise<IdempotencyStore>;
  cleanup(): Promise<void>;
}

const HOUR = 3_600_000;

/**
 * The one suite every IdempotencyStore runs. Scopes are fresh
 * (`contract-<uuid>`), so it also runs against a shared server that keeps
 * earlier runs' records. Expiry is real time (the database's clock on
 * PostgreSQL), waited for with a deadline, never a sleep.
 */
export function describeIdempotencyStoreContract(
  name: string,
  open: () => Promise<IdempotencyStoreContractSubject>,
  { durable }: { durable: boolean },
): void {
  describe(`IdempotencyStore contract: ${name}`, () => {
    let subject: IdempotencyStoreContractSubject;
    let store: IdempotencyStore;

    beforeEach(async () => {
      subject = await open();
      store = subject.store;
    });

    afterEach(async () => {
      await subject.cleanup();
    });

    const request = (overrides: Partial<IdempotencyClaim> = {}): IdempotencyClaim => ({
      scope: `contract-${randomUUID()}`,
      key: 'key-1',
      fingerprint: 'a'.repeat(64),
      ttlMs: HOUR,
      claimTtlMs: HOUR,
      ...overrides,
    });

    const answer: StoredAnswer = {
      status: 201,
      headers: { 'content-type': 'application/json; charset=utf-8', etag: '"1"', location: '/v1/sites/s-1' },
      body: '{"siteId":"s-1","name":"Café ☕","version":1}',
    };

    const claimedToken = async (claim: IdempotencyClaim): Promise<string> => {
      const result = await store.claim(claim);
      if (result.outcome !== 'claimed') throw new Error(`expected a claim, got ${JSON.stringify(result)}`);
      return result.token;
    };

    it('claims a new key once; a second claim sees it in flight, with its fingerprint', async () => {
      const first = request();
      await claimedToken(first);
      expect(await store.claim(first)).toEqual({ outcome: 'in-flight', fingerprint: first.fingerprint });
      expect(await store.claim({ ...first, fingerprint: 'b'.repeat(64) })).toEqual({
        outcome: 'in-flight',
        fingerprint: first.fingerprint,
      });
    });

    it('gives back the stored answer, byte for byte, to every later claim', async () => {
      const first = request();
      const token = await claimedToken(first);
      expect(await store.complete(first.scope, first.key, token, answer)).toBe(true);
      const expected = { outcome: 'answered', fingerprint: first.fingerprint, answer };
      expect(await store.claim(first)).toEqual(expected);
      expect(await store.claim({ ...first, fingerprint: 'b'.repeat(64) })).toEqual(expected);
      // An answer is stored once: the holder cannot overwrite it.
      expect(await store.complete(first.scope, first.key, token, { ...answer, status: 500 })).toBe(false);
      expect(await store.claim(first)).toEqual(expected);
    });

    it('keeps keys apart by scope and by key', async () => {
      const first = request();
      await claimedToken(first);
      await claimedToken({ ...first, scope: `${first.scope}-other` });
      await claimedToken({ ...first, key: 'key-2' });
    });

    it('lets a released claim be taken again; a release with another token or after the answer does nothing', async () => {
      const first = request();
      const token = await claimedToken(first);
      await store.release(first.scope, first.key, randomUUID());
      expect((await store.claim(first)).outcome).toBe('in-flight');
      await store.release(first.scope, first.key, token);
      const again = await claimedToken(first);
      expect(again).not.toBe(token);
      // The first holder lost it: it can neither answer nor release for the new one.
      expect(await store.complete(first.scope, first.key, token, answer)).toBe(false);
      await store.release(first.scope, first.key, token);
      expect(await store.complete(first.scope, first.key, again, answer)).toBe(true);
      await store.release(first.scope, first.key, again);
      expect((await store.claim(first)).outcome).toBe('answered');
    });

    it('gives one key to exactly one of many concurrent claims', async () => {
      const first = request();
      const stores = [store, subject.other ?? store];
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => stores[i % stores.length]!.claim(first)));
      expect(results.filter((result) => result.outcome === 'claimed')).toHaveLength(1);
      expect(results.filter((result) => result.outcome === 'in-flight')).toHaveLength(11);
    });

    it('lets a retry of the same request take over a claim left unanswered past its claim time, and no other request', async () => {
      const first = request({ claimTtlMs: 1_000 });
      const token = await claimedToken(first);
      const other = { ...first, fingerprint: 'b'.repeat(64) };
      expect((await store.claim(first)).outcome).toBe('in-flight');
      const takeover = await pollUntil(() => store.claim(first), {
        what: 'the stale claim to be taken over',
        done: (result) => result.outcome === 'claimed',
        timeoutMs: 10_000,
        intervalMs: 100,
      });
      expect(takeover.outcome).toBe('claimed');
      // Another request never takes a stale claim over: the key was used for the first.
      expect(await store.claim(other)).toEqual({ outcome: 'in-flight', fingerprint: first.fingerprint });
      // The crashed holder, back, cannot answer for the new one.
      expect(await store.complete(first.scope, first.key, token, answer)).toBe(false);
      if (takeover.outcome !== 'claimed') return;
      expect(await store.complete(first.scope, first.key, takeover.token, answer)).toBe(true);
    });

    it('forgets a record after its time to live: the key may then be used for anything', async () => {
      const first = request({ ttlMs: 1_000 });
      const token = await claimedToken(first);
      expect(await store.complete(first.scope, first.key, token, answer)).toBe(true);
      expect((await store.claim(first)).outcome).toBe('answered');
      const other = { ...first, fingerprint: 'b'.repeat(64), ttlMs: HOUR };
      const result = await pollUntil(() => store.claim(other), {
        what: 'the record to expire',
        done: (each) => each.outcome !== 'answered',
        timeoutMs: 10_000,
        intervalMs: 100,
      });
      expect(result.outcome).toBe('claimed');
      // The new record lives its own time to live.
      expect(await store.claim(first)).toEqual({ outcome: 'in-flight', fingerprint: other.fingerprint });
    });

    if (!durable) return;

    it('keeps records across a reopen', async () => {
      if (subject.reopen === undefined) throw new Error('a durable store gives reopen()');
      const first = request();
      const token = await claimedToken(first);
      expect(await store.complete(first.scope, first.key, token, answer)).toBe(true);
      store = await subject.reopen();
      expect(await store.claim(first)).toEqual({ outcome: 'answered', fingerprint: first.fingerprint, answer });
    });
  });
}
