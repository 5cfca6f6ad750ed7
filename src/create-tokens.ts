import { resolve } from 'node:path';
import { ensureTokenFile } from './auth/token-bootstrap.js';

/**
 * `node dist/create-tokens.js <folder>`: makes the token file that several
 * instances share (LEDGER_TOKENS_FILE=<folder>/tokens.json), exactly as a
 * first start on SQLite would: one token per initial principal, printed
 * once and kept in <folder>/initial-tokens.txt (mode 0600); only their
 * hashes go into tokens.json. Refuses to overwrite an existing file.
 */
const folder = process.argv[2];
if (folder === undefined || folder.startsWith('-')) {
  console.error(
    'usage: node dist/create-tokens.js <folder>   (writes <folder>/tokens.json and <folder>/initial-tokens.txt)',
  );
  process.exit(2);
}
const dataDir = resolve(folder);
const tokensFile = resolve(dataDir, 'tokens.json');
let generated = false;
ensureTokenFile({ dataDir, tokensFile: undefined }, (line) => {
  generated = true;
  console.log(line);
});
if (!generated) {
  console.error(`${tokensFile} already exists; it was left as it is`);
  process.exit(1);
}
console.log(`Point every instance at it: LEDGER_TOKENS_FILE=${tokensFile}`);
