import type { NextFunction, Request, Response } from 'express';

/** Where the web console is served: its files, and the 404 that says it is not built. */
export const CONSOLE_PATH = '/console';

/**
 * The console's Content-Security-Policy: its own scripts, styles and API only.
 * No inline script or style attribute runs (the build emits none; styles the
 * pages set from script go through the CSSOM, which the policy allows),
 * nothing loads from another origin, no form posts anywhere (the pages send
 * every request with fetch), and no other site may frame it (clickjacking an
 * approve button). `img-src data:` leaves room for small inlined images;
 * today there are none (the icon is a file, and the build inlines no asset).
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Sets the console's security headers on every answer under CONSOLE_PATH
 * (files, redirects, 404s alike). Mounted by configureApp before any route,
 * so it runs whatever serves the request.
 */
export function consoleHeaders(_request: Request, response: Response, next: NextFunction): void {
  response.setHeader('Content-Security-Policy', CONSOLE_CSP);
  response.setHeader('X-Content-Type-Options', 'nosniff');
  response.setHeader('X-Frame-Options', 'DENY');
  response.setHeader('Referrer-Policy', 'no-referrer');
  response.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  next();
}

/**
 * Caching for a console file: the entry page is revalidated on every load, so
 * a new build takes effect at once; the files it names carry a content hash
 * in their names (`assets/index-3f2a….js`) and never change.
 */
export function setConsoleCaching(response: Response, path: string): void {
  response.setHeader(
    'Cache-Control',
    /[\\/]assets[\\/]/.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache',
  );
}
