import { type ArgumentMetadata, ValidationPipe, type ValidationError } from '@nestjs/common';
import { DomainError, type Problem } from '../common/domain-error.js';
import { hasLoneSurrogate, MAX_BODY_DEPTH, nestsDeeperThan } from './json-body.js';

/**
 * Validates every body, query and path DTO (SPEC §6): unknown fields, wrong
 * types and malformed values are a 400 that names each field.
 */
export function createValidationPipe(): ValidationPipe {
  return new DepthCheckingValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    stopAtFirstError: true,
    validationError: { target: false, value: true },
    exceptionFactory: (errors) => {
      const problems = errors.flatMap((error) => flatten(error, ''));
      const fields = problems.map((item) => item.field).join(', ');
      return new DomainError('invalid', 'request.invalid', `invalid request: ${fields}`, problems);
    },
  });
}

function flatten(error: ValidationError, parent: string): Problem[] {
  const field = !parent
    ? error.property
    : /^\d+$/.test(error.property)
      ? `${parent}[${error.property}]`
      : `${parent}.${error.property}`;
  const own: Problem[] = error.constraints
    ? [{ field, problem: problemOf(error), detail: Object.values(error.constraints).join('; ') }]
    : [];
  return [...own, ...(error.children ?? []).flatMap((child) => flatten(child, field))];
}

function problemOf(error: ValidationError): string {
  const constraints = Object.keys(error.constraints ?? {});
  if (constraints.includes('whitelistValidation')) return 'unknown-field';
  if (error.value === undefined) return 'missing';
  return 'invalid';
}

/**
 * Refuses, before validation sees it, a body nested deeper than MAX_BODY_DEPTH (validation recurses per level)
 * or holding text that has no canonical form (a lone surrogate).
 */
class DepthCheckingValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && nestsDeeperThan(value, MAX_BODY_DEPTH)) {
      throw new DomainError('invalid', 'request.too-deep', `the body nests deeper than ${MAX_BODY_DEPTH} levels`);
    }
    if (metadata.type === 'body' && hasLoneSurrogate(value)) {
      throw new DomainError(
        'invalid',
        'request.invalid-unicode',
        'the body holds a lone UTF-16 surrogate (not I-JSON)',
      );
    }
    return super.transform(value, metadata);
  }
}
