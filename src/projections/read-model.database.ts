import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The read-model file (`<data dir>/read-model.db`): derived data only, so
 * `synchronous=NORMAL` suffices: after a power cut it may lose its last
 * transactions, and the runner replays them from the checkpoint it kept in
 * the same transactions. Deleting the file is always safe (it is rebuilt).
 */
export function openReadModelDatabase(file: string): Database.Database {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.exec(`CREATE TABLE IF NOT EXISTS checkpoints (
    name TEXT PRIMARY KEY,
    position TEXT NOT NULL
  )`);
  return db;
}

export const READ_MODEL_DB = Symbol('READ_MODEL_DB');
