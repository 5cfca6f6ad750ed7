import type { Site } from './api.types';

/** One field of a site compared between two moments. */
export interface FieldChange {
  field: string;
  before: string;
  after: string;
  changed: boolean;
}

/** The fields a person compares, in the order the site page shows them. */
export const SITE_FIELDS = [
  'status',
  'name',
  'customerId',
  'region',
  'internal',
  'products',
  'contacts',
  'deletionProtection',
  'legalHold',
  'retention',
  'deletedAt',
  'purgeAfter',
  'purgedAt',
  'version',
  'updatedAt',
] as const satisfies readonly (keyof Site)[];

/** A field's value as text: strings as they are, absent as `—`, anything else as compact JSON. */
export function fieldText(value: unknown): string {
  if (value === undefined || value === null) return '—';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/**
 * Field by field, how a site at one moment differs from the same site at
 * another. A side is undefined when the site did not exist yet then: every
 * field it has on the other side counts as changed.
 */
export function diffSites(before: Site | undefined, after: Site | undefined): FieldChange[] {
  return SITE_FIELDS.map((field) => {
    const a = before === undefined ? '(did not exist)' : fieldText(before[field]);
    const b = after === undefined ? '(did not exist)' : fieldText(after[field]);
    return { field, before: a, after: b, changed: a !== b };
  });
}
