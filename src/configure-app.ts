import type { HttpServer, INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { ANY_REQUEST_PROBLEMS } from './http/api-problems.js';
import { correlationId } from './http/request-context.decorator.js';
import { ProblemDetailsFilter } from './http/problem-details.filter.js';
import { createValidationPipe } from './http/validation.js';
import { httpMetrics } from './observability/http-metrics.js';
import { LedgerMetrics } from './observability/ledger-metrics.js';
import { CONSOLE_PATH, consoleHeaders } from './web-console/web-console.headers.js';

/**
 * Everything about the HTTP surface that is not a route: prefix, validation,
 * errors, OpenAPI. main.ts and the e2e tests both call it, so tests run the
 * app exactly as it is served.
 */
export function configureApp(app: INestApplication): INestApplication {
  // ETags here mean site versions (If-Match); Express's body-hash ETags would muddle that.
  const express = app.getHttpAdapter().getInstance() as { set(setting: string, value: unknown): void };
  express.set('etag', false);
  express.set('x-powered-by', false);
  // Every log line through pino (JSON, or pretty at a terminal): Nest's own, the features' and one per request.
  app.useLogger(app.get(Logger));
  // Probes and scrapers expect these at the root.
  app.setGlobalPrefix('v1', { exclude: ['health', 'health/live', 'health/ready', 'metrics'] });
  answerEveryUnknownPath(app.getHttpAdapter());
  // Before whatever answers there (its files, or its 404): the console's CSP and other security headers.
  app.use(CONSOLE_PATH, consoleHeaders);
  app.use(correlationId);
  app.use(httpMetrics(app.get(LedgerMetrics)));
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new ProblemDetailsFilter());
  app.enableShutdownHooks();

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('tenant-ledger')
      .setDescription(
        'Every site (tenant) lifecycle change as an immutable, hash-chained event. ' +
          'Sites are deleted only by reviewed, approved, progressive operations; restores are compensating events. ' +
          'Errors are application/problem+json (RFC 9457) with a stable `code`.',
      )
      .setVersion('1')
      .setLicense('UNLICENSED (proprietary)', 'https://docs.npmjs.com/cli/configuring-npm/package-json#license')
      // Relative: clients and Swagger UI call the origin they loaded the document from, whatever HOST and PORT say.
      .addServer('/', 'This service')
      .addGlobalResponse(...ANY_REQUEST_PROBLEMS)
      .addBearerAuth({
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'opaque',
        description: 'An opaque token (tl_…) from the token file (SPEC §7); it carries no claims',
      })
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
  return app;
}

/**
 * Nest sends an unknown path through the exception filters (problem+json)
 * only under the global prefix and on the exact excluded paths; `/nope`,
 * `/health/nope` or `/docs/nope` would get Express's HTML 404. Nest mounts
 * its not-found handler during init, behind every route (configureApp runs
 * before init), so this mounts that same handler once more at the root,
 * right behind it: every path no route serves answers 404 problem+json.
 * A raw route added to Express after init would sit behind it; add routes
 * as controllers.
 */
function answerEveryUnknownPath(adapter: HttpServer): void {
  const setNotFoundHandler = adapter.setNotFoundHandler?.bind(adapter);
  if (setNotFoundHandler === undefined) return;
  adapter.setNotFoundHandler = (handler, prefix, excludedRoutes) => {
    setNotFoundHandler(handler, prefix, excludedRoutes);
    if (prefix) adapter.use(handler as (request: unknown, response: unknown) => void);
  };
}
