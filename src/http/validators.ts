import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, type ApiPropertyOptions } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsISO8601, isISO8601, IsOptional, IsString, Matches, Max, Min, ValidateBy } from 'class-validator';
import { ID_PATTERN, ID_RULE } from '../common/ids.js';
import { isIsoDuration } from '../common/iso-duration.js';

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

/** A full ISO 8601 date-time with a zone (2026-11-21T07:37:00Z). */
export function IsIsoTime(): PropertyDecorator {
  return applyDecorators(
    IsISO8601(
      { strict: true, strictSeparator: true },
      { message: '$property must be an ISO 8601 date-time such as 2026-11-21T07:37:00Z' },
    ),
    Matches(ZONED_TIME, { message: '$property must include a time and a zone (Z or ±hh:mm)' }),
  );
}

const ZONED_TIME = /T.*(Z|[+-]\d\d:?\d\d)$/;

/** A revert target: an ISO date-time with a zone, or a stream version (integer ≥ 1). */
export function IsRevertTarget(): PropertyDecorator {
  return ValidateBy({
    name: 'isRevertTarget',
    validator: {
      validate: (value: unknown) =>
        (typeof value === 'number' && Number.isInteger(value) && value >= 1) ||
        (typeof value === 'string' &&
          isISO8601(value, { strict: true, strictSeparator: true }) &&
          ZONED_TIME.test(value)),
      defaultMessage: () => '$property must be an ISO 8601 date-time with a zone, or a version (integer ≥ 1)',
    },
  });
}

/** Normalises a validated ISO time to the UTC form events are stored with, so strings compare as times. */
export const toUtcIso = (time: string): string => new Date(time).toISOString();

/** Event type names, comma separated: `SiteSoftDeleted,SiteRestored`. */
export const EVENT_TYPE_LIST = /^[A-Za-z][A-Za-z0-9]{0,63}(,[A-Za-z][A-Za-z0-9]{0,63}){0,19}$/;
