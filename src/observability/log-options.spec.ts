import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pinoHttp, type Options } from 'pino-http';
import { describe, expect, it } from 'vitest';
import { logFormatOf, loggerParams } from './log-options.js';
import { noteProblem } from './request-log.js';

describe('log format', () => {
  it('is JSON unless a terminal reads stdout, and a variable forces either', () => {
    expect(logFormatOf({ logFormat: 'auto' }, false)).toBe('json');
    expect(logFormatOf({ logFormat: 'auto' }, true)).toBe('pretty');
    expect(logFormatOf({ logFormat: 'json' }, true)).toBe('json');
    expect(logFormatOf({ logFormat: 'pretty' }, false)).toBe('pretty');
  });
});

describe('request lines', () => {
  /** Serves `handle` behind pino-http with the service's options, writing lines into an array. */
  async function linesOf(
    level: 'debug' | 'info',
    handle: (request: IncomingMessage, response: ServerResponse) => void,
    paths: string[],
  ): Promise<Record<string, unknown>[]> {
    const { pinoHttp: params } = loggerParams({ logLevel: level, logFormat: 'json' }, false);
    const [options] = params as [Options, unknown];
    const written: string[] = [];
    const middleware = pinoHttp(options, { write: (line: string) => written.push(line) });
    const server = createServer((request, response) => middleware(request, response, () => handle(request, response)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      for (const path of paths) {
        const headers = { Authorization: 'Bearer tl_secret_token', 'X-Contact': 'kim.lee@example.com' };
        await (
          await fetch(`${base}${path}`, { method: 'POST', headers, body: '{"email":"kim.lee@example.com"}' })
        ).text();
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(written.join('')).not.toMatch(/tl_secret_token|kim\.lee|authorization|x-contact/i);
    return written.map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  it('logs a thrown server error at error with its stack, a refusal at info with its code, successes at debug', async () => {
    const lines = await linesOf(
      'debug',
      (request, response) => {
        if (request.url!.startsWith('/boom')) {
          noteProblem(response, 'internal', new Error('boom'));
          response.statusCode = 500;
        } else if (request.url!.startsWith('/refused')) {
          noteProblem(response, 'site.legal-hold');
          response.statusCode = 409;
        }
        response.end('{}');
      },
      ['/boom?actor=kim.lee%40example.com', '/refused', '/fine'],
    );
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'error',
        msg: 'request failed',
        method: 'POST',
        path: '/boom',
        status: 500,
        code: 'internal',
        err: expect.objectContaining({ message: 'boom', stack: expect.stringContaining('Error: boom') }),
      }),
      expect.objectContaining({
        level: 'info',
        msg: 'request refused',
        path: '/refused',
        status: 409,
        code: 'site.legal-hold',
      }),
      expect.objectContaining({ level: 'debug', msg: 'request completed', path: '/fine', status: 200 }),
    ]);
  });

  it('logs a 503 answered on purpose at warn without a made-up error, and leaves successes out at info', async () => {
    const lines = await linesOf(
      'info',
      (request, response) => {
        response.statusCode = request.url === '/ready' ? 503 : 200;
        response.end('{}');
      },
      ['/ready', '/fine'],
    );
    expect(lines).toEqual([expect.objectContaining({ level: 'warn', path: '/ready', status: 503 })]);
    expect(lines[0]).not.toHaveProperty('err');
  });
});
