import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '../common/domain-error.js';
import { verifyChain, type StreamHead } from '../event-store/event-envelope.js';
import { EVENT_STORE, type EventStore } from '../event-store/event-store.port.js';
import { yieldToEventLoop } from '../http/response-stream.js';
import { CHECKPOINT_SIGNER } from '../transparency-log/transparency-log.tokens.js';
import { TransparencyLogProjection } from '../transparency-log/transparency-log.projection.js';
import { type Checkpoint, CheckpointError, openCheckpoint } from '../transparency/checkpoint.js';
import { ConsistencyWitness } from '../transparency/consistency-witness.js';
import { leafHashOf } from '../transparency/leaf.js';
import { verifyConsistency } from '../transparency/merkle.js';
import {
  type NoteSigner,
  type NoteVerifier,
  parseVerifierKey,
  SignedNoteError,
  verifierKeyOf,
} from '../transparency/signed-note.js';

export interface BrokenLink {
  streamId: string;
  version: number;
  eventId: string;
}

/** A tree head: its size and base64 root. */
export interface TreeHeadView {
  size: number;
  root: string;
}

/** The first leaf, at or before the checkpoint, that is no longer what it was. */
export interface Divergence {
  index: number;
  /** `changed`: the event there now hashes otherwise; `missing`: the log ends before it. */
  reason: 'changed' | 'missing';
  /** The event there now (`changed`), or the one this instance recorded there (`missing`), when known. */
  eventId?: string;
  streamId?: string;
  version?: number;
}

/** Whether the log still extends a checkpoint a client kept. */
export interface CheckpointReport {
  checkpoint: TreeHeadView;
  /** The tree recomputed from the store now. */
  current: TreeHeadView;
  /** The current log extends the checkpoint: its first checkpoint.size leaves have the checkpoint's root. */
  consistent: boolean;
  /** PROOF(checkpoint.size, current.size) of the recomputed tree (base64); absent when the log is shorter than the checkpoint. */
  consistencyProof?: string[];
  /** Where the log departs from the checkpoint, when it does and this instance can tell (see LedgerVerifier). */
  divergesAt?: Divergence;
}

export interface VerificationReport extends Partial<CheckpointReport> {
  /** Every stream's chain holds, and the log extends the checkpoint when one was given. */
  ok: boolean;
  /** Streams seen. */
  streams: number;
  /** Events checked. */
  events: number;
  /** Position of the last event checked: the report covers the ledger up to here. */
  lastPosition?: string;
  /** The first event, in global order, whose link, place or hash does not hold. */
  brokenAt?: BrokenLink;
}

/** What one pass over the store finds. */
interface Pass {
  streams: number;
  events: number;
  lastPosition?: string;
  brokenAt?: BrokenLink;
  witness?: ConsistencyWitness;
  /** The first leaf below the checkpoint's size that differs from the one this instance's read model recorded. */
  changed?: Divergence;
}

/** Events read from the store at a time. */
const PAGE = 5000;

const base64 = (hash: Buffer): string => hash.toString('base64');

/**
 * Recomputes every stream's hash chain, and with a checkpoint the Merkle
 * tree, from the store itself (never from a read model, which an attacker
 * with file access could edit as well).
 *
 * One pass over the global order in pages, keeping only each stream's head
 * (version and hash) and O(log n) tree hashes (ConsistencyWitness): memory
 * grows with the number of streams, never with the number of events. After
 * a broken event the stream is followed on from that event as stored, so
 * the pass still counts every stream and event.
 *
 * The verdict on a checkpoint rests on the store and the signature alone.
 * Only to name the first changed event does the pass compare each leaf with
 * the one this instance's read model recorded: if an attacker rewrote that
 * too, the verdict stands but the event goes unnamed.
 */
