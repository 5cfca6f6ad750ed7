/**
 * The one parser for every time a client sends (`asOf`, `from`, `to`, a
 * revert's `to`): an RFC 3339 date-time with an offset,
 * `2026-11-21T07:37:00Z`, `2026-11-21T07:37:00.250+01:00`.
 *
 * Deliberately narrower than ISO 8601, whose other forms (week dates,
 * ordinal dates, basic format, comma fractions, hour-only times, expanded
 * years) a validator may accept while `Date` cannot read them — exactly the
 * gap that once turned such inputs into 500s. The time is computed here
 * field by field rather than handed to `Date.parse`, so what is accepted
 * and what is understood are the same thing. A leap second (`:60`) is
 * refused: nothing in the ledger can be ordered by it.
 */
const RFC_3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Epoch milliseconds of an RFC 3339 date-time, or undefined when `text` is not one (fractions below 1 ms are dropped). */
export function parseRfc3339(text: string): number | undefined {
  const match = RFC_3339.exec(text);
  if (match === null) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const offsetHours = match[10] === undefined ? 0 : Number(match[10]);
  const offsetMinutes = match[11] === undefined ? 0 : Number(match[11]);
  if (
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysIn(year, month) ||
    hour > 23 ||
    minute > 59 ||
    second > 59 ||
    offsetHours > 23 ||
    offsetMinutes > 59
  ) {
    return undefined;
  }
  const milliseconds = Number((match[7] ?? '').padEnd(3, '0').slice(0, 3));
  const sign = match[9] === '-' ? -1 : 1;
  // Date.UTC maps years 0–99 to 1900–1999; setUTCFullYear keeps them as written.
  const utc = new Date(Date.UTC(2000, month - 1, day, hour, minute, second, milliseconds));
  utc.setUTCFullYear(year);
  return utc.getTime() - sign * (offsetHours * 60 + offsetMinutes) * 60_000;
}

export const isRfc3339 = (text: unknown): text is string =>
  typeof text === 'string' && parseRfc3339(text) !== undefined;

function daysIn(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}
