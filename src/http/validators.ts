import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, type ApiPropertyOptions } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, Min, ValidateBy } from 'class-validator';
import { ID_PATTERN, ID_RULE } from '../common/ids.js';
import { isIsoDuration } from '../common/iso-duration.js';
import { isRfc3339, parseRfc3339 } from '../common/rfc3339.js';

/** A site, customer or installation ID (SPEC §3), documented and validated in one place. */
export function IsLedgerId(options: ApiPropertyOptions = {}): PropertyDecorator {
  return applyDecorators(
    ApiProperty({ pattern: ID_PATTERN.source, minLength: 1, maxLength: 64, ...options } as ApiPropertyOptions),
    IsString(),
    Matches(ID_PATTERN, { message: `$property must be ${ID_RULE}` }),
  );
}

/** The most items one page of any list holds (SPEC §5: `limit` ≤ 1000). */
export const MAX_PAGE_SIZE = 1000;

/** An optional `limit` query parameter: a page of 1 to MAX_PAGE_SIZE items, 100 when left out. */
export function IsPageLimit(description?: string): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({ default: 100, minimum: 1, maximum: MAX_PAGE_SIZE, ...(description ? { description } : {}) }),
    IsOptional(),
    Type(() => Number),
    IsInt(),
    Min(1),
    Max(MAX_PAGE_SIZE),
  );
}

/** An ISO 8601 duration such as P30D. */
export function IsIsoDuration(): PropertyDecorator {
  return ValidateBy({
    name: 'isIsoDuration',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && isIsoDuration(value),
      defaultMessage: () => '$property must be an ISO 8601 duration such as P30D',
    },
  });
}

const TIME_RULE = 'an RFC 3339 date-time with an offset, such as 2026-11-21T07:37:00Z';

/** A point in time a client sends (SPEC §9: RFC 3339 with an offset); the one rule for every time input. */
export function IsIsoTime(): PropertyDecorator {
  return ValidateBy({
    name: 'isRfc3339',
    validator: { validate: isRfc3339, defaultMessage: () => `$property must be ${TIME_RULE}` },
  });
}

/** A revert target: an RFC 3339 date-time, or a stream version (integer ≥ 1). */
export function IsRevertTarget(): PropertyDecorator {
  return ValidateBy({
    name: 'isRevertTarget',
    validator: {
      validate: (value: unknown) =>
        (typeof value === 'number' && Number.isInteger(value) && value >= 1) || isRfc3339(value),
      defaultMessage: () => `$property must be ${TIME_RULE}, or a version (integer ≥ 1)`,
    },
  });
}

/** A validated time as epoch milliseconds. */
export const timeMs = (time: string): number => {
  const ms = parseRfc3339(time);
  if (ms === undefined) throw new TypeError(`${time} was not validated as a time`);
  return ms;
};

/** Normalises a validated time to the UTC form events are stored with, so strings compare as times. */
export const toUtcIso = (time: string): string => new Date(timeMs(time)).toISOString();

/** Event type names, comma separated: `SiteSoftDeleted,SiteRestored`. */
export const EVENT_TYPE_LIST = /^[A-Za-z][A-Za-z0-9]{0,63}(,[A-Za-z][A-Za-z0-9]{0,63}){0,19}$/;
