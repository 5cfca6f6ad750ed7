import { describe, expect, it } from 'vitest';
import { links, parseRoute } from './router';

describe('the console routes', () => {
  it('reads every page from the fragment, and links write what it reads', () => {
    expect(parseRoute('')).toEqual({ page: 'operations' });
    expect(parseRoute('#/')).toEqual({ page: 'operations' });
    expect(parseRoute(links.operations())).toEqual({ page: 'operations' });
    expect(parseRoute(links.operation('op_1'))).toEqual({ page: 'operation', operationId: 'op_1' });
    expect(parseRoute(links.site('site:1/2'))).toEqual({ page: 'site', siteId: 'site:1/2' });
    expect(parseRoute(links.fleet())).toEqual({ page: 'fleet' });
    const audit = parseRoute(links.audit({ actor: 'operator', type: 'SiteSoftDeleted,SiteRestored', siteId: '' }));
    expect(audit.page).toBe('audit');
    expect(audit.page === 'audit' && Object.fromEntries(audit.query)).toEqual({
      actor: 'operator',
      type: 'SiteSoftDeleted,SiteRestored',
    });
  });

  it('says which fragments name no page', () => {
    expect(parseRoute('#/nope')).toEqual({ page: 'not-found', path: '/nope' });
    expect(parseRoute('#/operations/op_1/extra')).toMatchObject({ page: 'not-found' });
  });
});
