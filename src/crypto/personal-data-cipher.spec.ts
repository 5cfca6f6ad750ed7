import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openJson, sealJson } from './personal-data-cipher.js';

describe('personal data cipher (AES-256-GCM)', () => {
  const key = randomBytes(32);
  const contact = { name: 'Kim Lee', email: 'kim@example.com', role: 'owner' };

  it('round-trips JSON and never shows the plaintext', () => {
    const sealed = sealJson(key, 'site-a', contact);
    expect(sealed).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(sealed).not.toContain('kim');
    expect(openJson(key, 'site-a', sealed)).toEqual(contact);
  });

  it('uses a fresh IV each time', () => {
    expect(sealJson(key, 'site-a', contact)).not.toBe(sealJson(key, 'site-a', contact));
  });

  it('never repeats an IV, across refills of its random pool', () => {
    // 1,000 seals use the 4 KiB pool of 12-byte IVs almost three times over.
    const ivs = Array.from({ length: 1_000 }, () => sealJson(key, 'site-a', contact).split('.')[1]);
    expect(new Set(ivs).size).toBe(ivs.length);
    expect(ivs.every((iv) => Buffer.from(iv!, 'base64url').length === 12)).toBe(true);
  });

  it('refuses another key, another site, or a changed byte', () => {
    const sealed = sealJson(key, 'site-a', contact);
    expect(() => openJson(randomBytes(32), 'site-a', sealed)).toThrow();
    expect(() => openJson(key, 'site-b', sealed)).toThrow();
    const parts = sealed.split('.');
    const body = Buffer.from(parts[2]!, 'base64url');
    body[0] = body[0]! ^ 1;
    parts[2] = body.toString('base64url');
    expect(() => openJson(key, 'site-a', parts.join('.'))).toThrow();
    expect(() => openJson(key, 'site-a', 'v1.bogus')).toThrow('not a sealed value');
  });
});
