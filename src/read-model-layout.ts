import { AuditProjection } from './audit/audit.projection.js';
import { FleetProjection } from './fleet/fleet.projection.js';
import { OperationsProjection } from './operations/operations.projection.js';
import type { ReadModelLayout } from './read-models/projection.js';
import { RetentionProjection } from './retention/retention.projection.js';
import { InstallationsProjection } from './sites/installations.projection.js';
import { TransparencyLogProjection } from './transparency-log/transparency-log.projection.js';

/**
 * Every read model, by the file it lives in: the one list to extend. Each
 * belongs to its feature; the engine (ReadModelsModule) is handed the list
 * by the composition root (app.module.ts), so it never imports a feature.
 * Apart from app.module.ts, so that a rebuild thread loads the projections
 * without the whole service.
 *
 * A rebuild builds each file in its own thread, so the two costliest read
 * models (a CPU profile of a rebuild: about a quarter of the work each)
 * have a file of their own and the rest share one.
 */
export const READ_MODELS: ReadModelLayout = {
  fleet: [FleetProjection],
  'transparency-log': [TransparencyLogProjection],
  audit: [AuditProjection, InstallationsProjection, OperationsProjection, RetentionProjection],
};
