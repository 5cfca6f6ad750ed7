/**
 * Nest token for the operations' `OperationSitePolicies`: the blast-radius
 * limits and the site rules a wave or a rollback re-checks, both from the
 * configuration.
 */
export const OPERATION_POLICIES = Symbol('OPERATION_POLICIES');
