import type { Database as DatabaseHandle } from 'better-sqlite3';
import Database from 'better-sqlite3';
import { StoreError } from '../errors/store.js';
import { EndpointSql } from './endpoint-sql.js';
import { LogSql } from './log-sql.js';
import { migrate } from './migrate.js';
import { OutboxSql } from './outbox-sql.js';

/** How long a connection waits for another process's write lock before failing, in ms. */
const BUSY_TIMEOUT_MS = 5_000;

/** The SQLite store: one connection, its statements, and whether hookline owns it. */
export class SqliteStore {
  readonly db: DatabaseHandle;
  readonly owned: boolean;
  readonly endpoints: EndpointSql;
  readonly outbox: OutboxSql;
  readonly log: LogSql;
  readonly isFile: boolean;

  constructor(database: string | DatabaseHandle, prefix: string) {
    if (typeof database === 'string') {
      try {
        this.db = new Database(database);
      } catch (error) {
        throw new StoreError(`Cannot open the database \`${database}\`: ${(error as Error).message}`, error);
      }
      this.owned = true;
      this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      if (!this.db.memory) {
        this.db.pragma('journal_mode = WAL');
        // A commit that crosses the auto-checkpoint threshold runs the checkpoint
        // itself and stalls emit for tens of ms: the dispatcher checkpoints instead.
        this.db.pragma('wal_autocheckpoint = 0');
      }
      this.db.pragma('synchronous = NORMAL');
    } else {
      this.db = database;
      this.owned = false;
    }
    this.isFile = !this.db.memory;
    try {
      migrate(this.db, prefix);
    } catch (error) {
      if (this.owned) this.db.close();
      throw error;
    }
    this.endpoints = new EndpointSql(this.db, prefix);
    this.outbox = new OutboxSql(this.db, prefix);
    this.log = new LogSql(this.db, prefix);
  }

  /** Copies the WAL back into the database without waiting for readers (owned file connections only). */
  checkpoint(): void {
    if (this.owned && this.isFile && this.db.open) this.db.pragma('wal_checkpoint(PASSIVE)');
  }

  close(): void {
    if (this.owned && this.db.open) {
      this.checkpoint();
      this.db.close();
    }
  }
}
