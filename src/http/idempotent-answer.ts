import type { JsonObject, JsonValue } from '../common/json.js';
import { KeyDestroyedError } from '../crypto/key-store.port.js';
import { type PersonalDataCodec, REDACTED_CONTACT } from '../ledger/personal-data.codec.js';

/**
 * A stored answer never holds a contact in the clear (SPEC §7): every
 * `contacts` list in it is sealed with its site's key, like the events, so a
 * purge shreds the stored answers too. The site is the object's own
 * `siteId` (a site view, an event's data), else the route's `:siteId`.
 */
export async function sealAnswerContacts(
  codec: PersonalDataCodec,
  body: unknown,
  routeSiteId: string | undefined,
): Promise<JsonValue> {
  return mapContactLists(body as JsonValue, routeSiteId, async (siteId, holder, contacts) => {
    if (contacts.every(isRedacted)) return holder;
    try {
      return await codec.protect(siteId, holder);
    } catch (error) {
      // Purged while the command ran: nothing left to protect, nothing to show.
      if (error instanceof KeyDestroyedError) return { ...holder, contacts: contacts.map(() => REDACTED_CONTACT) };
      throw error;
    }
  });
}

/** Opens what `sealAnswerContacts` sealed; a contact whose site key is gone reads `{"redacted": true}`. */
export async function openAnswerContacts(
  codec: PersonalDataCodec,
  body: unknown,
  routeSiteId: string | undefined,
): Promise<JsonValue> {
  return mapContactLists(body as JsonValue, routeSiteId, async (siteId, holder) =>
    (await codec.revealer(siteId))(holder),
  );
}

/** Rebuilds `value` with every object that holds a non-empty `contacts` list passed through `change`. */
async function mapContactLists(
  value: JsonValue,
  routeSiteId: string | undefined,
  change: (siteId: string, holder: JsonObject, contacts: JsonValue[]) => Promise<JsonObject>,
): Promise<JsonValue> {
  if (Array.isArray(value)) {
    const items: JsonValue[] = [];
    for (const item of value) items.push(await mapContactLists(item, routeSiteId, change));
    return items;
  }
  if (value === null || typeof value !== 'object') return value;
  const object: JsonObject = {};
  for (const [name, member] of Object.entries(value)) {
    object[name] = name === 'contacts' ? member : await mapContactLists(member, routeSiteId, change);
  }
  const contacts = object['contacts'];
  if (!Array.isArray(contacts) || contacts.length === 0) return object;
  const siteId = typeof object['siteId'] === 'string' ? object['siteId'] : routeSiteId;
  if (siteId === undefined) throw new Error('an answer holds contacts of no known site: it is not kept');
  return change(siteId, object, contacts);
}

function isRedacted(contact: JsonValue): boolean {
  return typeof contact === 'object' && contact !== null && !Array.isArray(contact) && contact['redacted'] === true;
}
