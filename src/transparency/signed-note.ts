import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { DomainError } from '../common/domain-error.js';

/**
 * C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys, byte for byte
 * as Go's golang.org/x/mod/sumdb/note writes and reads them: a text ending
 * in a newline, a blank line, then lines `— <key name> <base64(key id ‖ signature)>`.
 * Keys travel as Go's strings: `<name>+<hex key id>+<base64(0x01 ‖ public key)>`
 * for verifiers, `PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 ‖ seed)>` for signers.
 */

/** The signature type byte of Ed25519 in key ids and key strings. */
export const ED25519_TYPE = 0x01;

/** Go's limit; the spec asks verifiers to accept at least 16. */
const MAX_SIGNATURES = 100;
const SIGNATURE_PREFIX = '\u2014 '; // em dash, space
const PRIVATE_KEY_PREFIX = 'PRIVATE+KEY+';

// An Ed25519 key is its 32 raw bytes behind a fixed DER header (RFC 8410):
// Node imports raw keys only through DER (or JWK), and exports them the same way.
const PKCS8_ED25519_HEADER = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_HEADER = Buffer.from('302a300506032b6570032100', 'hex');

export type SignedNoteErrorCode =
  | 'note.malformed' // not a signed note at all
  | 'note.key-malformed' // a key string that does not parse or whose id does not match
  | 'note.signature-invalid' // a signature by the trusted key that does not verify
  | 'note.unsigned'; // no signature by the trusted key

export class SignedNoteError extends DomainError {
  constructor(code: SignedNoteErrorCode, message: string) {
    super(code === 'note.malformed' || code === 'note.key-malformed' ? 'invalid' : 'rejected', code, message);
  }
}

/** Who may sign: the name and id signatures carry, and the Ed25519 key. */
export interface NoteSigner {
  readonly name: string;
  /** First four bytes, big-endian, of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key). */
  readonly keyId: number;
  readonly publicKey: Buffer;
  readonly privateKey: KeyObject;
}

/** Whose signatures a reader trusts. */
export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  readonly publicKey: KeyObject;
}

export interface NoteSignature {
  name: string;
  keyId: number;
  /** The signature bytes, without the key id. */
  signature: Buffer;
}

export interface OpenedNote {
  /** The signed text, final newline included. */
  text: string;
  /** Every signature line; those by the trusted key all verified. */
  signatures: NoteSignature[];
}

/** Key names must be non-empty and hold no Unicode space nor `+` (the key strings' separator). */
export function isValidKeyName(name: string): boolean {
  return name !== '' && isWellFormed(name) && !/[\s\u0085+]/u.test(name);
}

export function noteKeyId(name: string, publicKey: Uint8Array): number {
  const digest = createHash('sha256')
    .update(name, 'utf8')
    .update('\n')
    .update(Buffer.from([ED25519_TYPE]))
    .update(publicKey)
    .digest();
  return digest.readUInt32BE(0);
}

/** A new key pair for `name`, as Go's note.GenerateKey writes it. */
export function generateNoteKeys(name: string): { signerKey: string; verifierKey: string } {
  if (!isValidKeyName(name)) throw new SignedNoteError('note.key-malformed', `not a key name: ${JSON.stringify(name)}`);
  const { privateKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_ED25519_HEADER.length);
  const signer = signerFromSeed(name, seed);
  return {
    signerKey: formatKey(`${PRIVATE_KEY_PREFIX}${name}`, signer.keyId, seed),
    verifierKey: verifierKeyOf(signer),
  };
}

/** The verifier key string that goes with a signer: what clients are given. */
export function verifierKeyOf(signer: NoteSigner): string {
  return formatKey(signer.name, signer.keyId, signer.publicKey);
}

/** Parses `<name>+<hex id>+<base64(0x01 ‖ public key)>`, checking the id against the key. */
export function parseVerifierKey(verifierKey: string): NoteVerifier {
  const { name, keyId, key } = parseKey(verifierKey, verifierKey);
  if (keyId !== noteKeyId(name, key)) throw keyError(verifierKey, 'its key id does not match its name and key');
  return {
    name,
    keyId,
    publicKey: createPublicKey({ key: Buffer.concat([SPKI_ED25519_HEADER, key]), format: 'der', type: 'spki' }),
  };
}

/** Parses `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 ‖ seed)>`, checking the id against the public key it derives. */
export function parseSignerKey(signerKey: string): NoteSigner {
  // Never quote a private key in an error.
  const shown = 'the signer key';
  if (!signerKey.startsWith(PRIVATE_KEY_PREFIX)) throw keyError(shown, `it does not start with ${PRIVATE_KEY_PREFIX}`);
  const { name, keyId, key } = parseKey(signerKey.slice(PRIVATE_KEY_PREFIX.length), shown);
  const signer = signerFromSeed(name, key);
  if (keyId !== signer.keyId) throw keyError(shown, 'its key id does not match the public key of its seed');
  return signer;
}

/**
 * The signer named `name` whose key is an Ed25519 private key object (read
 * from a PEM file, say: `openssl genpkey -algorithm ed25519` writes one).
 * @throws SignedNoteError if the name is not a key name or the key not an Ed25519 private key
 */
export function signerOfPrivateKey(name: string, privateKey: KeyObject): NoteSigner {
  if (!isValidKeyName(name)) throw new SignedNoteError('note.key-malformed', `not a key name: ${JSON.stringify(name)}`);
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') {
    throw keyError('the signer key', 'it is not an Ed25519 private key');
  }
  // JWK rather than DER: `d` is the 32-byte seed whatever optional fields the key was imported with.
  const { d } = privateKey.export({ format: 'jwk' });
  return signerFromSeed(name, Buffer.from(d ?? '', 'base64url'));
}

