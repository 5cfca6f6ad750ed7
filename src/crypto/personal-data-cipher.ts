import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
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
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return [VERSION, iv, ciphertext, cipher.getAuthTag()]
    .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
    .join('.');
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
  const plain = Buffer.concat([
    decipher.update(Buffer.from(ciphertext, 'base64url')),
    decipher.final(),
  ]);
  return JSON.parse(plain.toString('utf8')) as JsonValue;
}
