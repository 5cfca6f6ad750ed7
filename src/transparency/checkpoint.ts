import { DomainError } from '../common/domain-error.js';
import { HASH_SIZE, isSafeSize } from './merkle.js';
import { decodeBase64, openNote, signNote } from './signed-note.js';
import type { NoteSigner, NoteVerifier } from './signed-note.js';

/**
 * C2SP checkpoints (c2sp.org/tlog-checkpoint): the log's tree head as the
 * text of a signed note —
 *
 *     <origin>
 *     <tree size, decimal>
 *     <base64 root hash>
 *     [extension lines]
 *
 * A client keeps the latest checkpoint it verified; a later one is worth
 * trusting only with a consistency proof from it.
 */
export interface Checkpoint {
  /** Names the log (LEDGER_ORIGIN): a checkpoint of another log never passes for ours. */
  origin: string;
  size: number;
  /** MTH of the first `size` leaves. */
  rootHash: Buffer;
  /** Opaque, non-empty lines after the root; the spec advises against them (monitors cannot audit them). */
  extensions?: readonly string[];
}

export type CheckpointErrorCode = 'checkpoint.malformed' | 'checkpoint.wrong-origin';

export class CheckpointError extends DomainError {
  constructor(code: CheckpointErrorCode, message: string) {
    super(code === 'checkpoint.malformed' ? 'invalid' : 'rejected', code, message);
  }
}

/** The note text of a checkpoint. @throws CheckpointError if a field has no checkpoint form. */
export function checkpointText({ origin, size, rootHash, extensions = [] }: Checkpoint): string {
  if (origin === '' || origin.includes('\n')) throw malformed('the origin is one non-empty line');
  if (!isSafeSize(size)) throw malformed(`the size is a whole number, not ${size}`);
  if (rootHash.length !== HASH_SIZE) throw malformed(`the root hash has ${HASH_SIZE} bytes, not ${rootHash.length}`);
  if (extensions.some((line) => line === '' || line.includes('\n')))
    throw malformed('extension lines are non-empty lines');
  return [origin, String(size), rootHash.toString('base64'), ...extensions].map((line) => `${line}\n`).join('');
}

/** Reads a checkpoint's note text (not verified: see {@link openCheckpoint}). @throws CheckpointError */
export function parseCheckpointText(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw malformed('the text ends with a newline');
  const [origin, size, root, ...extensions] = text.slice(0, -1).split('\n');
  if (origin === undefined || origin === '') throw malformed('the first line, the origin, is empty');
  // The spec's decimal: no sign, no leading zero (but `0` for the empty tree), nothing else.
  if (size === undefined || !/^(?:0|[1-9][0-9]*)$/.test(size) || !isSafeSize(Number(size))) {
    throw malformed('the second line is not a tree size in decimal');
  }
  const rootHash = root === undefined ? undefined : decodeBase64(root);
  if (rootHash === undefined || rootHash.length !== HASH_SIZE) {
    throw malformed(`the third line is not the base64 of a ${HASH_SIZE}-byte root hash`);
  }
  if (extensions.includes('')) throw malformed('an extension line is empty');
  return { origin, size: Number(size), rootHash, extensions };
}

/** The signed note of a checkpoint, signed by the log's key. */
export function signCheckpoint(checkpoint: Checkpoint, signer: NoteSigner): string {
  return signNote(checkpointText(checkpoint), signer);
}

/**
 * Verifies a signed checkpoint against the log's key and origin, and reads it.
 * @throws SignedNoteError if the note is malformed or not signed by `verifier`
 * @throws CheckpointError if its text is not a checkpoint of `origin`
 */
export function openCheckpoint(message: string | Uint8Array, verifier: NoteVerifier, origin: string): Checkpoint {
  const checkpoint = parseCheckpointText(openNote(message, verifier).text);
  if (checkpoint.origin !== origin) {
    throw new CheckpointError('checkpoint.wrong-origin', `a checkpoint of ${checkpoint.origin}, not of ${origin}`);
  }
  return checkpoint;
}

function malformed(why: string): CheckpointError {
  return new CheckpointError('checkpoint.malformed', `not a checkpoint: ${why}`);
}
