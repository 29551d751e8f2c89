import fs from 'node:fs';
import type { Database as DatabaseHandle } from 'better-sqlite3';
import Database from 'better-sqlite3';
import { WebhookError } from '../../shared/errors/base.js';
import { StoreError } from '../../shared/errors/store.js';
import type { EndpointRow } from '../../shared/rows.js';
import { GATE_WAIT_MS, type WriteGate } from '../../shared/write-gate.js';
import { BulkSql } from './bulk-sql.js';
import { Checkpointer } from './checkpointer.js';
import { ClaimSql } from './claim-sql.js';
import { EndpointSql } from './endpoint-sql.js';
import { FanoutSql } from './fanout-sql.js';
import { HealthSql } from './health-sql.js';
import { LogSql } from './log-sql.js';
import { checkSchema, migrate } from './migrate.js';
import { OutboxSql } from './outbox-sql.js';
import { RetentionSql } from './retention-sql.js';

/** How long a connection waits for another process's write lock before failing, in ms. */
const BUSY_TIMEOUT_MS = 5_000;

/**
 * WAL bytes past which the dispatcher checkpoints even when it is never idle
 * (SQLite's own auto-checkpoint is 1000 pages, about as much). The WAL file is
 * also truncated back to this size when it restarts.
 */
const WAL_CHECKPOINT_BYTES = 4 * 1024 * 1024;
/**
 * WAL bytes past which the checkpoint runs in-thread, to catch up with a worker that cannot. The worker
 * has by then copied most frames, so what is left is short: the frames written since, and the sync.
 * For the engine's worker thread, with the write gate shut (emits wait for it: about 2 ms at the median
 * on this project's machine, mostly two fsyncs; at 2,000 emits/s, 70 MB of WAL a second, several times
 * a second). It keeps the file and its WAL small, which retention's size target counts on.
 */
const WAL_HARD_LIMIT_BYTES = 2 * WAL_CHECKPOINT_BYTES;
/**
 * How long an emit waits for the catch-up checkpoint, in ms. It takes about 2 ms, but its fsyncs
 * sometimes take tens of ms: an emit that stops waiting writes (a checkpoint holds no write lock),
 * and the checkpoint, which then cannot reach the WAL's end, tries again at the next look.
 */
export const CHECKPOINT_WAIT_MS = 5;
/** WAL bytes past which emits wait for the catch-up checkpoint as for a write (GATE_WAIT_MS). */
export const WAL_URGENT_BYTES = 4 * WAL_HARD_LIMIT_BYTES;
/** Passes of the checkpoint worker before the gated checkpoint (see `catchUp`). */
const CATCH_UP_PASSES = 2;
/** How often, at most, a busy dispatcher looks at the WAL size, in ms. */
const WAL_CHECK_INTERVAL_MS = 50;

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Switches an owned file to WAL. When another process opens the same new file
 * at the same moment, SQLite answers SQLITE_BUSY at once, without consulting
 * busy_timeout: wait a little and try again, within that timeout. The
 * constructor is synchronous, so the wait is too (it only happens at startup).
 */
function enableWal(db: DatabaseHandle): void {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code !== 'string' || !code.startsWith('SQLITE_BUSY') || Date.now() >= deadline) throw error;
      Atomics.wait(sleeper, 0, 0, wait);
    }
  }
}

/** The SQLite store: one connection, its statements, and whether hookline owns it. */
export class SqliteStore {
  readonly db: DatabaseHandle;
  readonly owned: boolean;
  readonly endpoints: EndpointSql;
  readonly outbox: OutboxSql;
  readonly fanout: FanoutSql;
  readonly claims: ClaimSql;
  readonly health: HealthSql;
  readonly bulk: BulkSql;
  readonly retention: RetentionSql;
  readonly log: LogSql;
  readonly isFile: boolean;
  /** Checkpoints off the application's thread (owned file databases). */
  readonly checkpointer: Checkpointer | null = null;
  private walCheckedAt = 0;
  /** The WAL's size at the last look, in bytes. */
  private walSize = 0;
  /**
   * Past the hard limit, with a gate: how many more passes of the checkpoint worker before
   * `finishCheckpoint`. Each pass leaves less to copy and to sync: measured, the gated checkpoint
   * took 2.2 ms at the median after two passes, 3.5 ms after one, 1.9 ms after three.
   */
  private catchUp = 0;

