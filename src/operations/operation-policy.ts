import type { LedgerConfig } from '../config/ledger-config.js';
import type { OperationPolicy } from './domain/operation.plan.js';

export const OPERATION_POLICY = Symbol('OPERATION_POLICY');

export const operationPolicyFrom = (config: LedgerConfig): OperationPolicy => ({
  maxOperationSites: config.maxOperationSites,
  largeOperationSites: config.largeOperationSites,
  canarySites: config.canarySites,
});
