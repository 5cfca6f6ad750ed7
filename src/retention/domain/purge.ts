import { DomainError } from '../../common/domain-error.js';
import { decideSite, type SitePolicy } from '../../sites/domain/site.decider.js';
import type { SiteEvent } from '../../sites/domain/site.events.js';
import type { SiteState } from '../../sites/domain/site.state.js';
import type { PurgePolicyState } from './purge-policy.js';

/** Who purges: the retention job, never a person. */
export const RETENTION_ACTOR = 'system:retention';

/**
 * What retention records for a site the index says is due: nothing while
 * purging is frozen (the switch is read in the same attempt, so a freeze
 * recorded meanwhile wins), else SitePurged if the site's own rules allow
 * it now. A site restored, put on legal hold or not yet due since the
 * index was written is not an error here: its stream has the last word.
 */
export function decidePurge(
  siteId: string,
  site: SiteState,
  policy: PurgePolicyState,
  now: string,
  sitePolicy: SitePolicy,
): SiteEvent[] {
  if (policy.paused) return [];
  try {
    // The site rules for PurgeSite read neither who asks nor whether they are an admin.
    return decideSite(
      { type: 'PurgeSite', data: { siteId }, metadata: { now, actor: { id: RETENTION_ACTOR, admin: false } } },
      site,
      sitePolicy,
    );
  } catch (error) {
    if (error instanceof DomainError) return [];
    throw error;
  }
}
