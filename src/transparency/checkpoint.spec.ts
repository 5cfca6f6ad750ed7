import { describe, expect, it } from 'vitest';
import { CheckpointError, checkpointText, openCheckpoint, parseCheckpointText, signCheckpoint } from './checkpoint.js';
import type { Checkpoint } from './checkpoint.js';
import { hashLeaf } from './merkle.js';
import { SignedNoteError, generateNoteKeys, parseSignerKey, parseVerifierKey, signNote } from './signed-note.js';

const ORIGIN = 'ledger.example/log';
const keys = generateNoteKeys(ORIGIN);
const signer = parseSignerKey(keys.signerKey);
const verifier = parseVerifierKey(keys.verifierKey);
const root = hashLeaf(Buffer.from('root'));
const checkpoint: Checkpoint = { origin: ORIGIN, size: 1234, rootHash: root };

const codeOf = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    if (error instanceof CheckpointError || error instanceof SignedNoteError) return error.code;
    throw error;
  }
  return 'accepted';
};

describe('checkpoints (c2sp.org/tlog-checkpoint)', () => {
  it('are three lines: origin, size in decimal, base64 root', () => {
    expect(checkpointText(checkpoint)).toBe(`${ORIGIN}\n1234\n${root.toString('base64')}\n`);
    expect(checkpointText({ ...checkpoint, extensions: ['x-ext 1'] })).toBe(
      `${ORIGIN}\n1234\n${root.toString('base64')}\nx-ext 1\n`,
    );
  });

  it('sign and open round trip, extension lines and the empty tree included', () => {
    expect(openCheckpoint(signCheckpoint(checkpoint, signer), verifier, ORIGIN)).toEqual({
      ...checkpoint,
      extensions: [],
    });
    const empty = { origin: ORIGIN, size: 0, rootHash: root, extensions: ['a', 'b c'] };
    expect(openCheckpoint(signCheckpoint(empty, signer), verifier, ORIGIN)).toEqual(empty);
    expect(openCheckpoint(Buffer.from(signCheckpoint(checkpoint, signer)), verifier, ORIGIN).size).toBe(1234);
  });

  it('every changed or deleted character of a signed checkpoint fails', () => {
    const note = signCheckpoint(checkpoint, signer);
    for (let i = 0; i < note.length; i += 1) {
      const replacement = note[i] === '7' ? '8' : '7';
      expect(
        codeOf(() => openCheckpoint(note.slice(0, i) + replacement + note.slice(i + 1), verifier, ORIGIN)),
      ).not.toBe('accepted');
      expect(codeOf(() => openCheckpoint(note.slice(0, i) + note.slice(i + 1), verifier, ORIGIN))).not.toBe('accepted');
    }
  });

  it('a checkpoint of another log fails, even signed by our key', () => {
    const other = signCheckpoint({ ...checkpoint, origin: 'other.example/log' }, signer);
    expect(codeOf(() => openCheckpoint(other, verifier, ORIGIN))).toBe('checkpoint.wrong-origin');
  });

  it('a checkpoint signed by another key of the same name fails', () => {
    const impostor = parseSignerKey(generateNoteKeys(ORIGIN).signerKey);
    expect(codeOf(() => openCheckpoint(signCheckpoint(checkpoint, impostor), verifier, ORIGIN))).toBe('note.unsigned');
  });

  it('a signed text that is not a checkpoint fails', () => {
    const b64 = root.toString('base64');
    const texts = [
      `${ORIGIN}\n1234\n`, // no root
      `\n1234\n${b64}\n`, // empty origin
      `${ORIGIN}\n01234\n${b64}\n`, // leading zero
      `${ORIGIN}\n-1\n${b64}\n`,
      `${ORIGIN}\n+1\n${b64}\n`,
      `${ORIGIN}\n1e3\n${b64}\n`,
      `${ORIGIN}\n12.0\n${b64}\n`,
      `${ORIGIN}\n 12\n${b64}\n`,
      `${ORIGIN}\n\n${b64}\n`,
      `${ORIGIN}\n9007199254740993\n${b64}\n`, // beyond a safe integer
      `${ORIGIN}\n1234\n${root.subarray(1).toString('base64')}\n`, // 31 bytes
      `${ORIGIN}\n1234\n${Buffer.concat([root, root]).toString('base64')}\n`, // 64 bytes
      `${ORIGIN}\n1234\n${b64.replace('=', '')}\n`, // unpadded
      `${ORIGIN}\n1234\n${root.toString('base64url')}x\n`,
      `${ORIGIN}\n1234\n${b64}\n\nextension after an empty line\n`,
    ];
    for (const text of texts) {
      expect([text, codeOf(() => parseCheckpointText(text))]).toEqual([text, 'checkpoint.malformed']);
      expect(codeOf(() => openCheckpoint(signNote(text, signer), verifier, ORIGIN))).not.toBe('accepted');
    }
    expect(codeOf(() => parseCheckpointText(`${ORIGIN}\n1234\n${b64}`))).toBe('checkpoint.malformed');
  });

  it('refuses to write a checkpoint that would not parse', () => {
    expect(codeOf(() => checkpointText({ ...checkpoint, origin: '' }))).toBe('checkpoint.malformed');
    expect(codeOf(() => checkpointText({ ...checkpoint, origin: 'a\nb' }))).toBe('checkpoint.malformed');
    expect(codeOf(() => checkpointText({ ...checkpoint, size: -1 }))).toBe('checkpoint.malformed');
    expect(codeOf(() => checkpointText({ ...checkpoint, size: 2 ** 53 }))).toBe('checkpoint.malformed');
    expect(codeOf(() => checkpointText({ ...checkpoint, rootHash: root.subarray(1) }))).toBe('checkpoint.malformed');
    expect(codeOf(() => checkpointText({ ...checkpoint, extensions: [''] }))).toBe('checkpoint.malformed');
  });
});