  /**
   * @param checkpoint Start the checkpoint worker (owned files): off on a connection that never
   *   writes results, whose WAL the engine's own connection checkpoints.
   * @param gate Shut around this connection's write transactions (the engine's worker: see WriteGate).
   */
  constructor(
    database: string | DatabaseHandle,
    prefix: string,
    checkpoint = true,
    private readonly gate: WriteGate | null = null,
    migrating = true,
  ) {
    if (typeof database === 'string') {
      try {
        this.db = new Database(database, { fileMustExist: !migrating });
      } catch (error) {
        throw new StoreError(`Cannot open the database \`${database}\`: ${(error as Error).message}`, error);
      }
      this.owned = true;
    } else {
      this.db = database;
      this.owned = false;
    }
    this.isFile = !this.db.memory;
    try {
      if (this.owned) {
        this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
        if (this.isFile) {
          // Only possible before the first table exists: lets retention give pages back to the file system.
          const fresh = this.db.prepare('SELECT count(*) AS n FROM sqlite_master').get() as { n: number };
          if (fresh.n === 0) this.db.pragma('auto_vacuum = INCREMENTAL');
          enableWal(this.db);
          // A commit that crosses the auto-checkpoint threshold runs the checkpoint
          // itself and stalls emit for tens of ms: the dispatcher checkpoints instead.
          this.db.pragma('wal_autocheckpoint = 0');
          this.db.pragma(`journal_size_limit = ${WAL_CHECKPOINT_BYTES}`);
        }
        this.db.pragma('synchronous = NORMAL');
      }
      if (migrating) migrate(this.db, prefix);
      else checkSchema(this.db, prefix);
    } catch (error) {
      if (this.owned) this.db.close();
      // The driver's errors (not a database, read-only, locked) become the library's own.
      if (error instanceof WebhookError) throw error;
      throw new StoreError(`Cannot prepare the database: ${(error as Error).message}`, error);
    }
    this.fanout = new FanoutSql(this.db, prefix);
    this.endpoints = new EndpointSql(this.db, prefix, this.fanout);
    this.outbox = new OutboxSql(this.db, prefix, this.fanout);
    this.claims = new ClaimSql(this.db, prefix);
    this.health = new HealthSql(this.db, prefix);
    this.bulk = new BulkSql(this.db, prefix);
    this.retention = new RetentionSql(this.db, prefix);
    this.log = new LogSql(this.db, prefix);
    if (this.owned && this.isFile && checkpoint) {
      this.checkpointer = new Checkpointer(this.db.name, () => {
        if (this.catchUp === 0) return;
        if (--this.catchUp > 0 && this.checkpointer?.request()) return;
        this.catchUp = 0;
        this.finishCheckpoint();
      });
    }
  }

  /** Runs `fn` in a write transaction (BEGIN IMMEDIATE), the write gate shut while it runs. */
  write<T>(fn: () => T): T {
    return this.gated(() => this.db.transaction(fn).immediate());
  }

  /**
   * Runs `run`, which writes outside `write` (a statement that commits itself, a batch of its own),
   * with the write gate shut when this connection has one: every write of the worker's connection
   * goes through the gate, or an emit that found it open would meet SQLite's lock and sleep.
   * `waitMs`: the longest an emit waits for it (see WriteGate.hold).
   */
  gated<T>(run: () => T, waitMs?: number): T {
    return this.gate === null ? run() : this.gate.hold(run, waitMs);
  }

