import { DomainError } from '../../common/domain-error.js';

/* The operation rules' errors. Codes are stable: runbooks branch on them. */

export class OperationNotFoundError extends DomainError {
  constructor(operationId: string) {
    super('not-found', 'operation.not-found', `operation ${operationId} does not exist`);
  }
}

export class OperationExistsError extends DomainError {
  constructor(operationId: string) {
    super('conflict', 'operation.exists', `operation ${operationId} already exists`);
  }
}

/** The operation is in a status where the command makes no sense. */
export class OperationStatusError extends DomainError {
  constructor(operationId: string, status: string, code: string, action: string) {
    super('conflict', code, `operation ${operationId} is ${status}: cannot ${action}`);
  }
}

export class SelfApprovalError extends DomainError {
  constructor(operationId: string, principal: string) {
    super(
      'forbidden',
      'operation.self-approval',
      `${principal} requested operation ${operationId} and cannot approve it: a second person must`,
    );
  }
}

export class DuplicateApprovalError extends DomainError {
  constructor(operationId: string, principal: string) {
    super('conflict', 'operation.duplicate-approval', `${principal} has already approved operation ${operationId}`);
  }
}

export class DigestMismatchError extends DomainError {
  constructor(operationId: string, given: string) {
    super(
      'conflict',
      'operation.digest-mismatch',
      `digest ${given} is not the digest of operation ${operationId}'s plan: review the plan you are acting on`,
    );
  }
}

export class ApprovalsMissingError extends DomainError {
  constructor(operationId: string, have: number, need: number) {
    super(
      'conflict',
      'operation.approvals-missing',
      `operation ${operationId} has ${have} of the ${need} approvals it needs before it can run`,
    );
  }
}

export class WaveMismatchError extends DomainError {
  constructor(operationId: string, index: number, expected: number) {
    super('conflict', 'operation.wave-mismatch', `operation ${operationId} runs wave ${expected}, not wave ${index}`);
  }
}

/**
 * A command on an operation whose plan was rejected: nothing can approve,
 * execute or roll back a rejection, whichever command was sent.
 */
export class OperationWasRejectedError extends DomainError {
  constructor(operationId: string, problems: number) {
    super(
      'conflict',
      'operation.plan-rejected',
      `operation ${operationId} was rejected when planned (${problems} problem(s)) and can never run; fix the list and plan again`,
    );
  }
}

/** A plan that failed resolution: 422, with every problem and the id of the recorded rejection. */
export class PlanRejectedError extends DomainError {
  constructor(operationId: string, problems: readonly { id?: string; problem: string; detail: string }[]) {
    super(
      'rejected',
      'operation.rejected',
      `plan ${operationId} rejected as a whole: ${problems.length} problem(s); nothing will be deleted`,
      problems.map(({ id, problem, detail }) => (id === undefined ? { problem, detail } : { id, problem, detail })),
      { operationId },
    );
  }
}
