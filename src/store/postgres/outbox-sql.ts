import type pg from 'pg';
import type { AttemptResult } from '../../engine/claims.js';
import type { DeliveryRow } from '../../shared/rows.js';
import type { NewEvent } from '../queries.js';
import { change, columns, type Queryable, quoteIdent, run } from './db.js';
import { DELIVERY_COLUMNS } from './log-sql.js';

function statements(s: string) {
  return {
    // The shared lock first, before the event takes a seq (see PgFanoutSql), held to the commit.
    insertEvent: `WITH lock AS (SELECT pg_advisory_xact_lock_shared(hashtext($11), 1)::text AS held),
      ev AS (
        INSERT INTO ${s}.events (id, type, tenant, idempotency_key, ordering_key, payload, created_at, targets,
          trace_context)
        SELECT $1, $2, $3, $4, $5, $6, $7, $8, $13 FROM lock
        ON CONFLICT ((coalesce(tenant, '')), idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
        RETURNING seq),
      -- $12: the deliveries to write now, unless older events wait for fan-out (theirs come first).
      waiting AS (SELECT EXISTS (SELECT 1 FROM ${s}.fanout) AS yes),
      d AS (
        INSERT INTO ${s}.deliveries (event_seq, endpoint_id, ordering_key, status, next_attempt_at, created_at,
          updated_at)
        SELECT ev.seq, t.id, $5, 'pending', $7, $7, $7 FROM ev CROSS JOIN unnest($12::text[]) AS t(id)
        WHERE NOT (SELECT yes FROM waiting)
        RETURNING 1),
      q AS (
        INSERT INTO ${s}.fanout (event_seq, targets, endpoint_ids) SELECT ev.seq, $8, $9 FROM ev
        WHERE $8 > 0 AND ($12::text[] IS NULL OR (SELECT yes FROM waiting))
        RETURNING 1)
      SELECT (SELECT seq FROM ev) AS seq,
        (SELECT count(*) FROM (SELECT pg_notify($10, '')
           FROM (SELECT 1 FROM q UNION ALL SELECT 1 FROM d LIMIT 1) one) n) AS notified`,
    findIdempotent: `SELECT e.id, e.type, e.created_at,
        coalesce(e.targets, (SELECT count(*) FROM ${s}.deliveries d WHERE d.event_seq = e.seq AND d.replay = 0)) AS n
      FROM ${s}.events e WHERE coalesce(e.tenant, '') = $1 AND e.idempotency_key = $2`,
    notify: `SELECT pg_notify($1, '')`,
    eventSeq: `SELECT seq FROM ${s}.events WHERE id = $1`,
    // A replay is numbered after every earlier delivery of the event to the endpoint (the emit's is 0).
    insertReplays: `WITH d AS (
        INSERT INTO ${s}.deliveries (event_seq, endpoint_id, ordering_key, status, next_attempt_at, created_at,
          updated_at, replay)
        SELECT $1, t.id, $3, 'pending', $4, $4, $4,
          (SELECT coalesce(max(replay), 0) + 1 FROM ${s}.deliveries o WHERE o.event_seq = $1 AND o.endpoint_id = t.id)
        FROM unnest($2::text[]) AS t(id) RETURNING 1)
      SELECT (SELECT count(*) FROM (SELECT pg_notify($5, '') FROM (SELECT 1 FROM d LIMIT 1) one) n) AS notified`,
    // A batch's results in one statement: the attempts logged ($9–$17), and each delivery's new state. The
    // owner check keeps a sender whose lease was taken over from overwriting the new holder's state.
    record: `WITH logged AS (
        INSERT INTO ${s}.attempts (delivery_seq, number, started_at, duration_ms, status_code,
          response_headers, response_body, error_code, error_message)
        SELECT * FROM unnest($9::bigint[], $10::int[], $11::bigint[], $12::int[], $13::int[], $14::text[],
          $15::text[], $16::text[], $17::text[])
      )
      UPDATE ${s}.deliveries d SET status = r.status, attempt_count = r.number,
        next_attempt_at = r.next_attempt_at, lease_until = NULL, lease_owner = NULL,
        last_status_code = r.status_code, last_error = r.last_error, updated_at = r.updated_at
      FROM unnest($1::bigint[], $2::text[], $3::int[], $4::bigint[], $5::int[], $6::text[], $7::bigint[])
        AS r(seq, status, number, next_attempt_at, status_code, last_error, updated_at)
      WHERE d.seq = r.seq AND d.status = 'sending' AND d.lease_owner = $8`,
    // Returns the row as this statement left it: a sender woken by the NOTIFY may claim it at once.
    retry: `WITH r AS (
        UPDATE ${s}.deliveries SET status = 'pending', next_attempt_at = $1, updated_at = $1,
          series_start = CASE WHEN status = 'failed' THEN attempt_count ELSE series_start END
        WHERE seq = $2 AND status IN ('pending', 'failed') RETURNING *)
      SELECT ${DELIVERY_COLUMNS}, pg_notify($3, '') AS notified FROM r d JOIN ${s}.events e ON e.seq = d.event_seq`,
    expireLeases: `UPDATE ${s}.deliveries SET status = 'pending', lease_until = NULL, lease_owner = NULL,
        updated_at = $1
      WHERE status = 'sending' AND lease_until <= $1`,
    leaseOwners: `SELECT DISTINCT lease_owner AS owner FROM ${s}.deliveries
      WHERE status = 'sending' AND lease_owner IS NOT NULL`,
    release: `UPDATE ${s}.deliveries SET status = 'pending', lease_until = NULL, lease_owner = NULL, updated_at = $1
      WHERE status = 'sending' AND lease_owner = $2`,
  };
}

