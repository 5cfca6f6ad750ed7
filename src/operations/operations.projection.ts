import type Database from 'better-sqlite3';
import type { StoredEvent } from '../event-store/event-envelope.js';
import type { Projection } from '../read-models/projection.js';

/** Status each operation event leaves an operation in (SPEC §4). */
const STATUS_AFTER: Record<string, string> = {
  OperationRejected: 'rejected',
  OperationPlanned: 'planned',
  OperationApproved: 'approved', // only once enough approvals are in: see apply
  OperationExecutionStarted: 'running',
  OperationWaveCompleted: 'paused',
  OperationContinued: 'running',
  OperationCompleted: 'completed',
  OperationAborted: 'aborted',
  OperationRolledBack: 'rolled-back',
};

export interface OperationIndexEntry {
  operationId: string;
  status: string;
  createdAt: string;
  position: string;
}

/**
 * Every operation with its status, in the order they were created: lists
 * operations, and finds the ones that were `running` when the service
 * stopped, so they resume.
 */
export class OperationsProjection implements Projection {
  readonly name = 'operations';
  private readonly insert: Database.Statement;
  private readonly setStatus: Database.Statement;
  private readonly approve: Database.Statement;
  private readonly page: Database.Statement;
  private readonly pageByStatus: Database.Statement;
  private readonly byStatus: Database.Statement;

  constructor(private readonly db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS operations (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      operation_id TEXT NOT NULL UNIQUE,
      status TEXT NOT NULL,
      required_approvals INTEGER NOT NULL,
      approvals INTEGER NOT NULL DEFAULT 0,
      created_at TEXT NOT NULL,
      position TEXT NOT NULL
    ) STRICT;
    CREATE INDEX IF NOT EXISTS operations_by_status ON operations (status, seq)`);
    this.insert = db.prepare(
      `INSERT INTO operations (operation_id, status, required_approvals, created_at, position) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (operation_id) DO NOTHING`,
    );
    this.setStatus = db.prepare('UPDATE operations SET status = ? WHERE operation_id = ?');
    this.approve = db.prepare(
      `UPDATE operations SET approvals = approvals + 1,
         status = CASE WHEN approvals + 1 >= required_approvals THEN 'approved' ELSE status END
       WHERE operation_id = ?`,
    );
    const columns = 'seq, operation_id AS operationId, status, created_at AS createdAt, position';
    this.page = db.prepare(`SELECT ${columns} FROM operations WHERE seq > ? ORDER BY seq LIMIT ?`);
    this.pageByStatus = db.prepare(
      `SELECT ${columns} FROM operations WHERE status = ? AND seq > ? ORDER BY seq LIMIT ?`,
    );
    this.byStatus = db.prepare('SELECT operation_id AS operationId FROM operations WHERE status = ? ORDER BY seq');
  }

  apply(event: StoredEvent): void {
    if (!(event.type in STATUS_AFTER)) return;
    const data = event.data as { operationId: string; requiredApprovals?: number };
    switch (event.type) {
      case 'OperationRejected':
      case 'OperationPlanned':
        this.insert.run(
          data.operationId,
          STATUS_AFTER[event.type]!,
          data.requiredApprovals ?? 0,
          event.metadata.occurredAt,
          event.position,
        );
        return;
      case 'OperationApproved':
        this.approve.run(data.operationId);
        return;
      default:
        this.setStatus.run(STATUS_AFTER[event.type]!, data.operationId);
    }
  }

  reset(): void {
    this.db.exec("DELETE FROM operations; DELETE FROM sqlite_sequence WHERE name = 'operations'");
  }

  /** Operations oldest first, after the cursor (`seq` of the last one seen). */
  list(options: { status?: string; after: number; limit: number }): (OperationIndexEntry & { seq: number })[] {
    return (
      options.status === undefined
        ? this.page.all(options.after, options.limit)
        : this.pageByStatus.all(options.status, options.after, options.limit)
    ) as (OperationIndexEntry & { seq: number })[];
  }

  /** Ids of the operations in a status, oldest first. */
  idsWithStatus(status: string): string[] {
    return (this.byStatus.all(status) as { operationId: string }[]).map((row) => row.operationId);
  }
}
