import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { chainEvents, EMPTY_STREAM_HEAD, hashEvent } from '../event-store/event-envelope.js';
import { snapshotKeyOf, SnapshotSeal, stillStored, type Snapshot } from './snapshot.js';

const snapshot: Snapshot = {
  streamId: 'site-s1',
  version: 200,
  hash: 'a'.repeat(64),
  lastOccurredAt: '2026-01-01T03:20:00.000Z',
  maxOccurredAtMs: Date.parse('2026-01-01T03:20:00.000Z'),
  inTimeOrder: true,
  state: JSON.stringify({ status: 'active', contacts: [{ sealed: 'v1.xyz' }] }),
};

describe('SnapshotSeal', () => {
  const key = snapshotKeyOf(randomBytes(48));
  const seal = new SnapshotSeal(key, 'site-state/1');

  it('holds for the snapshot it sealed', () => {
    expect(seal.holds(seal.seal(snapshot))).toBe(true);
  });

  it('does not hold once any field is changed', () => {
    const sealed = seal.seal(snapshot);
    const changes: Partial<Snapshot>[] = [
      { streamId: 'site-s2' },
      { version: 300 },
      { hash: 'b'.repeat(64) },
      { lastOccurredAt: '2026-01-01T03:21:00.000Z' },
      { maxOccurredAtMs: snapshot.maxOccurredAtMs - 1 },
      { inTimeOrder: false },
      { state: snapshot.state.replace('active', 'suspended') },
    ];
    for (const change of changes) expect(seal.holds({ ...sealed, ...change }), JSON.stringify(change)).toBe(false);
    expect(seal.holds({ ...sealed, mac: '' })).toBe(false);
    expect(seal.holds({ ...sealed, mac: 'not base64url at all!' })).toBe(false);
  });

  it('does not hold under another key or for another kind (another deployment, an older state layout)', () => {
    const sealed = seal.seal(snapshot);
    expect(new SnapshotSeal(snapshotKeyOf(randomBytes(48)), 'site-state/1').holds(sealed)).toBe(false);
    expect(new SnapshotSeal(key, 'site-state/2').holds(sealed)).toBe(false);
  });

  it('derives a 32-byte key of its own from the secret, the same every time', () => {
    const secret = randomBytes(48);
    expect(snapshotKeyOf(secret)).toHaveLength(32);
    expect(snapshotKeyOf(secret).equals(snapshotKeyOf(Buffer.from(secret)))).toBe(true);
    expect(snapshotKeyOf(secret).equals(secret.subarray(0, 32))).toBe(false);
  });
});

describe('stillStored', () => {
  const events = chainEvents(
    'site-s1',
    EMPTY_STREAM_HEAD,
    [1, 2, 3].map((n) => ({
      eventId: randomUUID(),
      type: 'SiteSuspended',
      data: { siteId: 's1', n },
      metadata: { actor: 'a', occurredAt: `2026-01-01T00:0${n}:00.000Z`, correlationId: 'c', causationId: null },
    })),
  );
  const second = events[1]!;
  const head = { version: 2, hash: second.hash };

  it('accepts the event a snapshot ends on', () => {
    expect(stillStored(second, head)).toBe(true);
  });

  it('refuses a missing event, another place, another hash, or content that no longer has its hash', () => {
    expect(stillStored(undefined, head)).toBe(false);
    expect(stillStored(events[2], head)).toBe(false);
    expect(stillStored(second, { version: 2, hash: events[2]!.hash })).toBe(false);
    // Rewritten with its own hash recomputed: the hash is no longer the one the snapshot ends on.
    const metadata = { ...second.metadata, actor: 'forger' };
    expect(stillStored({ ...second, metadata, hash: hashEvent(second.prevHash, { ...second, metadata }) }, head)).toBe(
      false,
    );
    // Rewritten with the hash column left as it was: the content does not hash to it.
    expect(stillStored({ ...second, data: { siteId: 's1', n: 99 } }, head)).toBe(false);
  });
});
