import type Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../event-store/event-envelope.js';
import { ProjectionRunner } from '../read-models/projection-runner.js';
import { openReadModelDatabase } from '../read-models/read-model.database.js';
import { naiveRoot } from '../testing/naive-merkle.js';
import { StoredEventFactory } from '../testing/stored-events.js';
import { leafBytes, leafHashOf } from '../transparency/leaf.js';
import { verifyConsistency, verifyInclusion } from '../transparency/merkle.js';
import { consistencyProof, inclusionProof } from '../transparency/merkle-proofs.js';
import { TransparencyLogProjection } from './transparency-log.projection.js';

const T0 = Date.UTC(2026, 0, 1);

function ledger(count: number): StoredEvent[] {
  const factory = new StoredEventFactory();
  return Array.from({ length: count }, (_, i) =>
    i % 3 === 0
      ? factory.registered(`s${i}`, new Date(T0 + i * 1000).toISOString())
      : factory.event(
          `site-s${i - (i % 3)}`,
          'SiteSuspended',
          { siteId: `s${i - (i % 3)}` },
          new Date(T0).toISOString(),
        ),
  );
}

describe('TransparencyLogProjection', () => {
  let dir: string;
  let db: Database.Database;
  let tree: TransparencyLogProjection;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'transparency-log-'));
    db = openReadModelDatabase(join(dir, 'read-model.db'));
    tree = new TransparencyLogProjection(db);
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** One batch, as the runner applies it: every event, then flush. */
  const applyAll = (events: StoredEvent[], from = 0) =>
    db.transaction(() => {
      events.forEach((event, i) => tree.apply(event, from + i + 1));
      tree.flush();
    })();

  it('its incremental root equals the naive RFC 9162 root of the leaf bytes at every size, and its proofs verify', () => {
    const events = ledger(45);
    const leaves = events.map(leafBytes);
    expect(tree.head()).toEqual({ size: 0, root: naiveRoot([]) });
    events.forEach((event, i) => {
      applyAll([event], i);
      const size = i + 1;
      const { root } = tree.head();
      expect(tree.head().size).toBe(size);
      expect(root.equals(naiveRoot(leaves.slice(0, size)))).toBe(true);
    });
    // Proofs of every past size come from the stored rows alone.
    for (let size = 1; size <= 45; size += 1) {
      const root = naiveRoot(leaves.slice(0, size));
      for (const index of [0, Math.floor(size / 2), size - 1]) {
        const proof = inclusionProof(tree, index, size);
        expect(verifyInclusion({ index, size, leafHash: leafHashOf(events[index]!), proof, root })).toBe(true);
      }
      for (const oldSize of [0, 1, Math.floor(size / 3), size - 1, size]) {
        const proof = consistencyProof(tree, oldSize, size);
        const oldRoot = naiveRoot(leaves.slice(0, oldSize));
        expect(verifyConsistency({ oldSize, newSize: size, oldRoot, newRoot: root, proof })).toBe(true);
      }
    }
  });

  it('stores about two rows per event, and the leaf of each event by id and by index', () => {
    const events = ledger(64);
    applyAll(events);
    const rows = (table: string) => db.prepare(`SELECT count(*) FROM ${table}`).pluck().get();
    expect(rows('merkle_leaves')).toBe(64);
    expect(rows('merkle_nodes')).toBe(63); // every inner node of a complete tree of 64 leaves
    expect(tree.leafOf(events[10]!.eventId)).toMatchObject({ index: 10, streamId: events[10]!.streamId });
    expect(tree.leaves(62, 70).map((leaf) => leaf.index)).toEqual([62, 63]);
    expect(tree.leafOf('no-such-event')).toBeUndefined();
  });

  it('persists: a new projection on the same file carries on where the last stopped, as if never closed', () => {
    const events = ledger(37);
    applyAll(events.slice(0, 20));
    db.close();
    db = openReadModelDatabase(join(dir, 'read-model.db'));
    tree = new TransparencyLogProjection(db);
    expect(tree.head().size).toBe(20);
    applyAll(events.slice(20), 20);
    expect(tree.head().root.equals(naiveRoot(events.map(leafBytes)))).toBe(true);
  });

  it('a batch that fails and rolls back leaves the tree as it was; the retry from the checkpoint appends the same leaves', () => {
    const events = ledger(10);
    applyAll(events.slice(0, 4));
    expect(() =>
      db.transaction(() => {
        events.slice(4, 8).forEach((event, i) => tree.apply(event, 5 + i));
        tree.flush();
        throw new Error('disk full');
      })(),
    ).toThrow('disk full');
    expect(tree.head().size).toBe(4);
    applyAll(events.slice(4), 4);
    expect(tree.head().root.equals(naiveRoot(events.map(leafBytes)))).toBe(true);
  });

  it('refuses an event out of place rather than building a wrong tree', () => {
    const events = ledger(3);
    applyAll(events.slice(0, 1));
    expect(() => applyAll([events[2]!], 2)).toThrow('the Merkle tree holds 1 leaves; event 3 cannot be leaf 2');
  });

  it('reset (a rebuild) empties it, and ProjectionRunner.reset includes it', () => {
    applyAll(ledger(5));
    ProjectionRunner.reset(db, [tree]);
    expect(tree.head().size).toBe(0);
    expect(db.prepare('SELECT count(*) FROM merkle_nodes').pluck().get()).toBe(0);
    applyAll(ledger(2));
    expect(tree.head().size).toBe(2);
  });

  it('hashes the stored form: a leaf does not depend on the store position', () => {
    const [event] = ledger(1);
    expect(leafHashOf({ ...event!, position: '999' } as StoredEvent).equals(leafHashOf(event!))).toBe(true);
  });
});
