import type pg from 'pg';
import type { EndpointRow } from '../../shared/rows.js';
import { ENDPOINT_CHANGES_KEPT, type EndpointChange, PRUNE_EVERY } from '../endpoint-log.js';
import { change, type Queryable, run, transaction } from './db.js';
import type { PgFanoutSql } from './fanout-sql.js';

const ENDPOINT_COLUMNS = `id, url, events, tenant, secret, previous_secret, previous_secret_until, headers,
  description, metadata, enabled, disabled_reason, created_at, updated_at, concurrency, rate_limit_per_second,
  ordering`;

function endpointValues(row: EndpointRow): unknown[] {
  return [
    row.id,
    row.url,
    row.events,
    row.tenant,
    row.secret,
    row.previous_secret,
    row.previous_secret_until,
    row.headers,
    row.description,
    row.metadata,
    row.enabled,
    row.disabled_reason,
    row.created_at,
    row.updated_at,
    row.concurrency,
    row.rate_limit_per_second,
    row.ordering,
  ];
}

function statements(s: string) {
  return {
    version: `SELECT value FROM ${s}.meta WHERE key = 'endpoints_version'`,
    // Random, not a counter: see src/store/endpoint-sql.ts. 53 bits: an exact JavaScript number.
    bump: `UPDATE ${s}.meta SET value = floor(random() * 9007199254740991)::bigint WHERE key = 'endpoints_version'`,
    get: `SELECT ${ENDPOINT_COLUMNS}, match_from FROM ${s}.endpoints WHERE id = $1`,
    getMany: `SELECT ${ENDPOINT_COLUMNS}, match_from FROM ${s}.endpoints WHERE id = ANY($1::text[])`,
    // The change log (migration 5). A change holds the fan-out's change lock until it commits, so
    // the log's rows are numbered in the order their changes commit.
    logChange: `INSERT INTO ${s}.endpoint_changes (endpoint_id, version)
      SELECT $1, value FROM ${s}.meta WHERE key = 'endpoints_version' RETURNING seq`,
    pruneChanges: `DELETE FROM ${s}.endpoint_changes WHERE seq <= $1`,
    changesFrom: `SELECT seq, endpoint_id, version FROM ${s}.endpoint_changes WHERE seq >= $1 ORDER BY seq LIMIT $2`,
    lastChange: `SELECT seq, endpoint_id, version FROM ${s}.endpoint_changes ORDER BY seq DESC LIMIT 1`,
    list: `SELECT ${ENDPOINT_COLUMNS}, match_from FROM ${s}.endpoints ORDER BY created_at, id`,
    listEnabled: `SELECT ${ENDPOINT_COLUMNS}, match_from FROM ${s}.endpoints WHERE enabled = 1
      ORDER BY created_at, id`,
    insert: `INSERT INTO ${s}.endpoints (${ENDPOINT_COLUMNS}, match_from)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
    update: `UPDATE ${s}.endpoints SET url = $2, events = $3, tenant = $4, secret = $5, previous_secret = $6,
      previous_secret_until = $7, headers = $8, description = $9, metadata = $10, enabled = $11,
      disabled_reason = $12, created_at = $13, updated_at = $14, concurrency = $15, rate_limit_per_second = $16,
      ordering = $17, match_from = $18
      WHERE id = $1`,
    delete: `DELETE FROM ${s}.endpoints WHERE id = $1`,
    deleteBucket: `DELETE FROM ${s}.rate_buckets WHERE endpoint_id = $1`,
    failPending: `UPDATE ${s}.deliveries SET status = 'failed', next_attempt_at = NULL, last_error = $1, updated_at = $2
      WHERE endpoint_id = $3 AND status = 'pending'`,
  };
}

/**
 * Every statement over the endpoints table. Each change bumps
 * `endpoints_version`, which every sender sharing the schema watches.
 */
export class PgEndpointSql {
  private readonly sql: ReturnType<typeof statements>;

  constructor(
    private readonly pool: pg.Pool,
    s: string,
    /** Every change first settles the endpoint's queued fan-out (see PgFanoutSql). */
    private readonly fanout: PgFanoutSql,
  ) {
    this.sql = statements(s);
  }

  /** Records a change to the endpoint: a new version, and a row in the change log. */
  private async changed(client: Queryable, id: string): Promise<void> {
    await run(client, this.sql.bump);
    const [{ seq }] = (await run<{ seq: number }>(client, this.sql.logChange, [id])) as [{ seq: number }];
    if (seq % PRUNE_EVERY === 0) await run(client, this.sql.pruneChanges, [seq - ENDPOINT_CHANGES_KEPT]);
  }

  /** The change log from the row `seq` on (that row included, when it is still there), `limit` rows at most. */
  changesFrom(seq: number, limit: number): Promise<EndpointChange[]> {
    return run<EndpointChange>(this.pool, this.sql.changesFrom, [seq, limit]);
  }

  /** The latest row of the change log, if any. */
  async lastChange(): Promise<EndpointChange | undefined> {
    return (await run<EndpointChange>(this.pool, this.sql.lastChange))[0];
  }

  /** The rows of these endpoints, by id (a removed one is absent). */
  async getMany(ids: readonly string[]): Promise<Map<string, EndpointRow>> {
    const rows = await run<EndpointRow>(this.pool, this.sql.getMany, [ids]);
    return new Map(rows.map((row) => [row.id, row]));
  }

  async version(): Promise<number> {
    const rows = await run<{ value: number }>(this.pool, this.sql.version);
    return rows[0]!.value;
  }

  async get(id: string, db: Queryable = this.pool): Promise<EndpointRow | undefined> {
    return (await run<EndpointRow>(db, this.sql.get, [id]))[0];
  }

  list(): Promise<EndpointRow[]> {
    return run<EndpointRow>(this.pool, this.sql.list);
  }

  listEnabled(): Promise<EndpointRow[]> {
    return run<EndpointRow>(this.pool, this.sql.listEnabled);
  }

  insert(row: EndpointRow): Promise<void> {
    return transaction(this.pool, async (client) => {
      const { matchFrom } = await this.fanout.lockForChange(client, async () => undefined, row.created_at);
      await run(client, this.sql.insert, [...endpointValues(row), matchFrom]);
      await this.changed(client, row.id);
    });
  }

  /**
   * Writes the whole row (and bumps the version) inside the caller's
   * transaction; with `failPendingWith`, its pending deliveries end as failed.
   */
  async updateIn(client: Queryable, row: EndpointRow, failPendingWith?: string): Promise<void> {
    const { matchFrom } = await this.fanout.lockForChange(
      client,
      () => this.get(row.id, client),
      row.updated_at,
    );
    await run(client, this.sql.update, [...endpointValues(row), matchFrom]);
    if (failPendingWith !== undefined) {
      await run(client, this.sql.failPending, [failPendingWith, row.updated_at, row.id]);
    }
    await this.changed(client, row.id);
  }

  /** Ends the endpoint's pending deliveries as failed with `reason`, inside the caller's transaction. */
  async failPendingIn(client: Queryable, endpointId: string, reason: string, now: number): Promise<void> {
    await run(client, this.sql.failPending, [reason, now, endpointId]);
  }

  /** Deletes the endpoint and fails its pending deliveries; false when there was none. */
  remove(id: string, now: number): Promise<boolean> {
    return transaction(this.pool, async (client) => {
      // The events it had at emit get their deliveries, and they end as failed below.
      await this.fanout.lockForChange(client, () => this.get(id, client), now);
      const removed = (await change(client, this.sql.delete, [id])) > 0;
      if (removed) {
        await run(client, this.sql.failPending, ['endpoint removed', now, id]);
        // Its shared rate-limit bucket goes with it.
        await run(client, this.sql.deleteBucket, [id]);
        await this.changed(client, id);
      }
      return removed;
    });
  }
}