  /**
   * Copies the WAL back into the database without waiting for readers (owned
   * file connections only), in the checkpoint worker when it runs.
   */
  checkpoint(): void {
    if (!this.owned || !this.isFile || !this.db.open) return;
    if (this.checkpointer?.request()) return;
    this.db.pragma('wal_checkpoint(PASSIVE)');
  }

  /**
   * Checkpoints once the WAL has grown past WAL_CHECKPOINT_BYTES: a dispatcher
   * that is never idle (a steady flow of events) would otherwise let it grow
   * without bound. Looks at most every WAL_CHECK_INTERVAL_MS (wall-clock time).
   */
  checkpointIfLarge(): void {
    if (!this.owned || !this.isFile || !this.db.open) return;
    const now = Date.now();
    if (now - this.walCheckedAt < WAL_CHECK_INTERVAL_MS) return;
    this.walCheckedAt = now;
    const size = fs.statSync(`${this.db.name}-wal`, { throwIfNoEntry: false })?.size ?? 0;
    this.walSize = size;
    if (size > WAL_HARD_LIMIT_BYTES) {
      // The checkpoint worker's passes run while others keep writing, so under a steady load they
      // may never reach the end of the WAL, and the WAL only restarts (and is truncated) after one that
      // does. Past the limit, one in-thread checkpoint with every writer held catches up; with the
      // gate, right after two passes of the worker's, when what is left to copy is least.
      if (this.gate === null || !this.checkpointer?.request()) this.finishCheckpoint();
      else if (this.catchUp === 0) this.catchUp = CATCH_UP_PASSES;
    } else if (size > WAL_CHECKPOINT_BYTES) {
      this.checkpoint();
    }
  }

  /**
   * Checkpoints in-thread, with the write gate shut when there is one. A checkpoint that other
   * writes overlap cannot reach the WAL's end, and SQLite starts the WAL over (and truncates it to
   * `journal_size_limit`) only after one that did. The engine's worker and the application's emits
   * are two writers: without the gate the WAL grew by tens of MB a second under a steady stream and
   * never started over. With it shut the emits wait (about 2 ms), nothing else of this sender
   * writes, and the next write starts the WAL over. Without a gate this thread is the only writer.
   * An emit waits at most CHECKPOINT_WAIT_MS for it, past WAL_URGENT_BYTES as for a write.
   */
  private finishCheckpoint(): void {
    if (!this.db.open || this.db.inTransaction) return;
    const waitMs = this.walSize > WAL_URGENT_BYTES ? GATE_WAIT_MS : CHECKPOINT_WAIT_MS;
    this.gated(() => this.db.pragma('wal_checkpoint(PASSIVE)'), waitMs);
  }

  /**
   * Resolves once the connection is outside any transaction (or closed). On a connection
   * shared with the application, background writes wait for its transaction to end.
   */
  async outsideTransaction(): Promise<void> {
    while (this.db.open && this.db.inTransaction) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  /**
   * Writes an endpoint's new row in one transaction: with `failPendingWith`
   * its pending deliveries end as failed, with `resetHealth` its circuit
   * closes and its failure streak is forgotten (as `PgStore.updateEndpoint`).
   */
  updateEndpoint(row: EndpointRow, failPendingWith?: string, resetHealth = false): void {
    this.db.transaction(() => {
      this.endpoints.update(row, failPendingWith);
      if (resetHealth) this.health.reset(row.id);
    })();
  }

  /** Gives up to `pages` free pages back to the file system (files created by hookline only). */
  vacuumStep(pages: number): void {
    if (this.owned && this.isFile && this.db.open) this.db.pragma(`incremental_vacuum(${Math.floor(pages)})`);
  }

  async close(): Promise<void> {
    await this.checkpointer?.close();
    if (this.owned && this.db.open) {
      // The last one in-thread: the worker is gone, and nothing waits on this thread any more.
      if (this.isFile) this.db.pragma('wal_checkpoint(PASSIVE)');
      this.db.close();
    }
  }
}
