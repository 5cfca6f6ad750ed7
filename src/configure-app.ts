import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { correlationId } from './http/request-context.decorator.js';
import { ProblemDetailsFilter } from './http/problem-details.filter.js';
import { createValidationPipe } from './http/validation.js';
import { httpMetrics } from './observability/http-metrics.js';
import { LedgerMetrics } from './observability/ledger-metrics.js';

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
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
  return app;
}
