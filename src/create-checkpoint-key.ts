import { resolve } from 'node:path';
import { loadConfigOrExit } from './config/ledger-config.js';
import { createCheckpointKeyFile, loadCheckpointSigner, verifierKeyLine } from './transparency-log/checkpoint-key.js';

/**
 * `node dist/create-checkpoint-key.js <file>`: makes the checkpoint signing
 * key that several instances share (LEDGER_CHECKPOINT_KEY_FILE=<file>): an
 * Ed25519 private key in PEM, mode 0600, as a first start on SQLite makes
 * it. Prints the verifier key for LEDGER_ORIGIN (read from the environment
 * like the service does). Refuses to overwrite an existing file.
 */
const argument = process.argv[2];
if (argument === undefined || argument.startsWith('-')) {
  console.error('usage: node dist/create-checkpoint-key.js <file>   (writes an Ed25519 private key, PEM, mode 0600)');
  process.exit(2);
}
const config = loadConfigOrExit(process.env);
const file = resolve(argument);
if (!createCheckpointKeyFile(file)) {
  console.error(`${file} already exists; it was left as it is`);
  process.exit(1);
}
console.log(`Wrote the checkpoint signing key ${file} (mode 0600).`);
console.log(verifierKeyLine(loadCheckpointSigner(file, config.origin)));
console.log(`Point every instance at it: LEDGER_CHECKPOINT_KEY_FILE=${file}`);