@Injectable()
export class LedgerVerifier {
  /** Requests for the same checkpoint size arriving during a pass share it: a pass reads the whole ledger. */
  private readonly running = new Map<string, Promise<Pass>>();
  private readonly verifier: NoteVerifier;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly tree: TransparencyLogProjection,
    @Inject(CHECKPOINT_SIGNER) signer: NoteSigner,
  ) {
    this.verifier = parseVerifierKey(verifierKeyOf(signer));
  }

  /**
   * @param checkpointNote a signed checkpoint a client kept
   * @throws DomainError (400) if it is malformed, of another origin or not signed by this log's key
   */
  async verify(checkpointNote?: string): Promise<VerificationReport> {
    const checkpoint = checkpointNote === undefined ? undefined : this.open(checkpointNote);
    const key = String(checkpoint?.size ?? 'none');
    let pass = this.running.get(key);
    if (pass === undefined) {
      pass = this.pass(checkpoint?.size).finally(() => this.running.delete(key));
      this.running.set(key, pass);
    }
    const { streams, events, lastPosition, brokenAt, witness, changed } = await pass;
    const chain = {
      streams,
      events,
      ...(lastPosition === undefined ? {} : { lastPosition }),
      ...(brokenAt === undefined ? {} : { brokenAt }),
    };
    if (checkpoint === undefined || witness === undefined) return { ok: brokenAt === undefined, ...chain };
    const report = this.judge(checkpoint, witness, changed);
    return { ok: brokenAt === undefined && report.consistent, ...chain, ...report };
  }

  private open(note: string): Checkpoint {
    try {
      return openCheckpoint(note, this.verifier, this.verifier.name);
    } catch (error) {
      if (!(error instanceof SignedNoteError || error instanceof CheckpointError)) throw error;
      // Whatever the reason, the request cannot be answered: a 400 that says why, with the library's code.
      throw new DomainError('invalid', error.code, `checkpoint: ${error.message}`, [
        { field: 'checkpoint', problem: 'invalid', detail: error.message },
      ]);
    }
  }

  private judge(checkpoint: Checkpoint, witness: ConsistencyWitness, changed?: Divergence): CheckpointReport {
    const current = { size: witness.size, root: witness.root() };
    const oldRoot = witness.rootAtOldSize();
    const proof = witness.proof();
    const consistent =
      oldRoot !== undefined &&
      proof !== undefined &&
      verifyConsistency({
        oldSize: checkpoint.size,
        newSize: current.size,
        oldRoot: checkpoint.rootHash,
        newRoot: current.root,
        proof,
      });
    let divergesAt: Divergence | undefined;
    if (!consistent) divergesAt = current.size < checkpoint.size ? this.missing(current.size) : changed;
    return {
      checkpoint: { size: checkpoint.size, root: base64(checkpoint.rootHash) },
      current: { size: current.size, root: base64(current.root) },
      consistent,
      ...(proof === undefined ? {} : { consistencyProof: proof.map(base64) }),
      ...(divergesAt === undefined ? {} : { divergesAt }),
    };
  }

  /** The first leaf the log no longer has, named from this instance's read model if it recorded it. */
  private missing(index: number): Divergence {
    const [recorded] = this.tree.leaves(index, index + 1);
    return recorded === undefined
      ? { index, reason: 'missing' }
      : {
          index,
          reason: 'missing',
          eventId: recorded.eventId,
          streamId: recorded.streamId,
          version: recorded.version,
        };
  }

  private async pass(checkpointSize: number | undefined): Promise<Pass> {
    const heads = new Map<string, StreamHead>();
    const witness = checkpointSize === undefined ? undefined : new ConsistencyWitness(checkpointSize);
    let events = 0;
    let brokenAt: BrokenLink | undefined;
    let changed: Divergence | undefined;
    let after: string | undefined;
    for (;;) {
      const page = await this.store.readAll({ after, limit: PAGE });
      // The read model's leaves for this page, to name the first changed one (below the checkpoint only).
      const compared =
        witness !== undefined && changed === undefined && events < witness.oldSize
          ? new Map(
              this.tree
                .leaves(events, Math.min(events + page.length, witness.oldSize))
                .map((leaf) => [leaf.index, leaf.hash]),
            )
          : undefined;
      for (const event of page) {
        const check = verifyChain([event], heads.get(event.streamId));
        if (!check.ok) brokenAt ??= check.brokenAt;
        heads.set(event.streamId, { version: event.version, hash: event.hash });
        if (witness !== undefined) {
          const leafHash = leafHashOf(event);
          const recorded = compared?.get(events);
          if (changed === undefined && recorded !== undefined && !recorded.equals(leafHash)) {
            const { eventId, streamId, version } = event;
            changed = { index: events, reason: 'changed', eventId, streamId, version };
          }
          witness.append(leafHash);
        }
        events += 1;
      }
      const last = page.at(-1);
      if (last === undefined) break;
      after = last.position;
      // Hashing a page takes a while; let requests in between.
      await yieldToEventLoop();
    }
    return {
      streams: heads.size,
      events,
      ...(after === undefined ? {} : { lastPosition: after }),
      ...(brokenAt === undefined ? {} : { brokenAt }),
      ...(witness === undefined ? {} : { witness }),
      ...(changed === undefined ? {} : { changed }),
    };
  }
}
