import { Inject, Injectable } from '@nestjs/common';
import { KEY_STORE, type KeyStore } from '../crypto/key-store.port.js';
import { openJson, sealJson } from '../crypto/personal-data-cipher.js';
import type { JsonObject, JsonValue } from '../common/json.js';

/** A contact as stored in an event: sealed with the site's data key. */
type SealedContact = { sealed: string };

export const REDACTED_CONTACT = { redacted: true } as const;

/**
 * Keeps personal data out of the event log in the clear. Every event data
 * member named `contacts` (SiteRegistered, SiteContactsUpdated, and any
 * later event that carries contacts) is sealed contact by contact with the
 * site's data key on the way in, and opened on the way out. Once the key is
 * destroyed (purge), each contact reads as `{redacted: true}` everywhere:
 * state, history, audit and the stream. The sealed strings stay in the log,
 * so hash chains keep verifying.
 */
@Injectable()
export class PersonalDataCodec {
  constructor(@Inject(KEY_STORE) private readonly keys: KeyStore) {}

  async protect(siteId: string, data: JsonObject): Promise<JsonObject> {
    const contacts = data['contacts'];
    if (!Array.isArray(contacts) || contacts.length === 0) return data;
    const key = await this.keys.obtainKey(siteId);
    const context = aad(siteId);
    return {
      ...data,
      contacts: contacts.map((contact) => ({ sealed: sealJson(key, context, contact) })),
    };
  }

  /**
   * A reader for one site's events: it looks the key up once, so reading a
   * long history costs one key-store lookup.
   */
  async revealer(siteId: string): Promise<(data: JsonObject) => JsonObject> {
    const key = await this.keys.findKey(siteId);
    const context = aad(siteId);
    return (data) => {
      const contacts = data['contacts'];
      if (!Array.isArray(contacts)) return data;
      return { ...data, contacts: contacts.map((contact) => reveal(key, context, contact)) };
    };
  }
}

/** Binds a sealed contact to its site: a copy pasted into another site's event does not open. */
const aad = (siteId: string): string => `site-${siteId}`;

function reveal(key: Buffer | undefined, context: string, stored: JsonValue): JsonValue {
  if (!isSealed(stored)) return stored;
  if (!key) return REDACTED_CONTACT;
  try {
    return openJson(key, context, stored.sealed);
  } catch {
    // Tampered or foreign ciphertext: show nothing rather than fail the read;
    // `GET /v1/ledger/verify` reports the broken chain.
    return REDACTED_CONTACT;
  }
}

function isSealed(value: JsonValue): value is SealedContact {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && typeof value['sealed'] === 'string';
}
