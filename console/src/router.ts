import { useEffect, useState } from 'preact/hooks';

/**
 * The console's pages, by the URL's #fragment (`#/operations/op_…`): the
 * service serves one file, and a reload or a shared link opens the same page.
 */
export type Route =
  | { page: 'operations' }
  | { page: 'operation'; operationId: string }
  | { page: 'site'; siteId: string }
  | { page: 'fleet' }
  | { page: 'audit'; query: URLSearchParams }
  | { page: 'not-found'; path: string };

export function parseRoute(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#/, '').split('?', 2);
  const parts = path
    .split('/')
    .filter((part) => part !== '')
    .map(decodeURIComponent);
  const [first, second, ...rest] = parts;
  if (rest.length === 0) {
    if (first === undefined || (first === 'operations' && second === undefined)) return { page: 'operations' };
    if (first === 'operations' && second !== undefined) return { page: 'operation', operationId: second };
    if (first === 'sites' && second !== undefined) return { page: 'site', siteId: second };
    if (first === 'fleet' && second === undefined) return { page: 'fleet' };
    if (first === 'audit' && second === undefined) return { page: 'audit', query: new URLSearchParams(query) };
  }
  return { page: 'not-found', path };
}

/** Links, as `href` values. */
export const links = {
  operations: () => '#/operations',
  operation: (operationId: string) => `#/operations/${encodeURIComponent(operationId)}`,
  site: (siteId: string) => `#/sites/${encodeURIComponent(siteId)}`,
  fleet: () => '#/fleet',
  audit: (filters: Record<string, string> = {}) => {
    const query = new URLSearchParams(Object.entries(filters).filter(([, value]) => value !== '')).toString();
    return query === '' ? '#/audit' : `#/audit?${query}`;
  },
};

export function navigate(href: string): void {
  window.location.hash = href.replace(/^#/, '');
}

/** The current route, re-rendering on every change of the fragment. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}
