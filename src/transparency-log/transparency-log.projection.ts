import type Database from 'better-sqlite3';
import type { StoredEvent } from '../event-store/event-envelope.js';
import type { Projection } from '../read-models/projection.js';
import { CompactRange } from '../transparency/compact-range.js';
import { leafHashOf } from '../transparency/leaf.js';
import type { NodeHashes } from '../transparency/merkle-proofs.js';

/** The event recorded as leaf `index`. */
export interface RecordedLeaf {
  index: number;
  eventId: string;
  streamId: string;
  version: number;
  /** hashLeaf of the event's leaf bytes. */
  hash: Buffer;
}

/** The tree as this instance's read model holds it. */
export interface TreeHead {
  size: number;
  root: Buffer;
}

/**
 * The Merkle tree over the global order (RFC 9162), kept incrementally:
 * leaf i is the event of ordinal i + 1, hashed from its stored (sealed)
 * form, so a purge that shreds a key never changes a leaf. Each event
 * appends one leaf to the compact range (the frontier, O(log n) hashes)
 * and stores the leaf and every complete subtree it completes — about two
 * rows per event — in the runner's transaction. Proofs of any past size
 * then read O(log² n) stored hashes.
 *
 * Every instance computes the same tree: leaves are global positions in
 * global order. The rows are derived data that clients never need to
 * trust: a proof they are served is checked against a signed checkpoint,
 * and /v1/ledger/verify recomputes the tree from the store itself.
 */
export class TransparencyLogProjection implements Projection, NodeHashes {
  readonly name = 'transparency-log';
  readonly queryIndexes = ['merkle_leaves_by_event'];
  /** The frontier as of the last event applied; reloaded when a failed batch rolled the tables back. */
  private range: CompactRange;
  private readonly insertLeaf: Database.Statement;
  private readonly insertNode: Database.Statement;
  private readonly saveFrontier: Database.Statement;
  private readonly selectFrontier: Database.Statement;
  private readonly selectLeafHash: Database.Statement;
  private readonly selectNode: Database.Statement;
  private readonly selectLeafByEvent: Database.Statement;
  private readonly selectLeaves: Database.Statement;

  constructor(private readonly db: Database.Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS merkle_leaves (
        leaf_index INTEGER PRIMARY KEY,
        event_id TEXT NOT NULL,
        stream_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        hash BLOB NOT NULL
      );
      CREATE INDEX IF NOT EXISTS merkle_leaves_by_event ON merkle_leaves (event_id);
      CREATE TABLE IF NOT EXISTS merkle_nodes (
        level INTEGER NOT NULL,
        node_index INTEGER NOT NULL,
        hash BLOB NOT NULL,
        PRIMARY KEY (level, node_index)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS merkle_frontier (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        size INTEGER NOT NULL,
        hashes TEXT NOT NULL
      );
    `);
    this.insertLeaf = db.prepare(
      'INSERT INTO merkle_leaves (leaf_index, event_id, stream_id, version, hash) VALUES (?, ?, ?, ?, ?)',
    );
    this.insertNode = db.prepare('INSERT INTO merkle_nodes (level, node_index, hash) VALUES (?, ?, ?)');
    this.saveFrontier = db.prepare(
      `INSERT INTO merkle_frontier (id, size, hashes) VALUES (1, ?, ?)
       ON CONFLICT (id) DO UPDATE SET size = excluded.size, hashes = excluded.hashes`,
    );
    this.selectFrontier = db.prepare('SELECT size, hashes FROM merkle_frontier WHERE id = 1');
    this.selectLeafHash = db.prepare('SELECT hash FROM merkle_leaves WHERE leaf_index = ?').pluck();
    this.selectNode = db.prepare('SELECT hash FROM merkle_nodes WHERE level = ? AND node_index = ?').pluck();
    this.selectLeafByEvent = db.prepare(
      'SELECT leaf_index AS "index", event_id AS eventId, stream_id AS streamId, version, hash FROM merkle_leaves WHERE event_id = ? ORDER BY leaf_index LIMIT 1',
    );
    this.selectLeaves = db.prepare(
      'SELECT leaf_index AS "index", event_id AS eventId, stream_id AS streamId, version, hash FROM merkle_leaves WHERE leaf_index >= ? AND leaf_index < ? ORDER BY leaf_index',
    );
    this.range = this.loadRange();
  }

  apply(event: StoredEvent, ordinal: number): void {
    const index = ordinal - 1;
    // After a batch that failed and rolled back, the frontier in memory is ahead of the tables.
    if (this.range.size !== index) this.range = this.loadRange();
    if (this.range.size !== index) {
      throw new Error(`the Merkle tree holds ${this.range.size} leaves; event ${ordinal} cannot be leaf ${index}`);
    }
    const leafHash = leafHashOf(event);
    this.insertLeaf.run(index, event.eventId, event.streamId, event.version, leafHash);
    // Level 0 is merkle_leaves itself; the inner nodes go to merkle_nodes.
    this.range.append(leafHash, (level, nodeIndex, hash) => {
      if (level > 0) this.insertNode.run(level, nodeIndex, hash);
    });
  }

  /** The frontier is saved once per batch, in its transaction: a row rewritten per event cost as much as hashing it. */
  flush(): void {
    const { size, hashes } = this.range.toState();
    this.saveFrontier.run(size, JSON.stringify(hashes));
  }

  reset(): void {
    this.db.exec('DELETE FROM merkle_leaves; DELETE FROM merkle_nodes; DELETE FROM merkle_frontier;');
    this.range = CompactRange.empty();
  }

  /** The committed tree: its size (events applied) and root. */
  head(): TreeHead {
    const range = this.loadRange();
    return { size: range.size, root: range.root() };
  }

  /** NodeHashes over the stored rows. @throws RangeError if the node is not stored. */
  node(level: number, index: number): Buffer {
    const hash = (level === 0 ? this.selectLeafHash.get(index) : this.selectNode.get(level, index)) as
      Buffer | undefined;
    if (hash === undefined) throw new RangeError(`the tree stores no node (${level}, ${index})`);
    return hash;
  }

  /** The leaf recorded for an event; undefined if none is. */
  leafOf(eventId: string): RecordedLeaf | undefined {
    return this.selectLeafByEvent.get(eventId) as RecordedLeaf | undefined;
  }

  /** The leaves recorded with indexes from `start` (inclusive) to `end` (exclusive), in order; fewer if some are not. */
  leaves(start: number, end: number): RecordedLeaf[] {
    return this.selectLeaves.all(start, end) as RecordedLeaf[];
  }

  private loadRange(): CompactRange {
    const row = this.selectFrontier.get() as { size: number; hashes: string } | undefined;
    return row === undefined
      ? CompactRange.empty()
      : CompactRange.fromState({ size: row.size, hashes: JSON.parse(row.hashes) as string[] });
  }
}
