import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  SignedNoteError,
  decodeBase64,
  generateNoteKeys,
  noteKeyId,
  openNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  verifierKeyOf,
} from './signed-note.js';
import type { NoteVerifier } from './signed-note.js';

/*
 * The example of golang.org/x/mod/sumdb/note (BSD-style licence): its keys,
 * its note, and the note with a second signature by "EnochRoot" (doc.go).
 */
const VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const NOTE = `${TEXT}\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;
const ENOCH =
  '— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';

const codeOf = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    if (error instanceof SignedNoteError) return error.code;
    throw error;
  }
  return 'accepted';
};

describe('signed notes: the Go reference example', () => {
  const verifier = parseVerifierKey(VKEY);
  const signer = parseSignerKey(SKEY);

  it('parses both keys, to the same name and key id', () => {
    expect(verifier).toMatchObject({ name: 'PeterNeumann', keyId: 0xc74f20a3 });
    expect(signer).toMatchObject({ name: 'PeterNeumann', keyId: 0xc74f20a3 });
    expect(verifierKeyOf(signer)).toBe(VKEY);
    expect(noteKeyId('PeterNeumann', signer.publicKey)).toBe(0xc74f20a3);
  });

  it('signs the text to the very bytes of the example (Ed25519 is deterministic)', () => {
    expect(signNote(TEXT, signer)).toBe(NOTE);
  });

  it('opens the example note', () => {
    const opened = openNote(NOTE, verifier);
    expect(opened.text).toBe(TEXT);
    expect(opened.signatures).toHaveLength(1);
    expect(opened.signatures[0]).toMatchObject({ name: 'PeterNeumann', keyId: 0xc74f20a3 });
    expect(openNote(Buffer.from(NOTE, 'utf8'), verifier).text).toBe(TEXT);
  });

  it('opens the doubly signed example, ignoring the signature of a key it does not know', () => {
    const opened = openNote(NOTE + ENOCH, verifier);
    expect(opened.signatures.map((signature) => signature.name)).toEqual(['PeterNeumann', 'EnochRoot']);
    expect(codeOf(() => openNote(`${TEXT}\n${ENOCH}`, verifier))).toBe('note.unsigned');
  });

  it('refuses every shortened verifier key and every key with one character changed (note_test.go TestNewVerifier)', () => {
    for (let i = 0; i <= VKEY.length; i += 1) {
      for (let j = i + 1; j <= VKEY.length; j += 1) {
        if (i !== 0 || j !== VKEY.length)
          expect(codeOf(() => parseVerifierKey(VKEY.slice(i, j)))).toBe('note.key-malformed');
      }
    }
    for (let i = 0; i < VKEY.length; i += 1) {
      const changed = VKEY.slice(0, i) + String.fromCharCode(VKEY.charCodeAt(i) + 1) + VKEY.slice(i + 1);
      expect(codeOf(() => parseVerifierKey(changed))).toBe('note.key-malformed');
    }
    // A key of the wrong length, and an unknown algorithm, each with a key id that matches.
    expect(
      codeOf(() => parseVerifierKey('PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==')),
    ).toBe('note.key-malformed');
    expect(codeOf(() => parseVerifierKey('PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'))).toBe(
      'note.key-malformed',
    );
  });

  it('refuses every shortened signer key and every key with one character changed, never quoting it', () => {
    for (let i = 0; i < SKEY.length; i += 1) {
      for (const changed of [
        SKEY.slice(0, i),
        SKEY.slice(i + 1),
        SKEY.slice(0, i) + String.fromCharCode(SKEY.charCodeAt(i) + 1) + SKEY.slice(i + 1),
      ]) {
        try {
          parseSignerKey(changed);
          expect.unreachable(`accepted ${changed}`);
        } catch (error) {
          expect(error).toBeInstanceOf(SignedNoteError);
          expect((error as Error).message).not.toContain('AYEKFALV');
        }
      }
    }
  });
});

describe('signed notes: our own keys', () => {
  const { signerKey, verifierKey } = generateNoteKeys('ledger.example/log');
  const signer = parseSignerKey(signerKey);
  const verifier = parseVerifierKey(verifierKey);
  const text = 'ledger.example/log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n';
  const note = signNote(text, signer);

  it('generates keys in Go’s format that sign and verify', () => {
    expect(signerKey).toMatch(/^PRIVATE\+KEY\+ledger\.example\/log\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$/);
    expect(verifierKey).toMatch(/^ledger\.example\/log\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$/);
    expect(verifierKeyOf(signer)).toBe(verifierKey);
    expect(openNote(note, verifier).text).toBe(text);
  });

  it('refuses a key name with a space or a plus', () => {
    expect(codeOf(() => generateNoteKeys('two words'))).toBe('note.key-malformed');
    expect(codeOf(() => generateNoteKeys('a+b'))).toBe('note.key-malformed');
    expect(codeOf(() => generateNoteKeys(''))).toBe('note.key-malformed');
  });

  it('every change of one character, every deleted character, fails', () => {
    for (let i = 0; i < note.length; i += 1) {
      const replacement = note[i] === 'x' ? 'y' : 'x';
      expect(codeOf(() => openNote(note.slice(0, i) + replacement + note.slice(i + 1), verifier))).not.toBe('accepted');
      expect(codeOf(() => openNote(note.slice(0, i) + note.slice(i + 1), verifier))).not.toBe('accepted');
    }
  });

  it('another key fails: same name, another key; same id, another name; same name and id, another public key', () => {
    const other = parseVerifierKey(generateNoteKeys('ledger.example/log').verifierKey);
    expect(codeOf(() => openNote(note, other))).toBe('note.unsigned');
    expect(codeOf(() => openNote(note, { ...verifier, name: 'ledger.example/other' }))).toBe('note.unsigned');
    const impostor: NoteVerifier = {
      ...verifier,
      publicKey: createPublicKey(generateKeyPairSync('ed25519').privateKey),
    };
    expect(codeOf(() => openNote(note, impostor))).toBe('note.signature-invalid');
  });

  it('signatures by other keys are fine, but a second, bad one by ours fails (stricter than Go, which ignores repeats)', () => {
    const witness = parseSignerKey(generateNoteKeys('witness.example').signerKey);
    const cosigned = note + signNote(text, witness).slice(text.length + 1);
    expect(openNote(cosigned, verifier).signatures.map((signature) => signature.name)).toEqual([
      'ledger.example/log',
      'witness.example',
    ]);
    const forgedLine = signNote(`${text}x\n`, signer).slice(text.length + 3);
    expect(codeOf(() => openNote(note + forgedLine, verifier))).toBe('note.signature-invalid');
  });

  it('malformed notes: no blank line, no final newline, a control character, bad UTF-8, too many signatures', () => {
    expect(codeOf(() => openNote(note.replace('\n\n', '\n'), verifier))).toBe('note.malformed');
    expect(codeOf(() => openNote(note.slice(0, -1), verifier))).toBe('note.malformed');
    expect(codeOf(() => openNote(note.replace('3', '3\r'), verifier))).toBe('note.malformed');
    expect(codeOf(() => openNote(note.replace('3', '3\t'), verifier))).toBe('note.malformed');
    expect(codeOf(() => openNote(Buffer.concat([Buffer.from([0xff]), Buffer.from(note)]), verifier))).toBe(
      'note.malformed',
    );
    expect(codeOf(() => openNote(note.replace('3', '\ud800'), verifier))).toBe('note.malformed');
    const line = note.slice(text.length + 1);
    expect(codeOf(() => openNote(note + line.repeat(100), verifier))).toBe('note.malformed');
    expect(codeOf(() => openNote(`${text}\n— ledger.example/log\n`, verifier))).toBe('note.malformed');
  });

  it('signs only a text that ends in a newline and holds no control character', () => {
    expect(codeOf(() => signNote('no newline', signer))).toBe('note.malformed');
    expect(codeOf(() => signNote('bell\u0007\n', signer))).toBe('note.malformed');
  });
});

describe('strict base64', () => {
  it('takes only the one canonical, padded spelling', () => {
    expect(decodeBase64('AAE=')).toEqual(Buffer.from([0, 1]));
    expect(decodeBase64('')).toEqual(Buffer.alloc(0));
    for (const spelling of ['AAF=', 'AAE', 'AAE==', 'AA E=', 'AAE=\n', 'AA-_', '====']) {
      expect(decodeBase64(spelling)).toBeUndefined();
    }
  });
});
