import { describe, expect, it } from 'vitest';
import { logFormatOf, loggerParams } from './log-options.js';

describe('log format', () => {
  it('is JSON unless a terminal reads stdout, and a variable forces either', () => {
    expect(logFormatOf({ logFormat: 'auto' }, false)).toBe('json');
    expect(logFormatOf({ logFormat: 'auto' }, true)).toBe('pretty');
    expect(logFormatOf({ logFormat: 'json' }, true)).toBe('json');
    expect(logFormatOf({ logFormat: 'pretty' }, false)).toBe('pretty');
  });

  it('takes the level from the configuration and never serializes a request', () => {
    const { pinoHttp } = loggerParams({ logLevel: 'warn', logFormat: 'json' }, false);
    expect(Array.isArray(pinoHttp)).toBe(true);
    const [options] = pinoHttp as [Record<string, unknown>, unknown];
    expect(options).toMatchObject({ level: 'warn', quietReqLogger: true, quietResLogger: true });
  });
});