/**
 * The values `record` binds, in order ($1 to $17): the deliveries' new states, the lease owner,
 * then the attempts that made a request. `record_delivered` (turn-functions.ts) takes the same first.
 */
export function recordParams(results: readonly AttemptResult[], owner: string): unknown[] {
  const logged = results.filter((r) => r.logged);
  return [
    ...columns(results, ['seq', 'status', 'number', 'nextAttemptAt', 'statusCode', 'lastError', 'updatedAt']),
    owner,
    ...columns(logged, [
      'seq',
      'number',
      'startedAt',
      'durationMs',
      'statusCode',
      'responseHeaders',
      'responseBody',
      'errorCode',
      'errorMessage',
    ]),
  ];
}

/**
 * The hot path: inserting events (with a NOTIFY on `channel`), recording
 * attempts, manual retries, and leases.
 */
export class PgOutboxSql {
  private readonly sql: ReturnType<typeof statements>;

  constructor(
    private readonly pool: pg.Pool,
    s: string,
    /** The NOTIFY channel that tells every sender sharing the schema that rows are due. */
    readonly channel: string,
    /** The fan-out lock's key (see PgFanoutSql). */
    private readonly lockKey: string,
  ) {
    this.sql = statements(s);
  }

  /**
   * Inserts an event with its deliveries to `endpointIds` or, when that is
   * `null` or older events wait, queued for fan-out, with a NOTIFY, all in one statement: atomic even on a client outside a
   * transaction, and part of the application's transaction inside one (the
   * notification is delivered on commit). Returns `null` when an event with
   * the same idempotency key exists.
   */
  async insertEvent(
    db: Queryable,
    event: NewEvent,
    endpointIds: readonly string[] | null,
  ): Promise<number | null> {
    const rows = await run<{ seq: number | null }>(db, this.sql.insertEvent, [
      event.id,
      event.type,
      event.tenant,
      event.idempotencyKey,
      event.orderingKey,
      event.payload,
      event.createdAt,
      event.targets,
      event.endpointIds,
      this.channel,
      this.lockKey,
      endpointIds,
      event.traceContext,
    ]);
    return rows[0]?.seq ?? null;
  }

  async findIdempotent(
    db: Queryable,
    tenant: string | null,
    key: string,
  ): Promise<{ id: string; type: string; createdAt: number; deliveries: number } | undefined> {
    const row = (
      await run<{ id: string; type: string; created_at: number; n: number }>(db, this.sql.findIdempotent, [
        tenant ?? '',
        key,
      ])
    )[0];
    return row === undefined
      ? undefined
      : { id: row.id, type: row.type, createdAt: row.created_at, deliveries: row.n };
  }

  /** Tells every sender listening on the schema that rows may be due. */
  async notify(db: Queryable = this.pool): Promise<void> {
    await run(db, this.sql.notify, [this.channel]);
  }

  /** Subscribes `client` (a connection of its own) to the channel. */
  async listen(client: Queryable): Promise<void> {
    // LISTEN takes no bound parameter: the channel is the validated schema name plus `_due`, quoted.
    await client.query(`LISTEN ${quoteIdent(this.channel)}`);
  }

  async eventSeq(id: string): Promise<number | undefined> {
    return (await run<{ seq: number }>(this.pool, this.sql.eventSeq, [id]))[0]?.seq;
  }

  insertReplays(eventSeq: number, endpointIds: readonly string[], orderingKey: string | null, now: number) {
    return run(this.pool, this.sql.insertReplays, [eventSeq, endpointIds, orderingKey, now, this.channel]);
  }

  /** Writes a batch of attempt results inside the caller's transaction. */
  async recordIn(client: Queryable, results: readonly AttemptResult[], owner: string): Promise<void> {
    await run(client, this.sql.record, recordParams(results, owner));
  }

  /**
   * Schedules a pending or failed delivery for `now` (a failed one starts a
   * fresh series) and returns it; `undefined` when it is neither.
   */
  async retry(seq: number, now: number): Promise<DeliveryRow | undefined> {
    return (await run<DeliveryRow>(this.pool, this.sql.retry, [now, seq, this.channel]))[0];
  }

  expireLeases(now: number): Promise<number> {
    return change(this.pool, this.sql.expireLeases, [now]);
  }

  async leaseOwners(): Promise<string[]> {
    return (await run<{ owner: string }>(this.pool, this.sql.leaseOwners)).map((row) => row.owner);
  }

  release(owner: string, now: number): Promise<number> {
    return change(this.pool, this.sql.release, [now, owner]);
  }
}
