// Checks the ledger with nothing but Node: node verify-offline.mjs EXPORT CHECKPOINT KEY [PROOF]
//   EXPORT      audit/events?format=ndjson&data=stored (data as hashed, contacts sealed)
//   CHECKPOINT  a signed checkpoint you kept;  KEY  the verifier key you kept (<origin>+<id>+<key>)
//   PROOF       proofs/inclusion?eventId=…&size=<the checkpoint's size>, for an event of EXPORT
import { createHash, createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';

const [exportFile, checkpointFile, verifierKey, proofFile] = process.argv.slice(2);
const sha256 = (...parts) =>
  createHash('sha256')
    .update(Buffer.concat(parts.map((p) => Buffer.from(p))))
    .digest();
// RFC 8785 for the ledger's JSON (strings, integers, objects, arrays): keys sorted, no spaces.
const canonical = (value) =>
  Array.isArray(value)
    ? `[${value.map(canonical).join(',')}]`
    : value !== null && typeof value === 'object'
      ? `{${Object.keys(value)
          .sort()
          .map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`)
          .join(',')}}`
      : JSON.stringify(value);
const fail = (why) => {
  console.log(`FAILED: ${why}`);
  process.exit(1);
};

// 1. Every stream's hash chain: hash = SHA-256(prevHash ‖ canonical body), each event linked to the one before.
const events = readFileSync(exportFile, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => JSON.parse(line));
const heads = new Map();
for (const { streamId, version, eventId, type, data, metadata, prevHash, hash } of events) {
  const head = heads.get(streamId) ?? (version === 1 ? { version: 0, hash: '0'.repeat(64) } : undefined);
  if (head && (version !== head.version + 1 || prevHash !== head.hash)) fail(`${streamId} is not linked at ${version}`);
  const body = canonical({ data, eventId, metadata, streamId, type, version });
  if (sha256(prevHash, body).toString('hex') !== hash) fail(`${streamId} version ${version}: hash does not match`);
  heads.set(streamId, { version, hash });
}
console.log(`chains ok: ${events.length} events in ${heads.size} streams`);

// 2. The checkpoint's signature (C2SP signed note, Ed25519), by the key you kept.
const note = readFileSync(checkpointFile, 'utf8');
const text = note.slice(0, note.lastIndexOf('\n\n') + 1);
const [origin, size, root] = text.split('\n');
const [name, keyId] = verifierKey.split('+'); // the base64 key itself may hold a '+'
const key = Buffer.from(verifierKey.slice(`${name}+${keyId}+`.length), 'base64'); // 0x01 (Ed25519) ‖ public key
if (name !== origin || !keyId || !/^[0-9a-f]{8}$/.test(keyId) || key[0] !== 1) fail('not this log\u2019s key');
const signed = note
  .slice(text.length + 1)
  .split('\n')
  .map((line) => line.split(' '));
const signature = signed.find(([dash, by, b64]) => dash === '\u2014' && by === name && b64)?.[2];
const bytes = Buffer.from(signature ?? '', 'base64');
const publicKey = createPublicKey({
  key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), key.subarray(1)]),
  format: 'der',
  type: 'spki',
});
if (bytes.subarray(0, 4).toString('hex') !== keyId || !verify(null, Buffer.from(text), publicKey, bytes.subarray(4))) {
  fail('the checkpoint is not signed by this key');
}
console.log(`checkpoint ok: ${origin}, ${size} events, root ${root}`);

// 3. An inclusion proof (RFC 9162 §2.1.3.2): the event, as exported, is leaf `index` of that checkpoint's tree.
if (proofFile) {
  const proof = JSON.parse(readFileSync(proofFile, 'utf8'));
  const event = events.find((candidate) => candidate.eventId === proof.eventId);
  if (!event) fail(`event ${proof.eventId} is not in the export`);
  if (String(proof.size) !== size) fail(`the proof is for size ${proof.size}, the checkpoint's is ${size}`);
  const { streamId, version, eventId, type, data, metadata, prevHash, hash } = event;
  const leaf = canonical({ streamId, version, eventId, type, data, metadata, prevHash, hash });
  let [index, last, node] = [proof.index, proof.size - 1, sha256([0], leaf)];
  for (const sibling of proof.proof.map((b64) => Buffer.from(b64, 'base64'))) {
    if (last === 0) fail('the proof is too long');
    if (index % 2 === 1 || index === last) {
      node = sha256([1], sibling, node);
      while (index % 2 === 0 && index !== 0) [index, last] = [index / 2, Math.floor(last / 2)];
    } else {
      node = sha256([1], node, sibling);
    }
    [index, last] = [Math.floor(index / 2), Math.floor(last / 2)];
  }
  if (last !== 0 || node.toString('base64') !== root) fail(`${eventId} is not in the checkpoint's tree`);
  console.log(`inclusion ok: ${eventId} (${streamId} version ${version}) is leaf ${proof.index} of ${size}`);
}
