import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { notedError, noteProblem, requestLogFields, requestLogLevel, requestLogMessage } from './request-log.js';

const request = (extra: Record<string, unknown> = {}) =>
  ({
    method: 'GET',
    url: '/sites?actor=kim',
    originalUrl: '/v1/audit?actor=kim.lee%40example.com&limit=5',
    headers: { authorization: 'Bearer tl_secret' },
    correlationId: 'INC-7',
    ...extra,
  }) as unknown as IncomingMessage;

describe('requestLogFields', () => {
  it('names method, route, path without its query, status, duration and correlation; never headers', () => {
    const response = { statusCode: 200 } as ServerResponse;
    const fields = requestLogFields(request({ route: { path: '/v1/audit' } }), response, 7);
    expect(fields).toEqual({
      method: 'GET',
      path: '/v1/audit',
      route: '/v1/audit',
      status: 200,
      durationMs: 7,
      correlationId: 'INC-7',
    });
    expect(JSON.stringify(fields)).not.toMatch(/tl_secret|kim|example\.com/);
  });

  it('carries the problem code the filter noted, and leaves out a route when none matched', () => {
    const response = { statusCode: 409 } as ServerResponse;
    noteProblem(response, 'site.not-suspended');
    const fields = requestLogFields(request(), response, 3);
    expect(fields).toMatchObject({ status: 409, code: 'site.not-suspended' });
    expect(fields).not.toHaveProperty('route');
    expect(response).not.toHaveProperty('err');
  });

  it('hands a server error to pino-http as res.err, for its stack', () => {
    const response = { statusCode: 500 } as ServerResponse;
    const error = new Error('boom');
    noteProblem(response, 'internal', error);
    expect(notedError(response)).toBe(error);
  });
});

describe('request log level and message', () => {
  it('successes at debug, refusals at info, thrown server errors at error, a deliberate 503 at warn', () => {
    expect([200, 201, 304, 400, 404, 422, 503].map((status) => requestLogLevel(status, false))).toEqual([
      'debug',
      'debug',
      'debug',
      'info',
      'info',
      'info',
      'warn',
    ]);
    expect(requestLogLevel(500, true)).toBe('error');
    expect(requestLogLevel(503, true)).toBe('error');
    expect([201, 409, 503].map(requestLogMessage)).toEqual(['request completed', 'request refused', 'request failed']);
  });
});
