import { DomainError } from '../../common/domain-error.js';

/* The site rules' errors. Codes are stable: clients and runbooks branch on them. */

export class SiteNotFoundError extends DomainError {
  constructor(siteId: string) {
    super('not-found', 'site.not-found', `site ${siteId} does not exist`);
  }
}

export class SiteAlreadyExistsError extends DomainError {
  constructor(siteId: string) {
    super('conflict', 'site.already-exists', `site ${siteId} already exists`);
  }
}

export class SitePurgedError extends DomainError {
  constructor(siteId: string) {
    super('conflict', 'site.purged', `site ${siteId} was purged; nothing can change it any more`);
  }
}

export class SiteDeletedError extends DomainError {
  constructor(siteId: string, action: string) {
    super('conflict', 'site.deleted', `site ${siteId} is deleted; restore it before you ${action}`);
  }
}

export class SiteAlreadyDeletedError extends DomainError {
  constructor(siteId: string) {
    super('conflict', 'site.already-deleted', `site ${siteId} is already deleted`);
  }
}

export class SiteNotDeletedError extends DomainError {
  constructor(siteId: string, status: string) {
    super('conflict', 'site.not-deleted', `site ${siteId} is ${status}, not deleted: there is nothing to restore`);
  }
}

export class SiteAlreadySuspendedError extends DomainError {
  constructor(siteId: string) {
    super('conflict', 'site.already-suspended', `site ${siteId} is already suspended`);
  }
}

export class SiteNotSuspendedError extends DomainError {
  constructor(siteId: string) {
    super('conflict', 'site.not-suspended', `site ${siteId} is not suspended`);
  }
}

export class ProductAlreadyInstalledError extends DomainError {
  constructor(siteId: string, installationId: string) {
    super('conflict', 'site.product-exists', `site ${siteId} already has product installation ${installationId}`);
  }
}

export class ProductNotInstalledError extends DomainError {
  constructor(siteId: string, installationId: string) {
    super('not-found', 'site.product-not-found', `site ${siteId} has no product installation ${installationId}`);
  }
}

export class DuplicateInstallationError extends DomainError {
  constructor(installationId: string) {
    super('invalid', 'site.duplicate-installation', `installation ${installationId} is listed twice`, [
      {
        field: 'products',
        problem: 'duplicate-id',
        detail: `installationId ${installationId} appears more than once`,
      },
    ]);
  }
}

export class InvalidRetentionError extends DomainError {
  constructor(retention: string, minRetention: string) {
    super(
      'invalid',
      'site.invalid-retention',
      `retention ${JSON.stringify(retention)} must be an ISO 8601 duration of at least ${minRetention}`,
      [
        {
          field: 'retention',
          problem: 'retention-too-short',
          detail: `must be an ISO 8601 duration of at least ${minRetention}`,
        },
      ],
    );
  }
}

export class AdminRequiredError extends DomainError {
  constructor(action: string) {
    super('forbidden', 'site.admin-required', `${action} needs the admin role`);
  }
}

export class LegalHoldAlreadyPlacedError extends DomainError {
  constructor(siteId: string, reference: string) {
    super(
      'conflict',
      'site.legal-hold-exists',
      `site ${siteId} is already under legal hold ${reference}; release it first`,
    );
  }
}

export class NoLegalHoldError extends DomainError {
  constructor(siteId: string) {
    super('conflict', 'site.no-legal-hold', `site ${siteId} is not under legal hold`);
  }
}

export class DeletionProtectedError extends DomainError {
  constructor(siteId: string) {
    super(
      'conflict',
      'site.deletion-protected',
      `site ${siteId} has deletion protection; an admin must disable it first`,
    );
  }
}

export class LegalHoldError extends DomainError {
  constructor(siteId: string, action: string) {
    super('conflict', 'site.legal-hold', `site ${siteId} is under legal hold and cannot be ${action}`);
  }
}

export class RetentionNotExpiredError extends DomainError {
  constructor(siteId: string, purgeAfter: string) {
    super('conflict', 'site.retention-not-expired', `site ${siteId} may not be purged before ${purgeAfter}`);
  }
}

export class InstallationTakenError extends DomainError {
  constructor(installationId: string, ownerSiteId: string) {
    super(
      'conflict',
      'site.installation-taken',
      `installation ${installationId} already belongs to site ${ownerSiteId}`,
    );
  }
}

/** A site ID that is also an installation ID (or the reverse) would make deletion plans ambiguous. */
export class IdCollisionError extends DomainError {
  constructor(id: string, existing: string) {
    super(
      'conflict',
      'site.id-collision',
      `${id} is already ${existing}; site IDs and installation IDs must differ so a plan can always tell them apart`,
    );
  }
}
