import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import type { JsonValue } from '../common/json.js';

/**
 * AES-256-GCM for personal data inside events. A sealed value is the string
 * `v1.<iv>.<ciphertext>.<tag>` (base64url parts), so it fits in event JSON
 * and hashes like any other string. `context` (the site's stream id) is
 * bound as additional authenticated data: a value copied into another
 * site's event does not open there.
 */
const VERSION = 'v1';
const IV_BYTES = 12;

export function sealJson(key: Buffer, context: string, value: JsonValue): string {
  const iv = nextIv();
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  // GCM is a stream mode: final() adds no bytes, it only computes the tag.
  const ciphertext = cipher.update(JSON.stringify(value), 'utf8');
  cipher.final();
  return `${VERSION}.${iv.toString('base64url')}.${ciphertext.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}`;
}

/**
 * IVs are drawn from a pool refilled from the CSPRNG: one randomFillSync
 * per 4 KiB instead of a randomBytes call per contact (sealing thousands
 * of contacts in a wave or an import). Every IV is still 96 fresh random
 * bits used once; the pool never hands out the same bytes twice.
 */
const IV_POOL = Buffer.alloc(4096 - (4096 % IV_BYTES));
let ivOffset = IV_POOL.length;

function nextIv(): Buffer {
  if (ivOffset + IV_BYTES > IV_POOL.length) {
    randomFillSync(IV_POOL);
    ivOffset = 0;
  }
  // A copy: the pool is refilled later, the caller may keep the IV.
  const iv = Buffer.from(IV_POOL.subarray(ivOffset, ivOffset + IV_BYTES));
  ivOffset += IV_BYTES;
  return iv;
}

/** @throws if `sealed` is malformed, or was not sealed with this key and context. */
export function openJson(key: Buffer, context: string, sealed: string): JsonValue {
  const [version, iv, ciphertext, tag, ...rest] = sealed.split('.');
  if (version !== VERSION || !iv || ciphertext === undefined || !tag || rest.length > 0) {
    throw new Error('not a sealed value');
  }
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  const plain = decipher.update(Buffer.from(ciphertext, 'base64url'));
  decipher.final(); // checks the tag (throws on a forgery) before the plaintext is used; GCM adds no bytes here
  return JSON.parse(plain.toString('utf8')) as JsonValue;
}
