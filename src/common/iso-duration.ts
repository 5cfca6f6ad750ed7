/**
 * ISO 8601 durations (`P30D`, `PT1M`, `P1Y2M10DT2H30M`), as retention and
 * intervals are configured. Calendar parts (years, months) have no fixed
 * length, so durations are applied to an instant rather than turned into
 * milliseconds on their own; arithmetic is in UTC.
 */
export interface IsoDuration {
  years: number;
  months: number;
  weeks: number;
  days: number;
  hours: number;
  minutes: number;
  seconds: number;
}

const PATTERN = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d{1,3})?)S)?)?$/;

/** The duration `text` denotes, or undefined when it is not an ISO 8601 duration. */
export function parseIsoDuration(text: string): IsoDuration | undefined {
  const match = PATTERN.exec(text);
  // "P" and "PT" match the pattern but name no amount of time.
  if (!match || text === 'P' || text.endsWith('T')) return undefined;
  const [, years, months, weeks, days, hours, minutes, seconds] = match.map((part) =>
    part === undefined ? 0 : Number(part),
  ) as number[];
  return {
    years: years ?? 0,
    months: months ?? 0,
    weeks: weeks ?? 0,
    days: days ?? 0,
    hours: hours ?? 0,
    minutes: minutes ?? 0,
    seconds: seconds ?? 0,
  };
}

export function isIsoDuration(text: string): boolean {
  return parseIsoDuration(text) !== undefined;
}

/** `from` + `duration`, calendar-aware in UTC (Jan 31 + P1M = Mar 3 as Date does). */
export function addIsoDuration(from: Date, duration: IsoDuration): Date {
  const result = new Date(from.getTime());
  result.setUTCFullYear(result.getUTCFullYear() + duration.years);
  result.setUTCMonth(result.getUTCMonth() + duration.months);
  result.setUTCDate(result.getUTCDate() + duration.weeks * 7 + duration.days);
  const timeMs = ((duration.hours * 60 + duration.minutes) * 60 + duration.seconds) * 1000;
  return new Date(result.getTime() + timeMs);
}

/** Length in milliseconds when applied at `at` (default: the Unix epoch). */
export function isoDurationMs(duration: IsoDuration, at: Date = new Date(0)): number {
  return addIsoDuration(at, duration).getTime() - at.getTime();
}