/** Signs `text` (which must end in a newline): the text, a blank line, one signature line. */
export function signNote(text: string, signer: NoteSigner): string {
  if (!text.endsWith('\n')) throw new SignedNoteError('note.malformed', 'a note text ends with a newline');
  checkCharacters(text);
  const signature = sign(null, Buffer.from(text, 'utf8'), signer.privateKey);
  return `${text}\n${signatureLine(signer.name, signer.keyId, signature)}`;
}

/**
 * Parses a signed note and checks it against one trusted key (c2sp.org/signed-note,
 * "Signatures"): signatures by other keys are ignored, even if they share
 * the name or the id (not both); every signature by the trusted key must
 * verify — stricter than Go, which checks only the first of repeated ones —
 * and there must be at least one.
 */
export function openNote(message: string | Uint8Array, verifier: NoteVerifier): OpenedNote {
  const note = typeof message === 'string' ? message : decodeUtf8(message);
  checkCharacters(note);
  // The text ends at the last blank line: a text may hold blank lines, signature lines never do.
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw malformed('no blank line before the signatures');
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (block === '' || !block.endsWith('\n')) throw malformed('the signature lines do not end with a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw malformed(`more than ${MAX_SIGNATURES} signatures`);
  const signatures = lines.map(parseSignatureLine);
  const signed = Buffer.from(text, 'utf8');
  let trusted = 0;
  for (const { name, keyId, signature } of signatures) {
    if (name !== verifier.name || keyId !== verifier.keyId) continue;
    // Node throws, rather than answering false, for an Ed25519 signature of the wrong length.
    if (signature.length !== 64 || !verify(null, signed, verifier.publicKey, signature)) {
      throw new SignedNoteError('note.signature-invalid', `the signature by ${name} does not verify`);
    }
    trusted += 1;
  }
  if (trusted === 0) throw new SignedNoteError('note.unsigned', `no signature by ${verifier.name}`);
  return { text, signatures };
}

/** Standard base64 (RFC 4648 §4), padded, in its one canonical spelling; undefined otherwise. */
export function decodeBase64(text: string): Buffer | undefined {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  // Node ignores the unused low bits of the last character: two spellings of
  // the same bytes would let a changed signature line still verify.
  return bytes.toString('base64') === text ? bytes : undefined;
}

function parseSignatureLine(line: string): NoteSignature {
  if (!line.startsWith(SIGNATURE_PREFIX)) throw malformed('a signature line starts with an em dash and a space');
  const rest = line.slice(SIGNATURE_PREFIX.length);
  const space = rest.indexOf(' ');
  const name = space < 0 ? rest : rest.slice(0, space);
  const bytes = space < 0 ? undefined : decodeBase64(rest.slice(space + 1));
  if (!isValidKeyName(name) || bytes === undefined || bytes.length < 5)
    throw malformed(`not a signature line: ${line}`);
  return { name, keyId: bytes.readUInt32BE(0), signature: bytes.subarray(4) };
}

function signatureLine(name: string, keyId: number, signature: Buffer): string {
  const idBytes = Buffer.alloc(4);
  idBytes.writeUInt32BE(keyId);
  return `${SIGNATURE_PREFIX}${name} ${Buffer.concat([idBytes, signature]).toString('base64')}\n`;
}

function parseKey(text: string, shown: string): { name: string; keyId: number; key: Buffer } {
  // Split at the first two `+` only: base64 uses `+` too.
  const [name, afterName] = chop(text, '+');
  const [id, encoded] = chop(afterName, '+');
  const bytes = decodeBase64(encoded);
  if (!isValidKeyName(name)) throw keyError(shown, 'it is not <name>+<key id>+<key> with a valid name');
  if (!/^[0-9a-fA-F]{8}$/.test(id)) throw keyError(shown, 'its key id is not 8 hex digits');
  if (bytes === undefined || bytes.length !== 33 || bytes[0] !== ED25519_TYPE) {
    throw keyError(shown, 'its key is not base64 of 0x01 and 32 bytes (Ed25519)');
  }
  return { name, keyId: Number.parseInt(id, 16), key: bytes.subarray(1) };
}

/** Go's chop: the text before the first `separator` and the text after it ('' if there is none). */
function chop(text: string, separator: string): [string, string] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, ''] : [text.slice(0, at), text.slice(at + separator.length)];
}

function signerFromSeed(name: string, seed: Buffer): NoteSigner {
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_HEADER, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const publicKey = createPublicKey(privateKey)
    .export({ format: 'der', type: 'spki' })
    .subarray(SPKI_ED25519_HEADER.length);
  return { name, keyId: noteKeyId(name, publicKey), publicKey, privateKey };
}

function formatKey(prefix: string, keyId: number, key: Buffer): string {
  const encoded = Buffer.concat([Buffer.from([ED25519_TYPE]), key]).toString('base64');
  return `${prefix}+${keyId.toString(16).padStart(8, '0')}+${encoded}`;
}

/** Signed notes are UTF-8 with no ASCII control character but the newline. */
function checkCharacters(note: string): void {
  if (!isWellFormed(note)) throw malformed('not valid UTF-8');
  if (/[\u0000-\u0009\u000b-\u001f]/.test(note)) throw malformed('a control character other than a newline');
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw malformed('not valid UTF-8');
  }
}

/** No lone surrogate: the string has a UTF-8 form, and it round-trips. */
function isWellFormed(text: string): boolean {
  return Buffer.from(text, 'utf8').toString('utf8') === text;
}

function malformed(why: string): SignedNoteError {
  return new SignedNoteError('note.malformed', `not a signed note: ${why}`);
}

function keyError(shown: string, why: string): SignedNoteError {
  return new SignedNoteError('note.key-malformed', `${shown} is not a note key: ${why}`);
}
