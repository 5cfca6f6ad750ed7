import { Inject, Injectable, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { join } from 'node:path';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/ledger-config.js';
import { DATA_FOLDER_LOCK } from '../data-folder/data-folder.module.js';
import type { NoteSigner } from '../transparency/signed-note.js';
import { TransparencyLogModule } from '../transparency-log/transparency-log.module.js';
import { CHECKPOINT_SIGNER } from '../transparency-log/transparency-log.tokens.js';
import { snapshotKeyOf } from './snapshot.js';
import { SnapshotFile } from './snapshot-file.js';

/** Nest token for this instance's SnapshotFile. */
export const SNAPSHOT_FILE = Symbol('SNAPSHOT_FILE');
/** Nest token for the key (a Buffer) snapshots are sealed with (SnapshotSeal). */
export const SNAPSHOT_KEY = Symbol('SNAPSHOT_KEY');

/** The path of the snapshot file (`:memory:` with the memory store). */
export const snapshotFileOf = (config: LedgerConfig): string =>
  config.store === 'memory' ? ':memory:' : join(config.dataDir, 'snapshots.db');

@Injectable()
class SnapshotFileClose implements OnApplicationShutdown {
  constructor(@Inject(SNAPSHOT_FILE) private readonly file: SnapshotFile) {}

  onApplicationShutdown(): void {
    this.file.close();
  }
}

/**
 * The snapshot file of this instance and the key its snapshots are sealed
 * with. The key is derived from the checkpoint signing key: the secret the
 * deployment already keeps (on `postgres` the same file on every instance,
 * and it may live outside the data folder). Whoever could forge a snapshot
 * that holds could sign a checkpoint too.
 */
@Module({
  imports: [TransparencyLogModule],
  providers: [
    {
      provide: SNAPSHOT_FILE,
      // Opened once the data folder is held, as every file in it.
      inject: [LEDGER_CONFIG, DATA_FOLDER_LOCK],
      useFactory: (config: LedgerConfig) => {
        const logger = new Logger('Snapshots');
        return new SnapshotFile(snapshotFileOf(config), (message) => logger.warn(message));
      },
    },
    {
      provide: SNAPSHOT_KEY,
      inject: [CHECKPOINT_SIGNER],
      useFactory: (signer: NoteSigner) => snapshotKeyOf(signer.privateKey.export({ format: 'der', type: 'pkcs8' })),
    },
    SnapshotFileClose,
  ],
  exports: [SNAPSHOT_FILE, SNAPSHOT_KEY],
})
export class SnapshotsModule {}
