/** Nest token for the sites' `SitePolicy` (retention defaults and minimum, from the configuration). */
export const SITE_POLICY = Symbol('SITE_POLICY');
