import { type DynamicModule, Inject, Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ServeStaticModule } from '@nestjs/serve-static';
import type { NextFunction, Request, Response } from 'express';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DomainError } from '../common/domain-error.js';
import { CONSOLE_PATH, setConsoleCaching } from './web-console.headers.js';

/**
 * Where `npm run build` puts the console (vite build → dist/console): beside
 * this module's folder in dist/. Run from src/ (vitest's in-process apps) it
 * names src/console, which never exists, so those apps answer "not built".
 */
export const BUILT_CONSOLE = join(dirname(fileURLToPath(import.meta.url)), '..', 'console');

/** Any request under /console on a service whose console was not built: a 404 that says so. */
export class ConsoleNotBuiltError extends DomainError {
  constructor(directory: string) {
    super(
      'not-found',
      'console.not-built',
      `the web console is not built here (${join(directory, 'index.html')} is missing): ` +
        '`npm run build` builds it, `npm start` builds it and serves it',
    );
  }
}

const CONSOLE_DIRECTORY = Symbol('CONSOLE_DIRECTORY');

/**
 * Answers every request under /console with ConsoleNotBuiltError, through the
 * app's exception filter (problem+json). Mounted as the app initialises: after
 * the routes, before the catch-all 404, where ServeStaticModule mounts the files.
 */
@Injectable()
class ConsoleNotBuilt implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(CONSOLE_DIRECTORY) private readonly directory: string,
  ) {}

  onModuleInit(): void {
    // An application context without HTTP (the benchmarks' service) has nothing to answer.
    if (!this.adapterHost.httpAdapter) return;
    const error = new ConsoleNotBuiltError(this.directory);
    this.adapterHost.httpAdapter.use(CONSOLE_PATH, (_request: Request, _response: Response, next: NextFunction) =>
      next(error),
    );
  }
}

/**
 * The web console (console/: a Preact app Vite builds) as static files at
 * /console. Public, like /docs: the files hold no data, and every call the
 * console makes carries its user's bearer token. No route of its own, so the
 * OpenAPI document never mentions it. Its security headers (the CSP) are set
 * on the whole path by configureApp. Whether it is built is decided once, at start.
 */
@Module({})
export class WebConsoleModule {
  static forRoot(directory: string = BUILT_CONSOLE): DynamicModule {
    if (!existsSync(join(directory, 'index.html')))
      return {
        module: WebConsoleModule,
        providers: [{ provide: CONSOLE_DIRECTORY, useValue: directory }, ConsoleNotBuilt],
      };
    return {
      module: WebConsoleModule,
      imports: [
        ServeStaticModule.forRoot({
          rootPath: directory,
          serveRoot: CONSOLE_PATH,
          // The entry page only: the console routes by the URL's #fragment, so a path under /console
          // that is no file is a mistake, answered 404 problem+json like any unknown path.
          renderPath: '/',
          serveStaticOptions: {
            index: 'index.html',
            setHeaders: (response: Response, path: string) => setConsoleCaching(response, path),
          },
        }),
      ],
    };
  }
}
