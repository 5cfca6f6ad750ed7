import { Module } from '@nestjs/common';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/ledger-config.js';
import { DATA_FOLDER_LOCK } from '../data-folder/data-folder.module.js';
import { ensureCheckpointKeyFile, loadCheckpointSigner } from './checkpoint-key.js';
import { TransparencyLog } from './transparency-log.js';
import { TransparencyLogController } from './transparency-log.controller.js';
import { CHECKPOINT_SIGNER } from './transparency-log.tokens.js';

/**
 * The transparency log: GET /v1/ledger/checkpoint, /checkpoint-key and the
 * proofs. Its read model (TransparencyLogProjection) is in app.module's
 * READ_MODELS; the signer is exported for /v1/ledger/verify.
 */
@Module({
  controllers: [TransparencyLogController],
  providers: [
    {
      provide: CHECKPOINT_SIGNER,
      // The data folder is held before a first start writes the key into it.
      inject: [LEDGER_CONFIG, DATA_FOLDER_LOCK],
      useFactory: (config: LedgerConfig) =>
        loadCheckpointSigner(
          ensureCheckpointKeyFile(config, (line) => console.log(line)),
          config.origin,
        ),
    },
    TransparencyLog,
  ],
  exports: [CHECKPOINT_SIGNER],
})
export class TransparencyLogModule {}
