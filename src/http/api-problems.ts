import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiResponse, type ApiResponseOptions, getSchemaPath } from '@nestjs/swagger';
import { ProblemDetails } from './common.dto.js';

/** The error statuses the ledger answers (problem-details.filter.ts), each with what it means here. */
const MEANINGS = {
  400: 'Bad input: malformed JSON, an unknown field, a wrong type or form; `errors` names each field',
  401: 'No valid bearer token',
  403: 'The token lacks the role',
  404: 'No such resource',
  405: 'Not allowed on this resource; the `Allow` header says what is',
  409: 'A rule or state conflict; `code` says which',
  412: 'If-Match names a version the resource has moved on from',
  413: 'The request body, or the change it asks for, is larger than the ledger accepts',
  415: 'The request body is in a charset or encoding the ledger does not read',
  422: 'A rejected plan: `errors` lists every problem',
  500:
    '`ledger.tampered`: a stream this answer depends on does not hold its hash chain (the stored ledger was ' +
    'changed outside the service; `streamId`, `version` and `eventId` name where), or an unexpected error, logged',
  503: 'The event store or a read model is not available at the moment; retry (see Retry-After)',
} as const;
export type ProblemStatus = keyof typeof MEANINGS;

/** An error status with this route's own description of when it is answered. */
export type ProblemAnswer = ProblemStatus | [ProblemStatus, string];

/**
 * Documents error answers as they are sent: `application/problem+json`
 * (RFC 9457) with the ProblemDetails schema. On a controller it applies to
 * every route; a route's own entry for the same status replaces it.
 */
export function ApiProblems(...answers: ProblemAnswer[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiExtraModels(ProblemDetails),
    ...answers.map((answer) => {
      const [status, description] = typeof answer === 'number' ? [answer, MEANINGS[answer]] : answer;
      return ApiResponse({
        status,
        description,
        content: { 'application/problem+json': { schema: { $ref: getSchemaPath(ProblemDetails) } } },
      });
    }),
  );
}

/**
 * What any request may be refused with before its route decides anything,
 * declared on every operation of the document (a route's own entry for the
 * status replaces it): a malformed header the service reads on every route
 * (Ledger-Min-Position, Idempotency-Key), or a body the parser cannot read,
 * whatever the method.
 */
export const ANY_REQUEST_PROBLEMS: ApiResponseOptions[] = [
  [400, 'A malformed header (Ledger-Min-Position, Idempotency-Key) or body; `errors` names the field'] as const,
  [413, MEANINGS[413]] as const,
  [415, MEANINGS[415]] as const,
].map(([status, description]) => ({
  status,
  description,
  content: { 'application/problem+json': { schema: { $ref: getSchemaPath(ProblemDetails) } } },
}));
