/** Nest token for the NoteSigner that signs checkpoints (its name is LEDGER_ORIGIN). */
export const CHECKPOINT_SIGNER = Symbol('CHECKPOINT_SIGNER');
