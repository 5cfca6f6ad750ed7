import type { LoggerService } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Logger as PinoNestLogger, PinoLogger, type Params } from 'nestjs-pino';
import pino, { type DestinationStream, type LoggerOptions } from 'pino';
import pretty from 'pino-pretty';
import type { LedgerConfig } from '../config/ledger-config.js';
import { notedError, requestLogFields, requestLogLevel, requestLogMessage } from './request-log.js';

/** Whether lines are written for a person (pretty) or for a machine (one JSON object per line). */
export function logFormatOf(config: Pick<LedgerConfig, 'logFormat'>, stdoutIsTty: boolean): 'json' | 'pretty' {
  return config.logFormat === 'auto' ? (stdoutIsTty ? 'pretty' : 'json') : config.logFormat;
}

/**
 * The logger of the whole process (nestjs-pino keeps one pino-http instance
 * per process: the first options given win), and the one line each HTTP
 * request gets. No line ever holds a header, a query string or a body: the
 * request and response objects are never serialized (see requestLogFields).
 */
export function loggerParams(config: Pick<LedgerConfig, 'logLevel' | 'logFormat'>, stdoutIsTty: boolean): Params {
  const format = logFormatOf(config, stdoutIsTty);
  const options = {
    level: config.logLevel,
    timestamp: pino.stdTimeFunctions.isoTime,
    // Labels ("info") read better than pino's numbers in JSON; pino-pretty wants the numbers.
    ...(format === 'json' ? { formatters: { level: (label: string) => ({ level: label }) } } : {}),
    // Lines logged while serving a request carry only its id (`reqId`), never the request.
    quietReqLogger: true,
    quietResLogger: true,
    genReqId: () => randomUUID(),
    // Nest mounts the middleware twice on paths outside the global prefix (/health, /metrics); one line each.
    autoLogging: { ignore: loggedOnce },
    customLogLevel: (_request, response, error) =>
      requestLogLevel(response.statusCode, error !== undefined || notedError(response) !== undefined),
    customSuccessMessage: (_request, response) => requestLogMessage(response.statusCode),
    customErrorMessage: (_request, response) => requestLogMessage(response.statusCode),
    customSuccessObject: (request, response, value: { responseTime?: number }) =>
      requestLogFields(request, response, value.responseTime ?? 0),
    // pino-http makes up an error for any 5xx; only a real one (its stack) is worth a line.
    customErrorObject: (request, response, error, value: { responseTime?: number }) => {
      const fields = requestLogFields(request, response, value.responseTime ?? 0);
      const thrown = notedError(response) ?? (error.message.startsWith('failed with status code') ? undefined : error);
      return thrown === undefined ? fields : { ...fields, err: thrown };
    },
    // Should anything still hand a request to a line, its secrets do not follow it.
    redact: { paths: ['req.headers', 'req.body', 'req.query', 'res.headers'], remove: true },
  } satisfies NonNullable<Params['pinoHttp']> & LoggerOptions;
  const destination: DestinationStream =
    format === 'pretty'
      ? pretty({ sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' })
      : // Synchronous: a line is written before the process can exit or be killed.
        pino.destination({ dest: 1, sync: true });
  return { pinoHttp: [options, destination] };
}

const LOGGED = Symbol('logged');

/** False the first time it sees a request, true after. */
function loggedOnce(request: object): boolean {
  const marked = request as { [LOGGED]?: true };
  if (marked[LOGGED]) return true;
  marked[LOGGED] = true;
  return false;
}

/**
 * The Nest logger for a process entry point, built before Nest starts so
 * that what is logged on the way (stores opening) is already in the format;
 * the app module's LoggerModule then shares the same pino instance.
 */
export function createAppLogger(params: Params): LoggerService {
  return new PinoNestLogger(new PinoLogger(params), params);
}
