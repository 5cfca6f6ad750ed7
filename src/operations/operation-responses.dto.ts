import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ProductDto } from '../sites/site-commands.dto.js';

/* Response shapes of the operations API, for the OpenAPI document. */

export class OperationTargetResponse {
  @ApiProperty() siteId: string;
  @ApiProperty() customerId: string;
  @ApiProperty() name: string;
  @ApiProperty() internal: boolean;
  @ApiProperty({ type: [ProductDto] }) products: ProductDto[];
  @ApiProperty({ enum: ['active', 'suspended'] }) status: string;
}

export class OperationSummaryResponse {
  @ApiProperty() sites: number;
  @ApiProperty() customers: number;
  @ApiProperty() internalSites: number;
}

export class SkippedSiteResponse {
  @ApiProperty() siteId: string;
  @ApiProperty({ example: 'site.deletion-protected', description: 'Stable code of the rule that kept the site' })
  reason: string;
}

export class WaveResponse {
  @ApiProperty({ minimum: 1 }) index: number;
  @ApiProperty({ enum: ['internal', 'canary', 'customer'] }) kind: string;
  @ApiProperty({ type: [String] }) siteIds: string[];
  @ApiProperty({ enum: ['pending', 'running', 'completed', 'cancelled'] }) status: string;
  @ApiProperty({ type: [String] }) deleted: string[];
  @ApiProperty({ type: [SkippedSiteResponse] }) skipped: SkippedSiteResponse[];
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'When the execute (wave 1) or continue that started this wave was recorded; null until then',
  })
  startedAt: string | null;
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description:
      "When the wave ended (its OperationWaveCompleted's occurredAt); null while it runs or before it starts",
  })
  endedAt: string | null;
  @ApiProperty({
    type: String,
    nullable: true,
    example: 'operator',
    description: 'The principal whose execute (wave 1) or continue started this wave; null until then',
  })
  continuedBy: string | null;
}

export class ApprovalResponse {
  @ApiProperty() approvedBy: string;
  @ApiProperty({ format: 'date-time' }) approvedAt: string;
}

export class ProgressResponse {
  @ApiProperty() deleted: number;
  @ApiProperty() skipped: number;
  @ApiProperty() restored: number;
  @ApiProperty() total: number;
}

export class PlanProblemResponse {
  @ApiPropertyOptional() id?: string;
  @ApiProperty({
    enum: [
      'unknown-id',
      'not-a-site',
      'duplicate-id',
      'already-deleted',
      'purged',
      'deletion-protected',
      'legal-hold',
      'unsupported-action',
      'too-many-targets',
      'no-targets',
    ],
  })
  problem: string;
  @ApiProperty() detail: string;
  @ApiPropertyOptional({ description: 'For not-a-site: the site the installation belongs to' }) siteId?: string;
}

export class RollbackRecordResponse {
  @ApiProperty() rolledBackBy: string;
  @ApiProperty() reason: string;
  @ApiProperty({ type: [String] }) restored: string[];
  @ApiProperty({ type: [SkippedSiteResponse] }) skipped: SkippedSiteResponse[];
  @ApiProperty({ format: 'date-time' }) at: string;
}

export class OperationResponse {
  @ApiProperty({ example: 'op_0f8e2c1a-9b7d-4c1e-8f00-3d2a1b0c9e8f' }) operationId: string;
  @ApiProperty({ example: 'soft-delete' }) action: string;
  @ApiProperty({
    enum: ['planned', 'approved', 'running', 'paused', 'completed', 'rejected', 'aborted', 'rolled-back'],
  })
  status: string;
  @ApiProperty() reason: string;
  @ApiProperty({ type: String, nullable: true }) ticket: string | null;
  @ApiProperty() requestedBy: string;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({
    type: String,
    nullable: true,
    example: `sha256:${'0'.repeat(64)}`,
    description: 'null for a rejected plan',
  })
  digest: string | null;
  @ApiProperty({ type: [OperationTargetResponse] }) targets: OperationTargetResponse[];
  @ApiProperty({ type: OperationSummaryResponse }) summary: OperationSummaryResponse;
  @ApiProperty() requiredApprovals: number;
  @ApiProperty({ type: [ApprovalResponse] }) approvals: ApprovalResponse[];
  @ApiProperty({ type: [WaveResponse] }) waves: WaveResponse[];
  @ApiProperty({ type: ProgressResponse }) progress: ProgressResponse;
  @ApiPropertyOptional({ type: [PlanProblemResponse], description: 'Only on a rejected plan' })
  problems?: PlanProblemResponse[];
  @ApiProperty({ type: [RollbackRecordResponse] }) rollbacks: RollbackRecordResponse[];
  @ApiProperty() version: number;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
  @ApiProperty({
    type: String,
    example: '1042',
    description:
      "Global position of the last event in the operation's stream (as SSE ids and Ledger-Position). " +
      'Subscribe to GET /v1/events/stream?from=<lastPosition>&operationId=<id> to receive what the operation does next.',
  })
  lastPosition: string;
}

export class OperationPageResponse {
  @ApiProperty({ type: [OperationResponse] }) operations: OperationResponse[];
  @ApiPropertyOptional({ description: 'Absent on the last page' }) nextCursor?: string;
}

export class RollbackResponse {
  @ApiProperty() operationId: string;
  @ApiProperty() dryRun: boolean;
  @ApiProperty({ type: [String] }) restored: string[];
  @ApiProperty({ type: [SkippedSiteResponse] }) skipped: SkippedSiteResponse[];
  @ApiProperty({ type: OperationResponse }) operation: OperationResponse;
}
