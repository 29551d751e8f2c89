import type { Database, Statement } from 'better-sqlite3';
import type { EndpointRow } from '../../shared/rows.js';
import { ENDPOINT_CHANGES_KEPT, type EndpointChange, PRUNE_EVERY } from '../endpoint-log.js';
import type { FanoutSql } from './fanout-sql.js';

/** Every statement over the endpoints table. Each change bumps `endpoints_version`, which other processes watch. */
export class EndpointSql {
  private readonly insertStmt: Statement;
  private readonly getStmt: Statement<[string], EndpointRow>;
  private readonly listStmt: Statement<[], EndpointRow>;
  private readonly listEnabledStmt: Statement<[], EndpointRow>;
  private readonly updateStmt: Statement;
  private readonly deleteStmt: Statement;
  private readonly deleteBucketStmt: Statement<[string]>;
  private readonly failPendingStmt: Statement;
  private readonly versionStmt: Statement<[], { value: number }>;
  private readonly bumpStmt: Statement;
  private readonly logChangeStmt: Statement<[string]>;
  private readonly pruneChangesStmt: Statement<[number]>;
  private readonly changesStmt: Statement<[number, number], EndpointChange>;
  private readonly lastChangeStmt: Statement<[], EndpointChange>;
  private readonly getManyStmt: Statement<[string], EndpointRow>;

  constructor(
    private readonly db: Database,
    p: string,
    /** Every change first settles the endpoint's queued fan-out (see FanoutSql). */
    private readonly fanout: FanoutSql,
  ) {
    this.insertStmt = db.prepare(
      `INSERT INTO ${p}endpoints (id, url, events, tenant, secret, previous_secret, previous_secret_until, headers,
         description, metadata, enabled, disabled_reason, created_at, updated_at, concurrency,
         rate_limit_per_second, ordering, match_from)
       VALUES (@id, @url, @events, @tenant, @secret, @previous_secret, @previous_secret_until, @headers,
         @description, @metadata, @enabled, @disabled_reason, @created_at, @updated_at, @concurrency,
         @rate_limit_per_second, @ordering, @match_from)`,
    );
    this.getStmt = db.prepare(`SELECT * FROM ${p}endpoints WHERE id = ?`);
    this.listStmt = db.prepare(`SELECT * FROM ${p}endpoints ORDER BY created_at, id`);
    this.listEnabledStmt = db.prepare(
      `SELECT * FROM ${p}endpoints WHERE enabled = 1 ORDER BY created_at, id`,
    );
    this.updateStmt = db.prepare(
      `UPDATE ${p}endpoints SET url = @url, events = @events, tenant = @tenant, secret = @secret,
         previous_secret = @previous_secret, previous_secret_until = @previous_secret_until, headers = @headers,
         description = @description, metadata = @metadata, enabled = @enabled, disabled_reason = @disabled_reason,
         concurrency = @concurrency, rate_limit_per_second = @rate_limit_per_second, ordering = @ordering,
         match_from = @match_from, updated_at = @updated_at
       WHERE id = @id`,
    );
    this.deleteStmt = db.prepare(`DELETE FROM ${p}endpoints WHERE id = ?`);
    this.deleteBucketStmt = db.prepare(`DELETE FROM ${p}rate_buckets WHERE endpoint_id = ?`);
    this.failPendingStmt = db.prepare(
      `UPDATE ${p}deliveries SET status = 'failed', next_attempt_at = NULL, last_error = ?, updated_at = ?
       WHERE endpoint_id = ? AND status = 'pending'`,
    );
    this.versionStmt = db.prepare(`SELECT value FROM ${p}meta WHERE key = 'endpoints_version'`);
    // A random version, not a counter: a change rolled back with the application's
    // transaction would otherwise leave its number for the next change to reuse,
    // and a cache loaded inside that transaction would then look current.
    // Shifted to 53 bits so it stays an exact JavaScript number.
    this.bumpStmt = db.prepare(`UPDATE ${p}meta SET value = random() >> 11 WHERE key = 'endpoints_version'`);
    this.logChangeStmt = db.prepare(
      `INSERT INTO ${p}endpoint_changes (endpoint_id, version)
       SELECT ?, value FROM ${p}meta WHERE key = 'endpoints_version'`,
    );
    this.pruneChangesStmt = db.prepare(`DELETE FROM ${p}endpoint_changes WHERE seq <= ?`);
    this.changesStmt = db.prepare(
      `SELECT seq, endpoint_id, version FROM ${p}endpoint_changes WHERE seq >= ? ORDER BY seq LIMIT CAST(? AS INTEGER)`,
    );
    this.getManyStmt = db.prepare(`SELECT * FROM ${p}endpoints WHERE id IN (SELECT value FROM json_each(?))`);
    this.lastChangeStmt = db.prepare(
      `SELECT seq, endpoint_id, version FROM ${p}endpoint_changes ORDER BY seq DESC LIMIT 1`,
    );
  }

