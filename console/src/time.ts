/* Moments as the console shows and sends them: UTC, ISO 8601 / RFC 3339 (`2026-11-30T15:10:35.493Z`). */

/** What the API accepts for asOf, from, to and a revert's `to`: an RFC 3339 date-time with an offset. */
const RFC_3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/** The UTC ISO form of epoch milliseconds. */
export function isoUtc(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * Epoch milliseconds of a moment typed by a person, or undefined when it is
 * not an RFC 3339 date-time with an offset (the API would refuse it with a
 * 400; the console says so before asking).
 */
export function parseMoment(text: string): number | undefined {
  const trimmed = text.trim();
  if (!RFC_3339.test(trimmed)) return undefined;
  const ms = Date.parse(trimmed);
  return Number.isNaN(ms) ? undefined : ms;
}

/** The hint every moment input shows. */
export const MOMENT_HINT = 'UTC, ISO 8601 with an offset, e.g. 2026-11-30T15:10:35Z';

/**
 * `count` moments from `start` to `end`, both included, evenly spaced and
 * whole milliseconds (the last is `end` exactly); one moment when the span
 * is empty.
 */
export function evenMoments(start: number, end: number, count: number): number[] {
  if (count < 2 || end <= start) return [end];
  const step = (end - start) / (count - 1);
  return Array.from({ length: count }, (_, i) => (i === count - 1 ? end : Math.round(start + i * step)));
}

/** A short human span, `3 s`, `4 min 10 s`, `2 h 5 min`, `3 d 4 h`, for labels beside the exact moments. */
export function span(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}
