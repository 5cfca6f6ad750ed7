import type { NextFunction, Request, Response } from 'express';
import type { LedgerMetrics } from './ledger-metrics.js';
import { notedProblemCode, routeOf } from './request-log.js';

/**
 * Times every request until its response ends (or the client leaves),
 * labelled by the route pattern, never the raw URL: one series per route,
 * whatever ids the paths carry. A refusal to answer from a tampered
 * stream is also counted on its own, for an alert that must never fire.
 */
export function httpMetrics(metrics: LedgerMetrics) {
  return (request: Request, response: Response, next: NextFunction): void => {
    const started = process.hrtime.bigint();
    let done = false;
    const observe = () => {
      if (done) return;
      done = true;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const labels = { method: request.method, route: routeOf(request) ?? 'unmatched', status: response.statusCode };
      metrics.httpDuration.observe(labels, seconds);
      if (notedProblemCode(response) === 'ledger.tampered') metrics.tamperedRefusals.inc({ route: labels.route });
    };
    response.once('finish', observe);
    response.once('close', observe);
    next();
  };
}