  /** Records a change to the endpoint: a new version, and a row in the change log (see schema.ts, migration 6). */
  private changed(id: string): void {
    this.bumpStmt.run();
    const seq = Number(this.logChangeStmt.run(id).lastInsertRowid);
    if (seq % PRUNE_EVERY === 0) this.pruneChangesStmt.run(seq - ENDPOINT_CHANGES_KEPT);
  }

  /** The change log from the row `seq` on (that row included, when it is still there), `limit` rows at most. */
  changesFrom(seq: number, limit: number): EndpointChange[] {
    return this.changesStmt.all(seq, limit);
  }

  /** The rows of these endpoints, by id (a removed one is absent). */
  getMany(ids: readonly string[]): Map<string, EndpointRow> {
    return new Map(this.getManyStmt.all(JSON.stringify(ids)).map((row) => [row.id, row]));
  }

  /** The latest row of the change log, if any. */
  lastChange(): EndpointChange | undefined {
    return this.lastChangeStmt.get();
  }

  /** Adds the endpoint: it receives events emitted from now on. */
  insert(row: EndpointRow): void {
    this.db.transaction(() => {
      this.insertStmt.run({ ...row, match_from: this.fanout.settle(undefined, row.created_at) });
      this.changed(row.id);
    })();
  }

  get(id: string): EndpointRow | undefined {
    return this.getStmt.get(id);
  }

  list(): EndpointRow[] {
    return this.listStmt.all();
  }

  listEnabled(): EndpointRow[] {
    return this.listEnabledStmt.all();
  }

  /** Writes the whole row. When `failPendingWith` is set, the endpoint's pending deliveries end as failed with it. */
  update(row: EndpointRow, failPendingWith?: string): void {
    this.db.transaction(() => {
      const matchFrom = this.fanout.settle(this.getStmt.get(row.id), row.updated_at);
      this.updateStmt.run({ ...row, match_from: matchFrom });
      if (failPendingWith !== undefined) this.failPendingStmt.run(failPendingWith, row.updated_at, row.id);
      this.changed(row.id);
    })();
  }

  /** Ends the endpoint's pending deliveries as failed with `reason` (call inside a transaction). */
  failPending(id: string, reason: string, now: number): number {
    return this.failPendingStmt.run(reason, now, id).changes;
  }

  /** Deletes the endpoint; its history stays, its pending deliveries end as failed. */
  remove(id: string, now: number): boolean {
    return this.db.transaction(() => {
      // The events it had at emit get their deliveries, and they end as failed below.
      this.fanout.settle(this.getStmt.get(id), now);
      const removed = this.deleteStmt.run(id).changes > 0;
      if (removed) {
        this.failPendingStmt.run('endpoint removed', now, id);
        // Its shared rate-limit bucket goes with it.
        this.deleteBucketStmt.run(id);
        this.changed(id);
      }
      return removed;
    })();
  }

  version(): number {
    return this.versionStmt.get()!.value;
  }
}
