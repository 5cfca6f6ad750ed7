import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '../common/domain-error.js';
import { signCheckpoint } from '../transparency/checkpoint.js';
import { consistencyProof, inclusionProof } from '../transparency/merkle-proofs.js';
import { type NoteSigner, verifierKeyOf } from '../transparency/signed-note.js';
import { type RecordedLeaf, TransparencyLogProjection } from './transparency-log.projection.js';
import { CHECKPOINT_SIGNER } from './transparency-log.tokens.js';

/** An inclusion proof as served: hashes in base64. */
export interface InclusionProofView {
  index: number;
  size: number;
  eventId: string;
  streamId: string;
  version: number;
  leafHash: string;
  proof: string[];
}

export interface ConsistencyProofView {
  from: number;
  to: number;
  proof: string[];
}

export interface CheckpointKeyView {
  origin: string;
  verifierKey: string;
}

const base64 = (hash: Buffer): string => hash.toString('base64');

/**
 * The log's side of the transparency log, answered from this instance's
 * read model: the latest checkpoint (signed here) and proofs of any past
 * size. Nothing it answers needs trusting: a client checks a proof against
 * the root of a checkpoint it verified with the log's public key.
 */
@Injectable()
export class TransparencyLog {
  private signed: { size: number; root: string; note: string } | undefined;

  constructor(
    private readonly tree: TransparencyLogProjection,
    @Inject(CHECKPOINT_SIGNER) private readonly signer: NoteSigner,
  ) {}

  key(): CheckpointKeyView {
    return { origin: this.signer.name, verifierKey: verifierKeyOf(this.signer) };
  }

  /** The signed note of the tree as this instance holds it now (C2SP tlog-checkpoint). */
  checkpoint(): string {
    const { size, root } = this.tree.head();
    if (this.signed?.size !== size || this.signed.root !== base64(root)) {
      const note = signCheckpoint({ origin: this.signer.name, size, rootHash: root }, this.signer);
      this.signed = { size, root: base64(root), note };
    }
    return this.signed.note;
  }

  /**
   * PATH(index, D[0:size]) for a leaf given by index or by event id; `size`
   * defaults to the tree's current size (a client passes its checkpoint's).
   */
  inclusion(leaf: { index: number } | { eventId: string }, requestedSize?: number): InclusionProofView {
    const size = this.sizeWithinTree(requestedSize, 'size');
    const recorded = this.recordedLeaf(leaf);
    if (recorded.index >= size) {
      throw new DomainError(
        'invalid',
        'proof.not-in-tree',
        `leaf ${recorded.index} is not in a tree of ${size} leaves: ask with a later checkpoint's size`,
      );
    }
    return {
      index: recorded.index,
      size,
      eventId: recorded.eventId,
      streamId: recorded.streamId,
      version: recorded.version,
      leafHash: base64(recorded.hash),
      proof: inclusionProof(this.tree, recorded.index, size).map(base64),
    };
  }

  /** PROOF(from, D[0:to]); `to` defaults to the tree's current size. */
  consistency(from: number, requestedTo?: number): ConsistencyProofView {
    const to = this.sizeWithinTree(requestedTo, 'to');
    if (from > to) {
      throw new DomainError(
        'invalid',
        'proof.invalid-range',
        `from (${from}) is larger than to (${to}): a log never shrinks`,
      );
    }
    return { from, to, proof: consistencyProof(this.tree, from, to).map(base64) };
  }

  private sizeWithinTree(requested: number | undefined, name: string): number {
    const { size } = this.tree.head();
    if (requested === undefined) return size;
    if (requested > size) {
      throw new DomainError(
        'not-found',
        'proof.beyond-tree',
        `${name} ${requested} is beyond this instance's tree of ${size} leaves`,
      );
    }
    return requested;
  }

  private recordedLeaf(leaf: { index: number } | { eventId: string }): RecordedLeaf {
    if ('eventId' in leaf) {
      const recorded = this.tree.leafOf(leaf.eventId);
      if (recorded === undefined) {
        throw new DomainError('not-found', 'proof.unknown-event', `no ledger event ${leaf.eventId} is in the tree`);
      }
      return recorded;
    }
    const [recorded] = this.tree.leaves(leaf.index, leaf.index + 1);
    if (recorded === undefined) {
      throw new DomainError('invalid', 'proof.not-in-tree', `leaf ${leaf.index} is beyond this instance's tree`);
    }
    return recorded;
  }
}
