import { RequestMethod } from '@nestjs/common';
import { HTTP_CODE_METADATA, METHOD_METADATA } from '@nestjs/common/constants.js';
import { ApiHeader, DECORATORS, getSchemaPath } from '@nestjs/swagger';
import { ProblemDetails } from './common.dto.js';
import { IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED } from './idempotency.interceptor.js';

const WRITES = new Set<unknown>([RequestMethod.POST, RequestMethod.PUT]);

/** What the interceptor itself may answer on a write route (application/problem+json). */
const REFUSALS: readonly [string, string][] = [
  ['409', '`idempotency.in-flight`: a request with this Idempotency-Key is still running; retry once it answered'],
  ['422', '`idempotency.key-reused`: this Idempotency-Key was used for another request'],
];

type ResponseEntries = Record<string, { headers?: Record<string, unknown> } & Record<string, unknown>>;

/**
 * Documents `Idempotency-Key` on every POST and PUT of a controller (the
 * IdempotencyInterceptor serves them all): the header, the replay header on
 * each success answer, and the 409 and 422 it may answer. On the class, so a
 * new write route is documented without another decorator. Put it first,
 * above the other class decorators: decorators apply bottom-up, so it then
 * sees every response declared on the class and its methods and adds to them.
 */
export function IdempotentWrites(): ClassDecorator {
  return (target) => {
    const prototype = target.prototype as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(prototype)) {
      const descriptor = Object.getOwnPropertyDescriptor(prototype, name);
      const handler: unknown = descriptor?.value;
      if (name === 'constructor' || typeof handler !== 'function') continue;
      if (!WRITES.has(Reflect.getMetadata(METHOD_METADATA, handler))) continue;
      ApiHeader({
        name: IDEMPOTENCY_KEY,
        required: false,
        description:
          '1–255 printable ASCII characters, new for each request. A retry with the same key and request ' +
          'gets the first answer (status, body, ETag, Location, Ledger-Position) with `Idempotent-Replayed: true` ' +
          'and records nothing; kept for LEDGER_IDEMPOTENCY_TTL, per principal and route',
        schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x20-\\x7e]{1,255}$' },
      })(prototype, name, descriptor!);
      const responses = { ...(Reflect.getMetadata(DECORATORS.API_RESPONSE, handler) as ResponseEntries | undefined) };
      const classResponses = (Reflect.getMetadata(DECORATORS.API_RESPONSE, target) ?? {}) as ResponseEntries;
      for (const [status, description] of REFUSALS) {
        // A method's entry replaces the class's for its status: the class's description is kept in it.
        const declared = responses[status] ?? classResponses[status];
        const before = typeof declared?.['description'] === 'string' ? declared['description'] : '';
        responses[status] = {
          content: { 'application/problem+json': { schema: { $ref: getSchemaPath(ProblemDetails) } } },
          isArray: false,
          ...declared,
          description: before === '' ? description : `${before}; or ${description}`,
        };
      }
      // Declaring any response replaces the default success Nest documents for a route that declares none.
      if (!Object.keys({ ...classResponses, ...responses }).some((status) => /^2\d\d$/.test(status))) {
        const verb: unknown = Reflect.getMetadata(METHOD_METADATA, handler);
        const status: unknown = Reflect.getMetadata(HTTP_CODE_METADATA, handler);
        responses[String(status ?? (verb === RequestMethod.POST ? 201 : 200))] = { description: '', isArray: false };
      }
      Reflect.defineMetadata(DECORATORS.API_RESPONSE, responses, handler);
      for (const [status, entry] of Object.entries(responses)) {
        if (!/^2\d\d$/.test(status)) continue;
        entry.headers = {
          ...entry.headers,
          [IDEMPOTENT_REPLAYED]: {
            description: '`true` when this is the stored answer to an earlier request with the same Idempotency-Key',
            schema: { type: 'string', enum: ['true'] },
          },
        };
      }
    }
  };
}
