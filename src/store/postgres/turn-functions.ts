/**
 * Migration 6: two functions that each do in one round trip what a dispatcher's turn otherwise
 * does in several. Each round trip wakes a PostgreSQL backend and the sender's thread again; a
 * turn took 12 or 13 of them. A function runs its statements in order, in the calling
 * statement's transaction, with a fresh snapshot for each (they are VOLATILE), so each keeps the
 * lock order and the visibility of the statements it replaces:
 *
 * - `claim_due` is one endpoint's claim (claim-sql.ts's `claimEndpoint`) for an endpoint with no
 *   rate limit and no ordering: the advisory lock, the leases every sender holds, the fair split
 *   of retries and first attempts, and when the next row is due when it took fewer than asked.
 *   It returns the rows and, on a last row with a NULL seq, `allowed`, `sending` and `next_due`.
 *   It refuses to run (SQLSTATE HL001) outside READ COMMITTED, whose fresh snapshot after the lock
 *   it relies on; the caller then goes back to the statements.
 * - `record_delivered` records a batch in which every endpoint's last attempt succeeded (the usual
 *   case): the attempts and deliveries as `PgOutboxSql.recordIn`, then each endpoint's health,
 *   which such a batch sets whatever it was (healthy, with its last success and, when the batch
 *   failed before it, its last failure), in endpoint order as `lockIn` locks them, then the
 *   activity and the minutes, as `PgHealthSql.recordIn` writes them. It returns each endpoint's
 *   last failure as stored, and on a last row with a NULL endpoint `endpoints_version`: the turn
 *   that records goes on to plan without a read of its own (see `PgDispatchStore.endpoints`).
 *
 * - `record_then_claim` is a turn in one call: `record_delivered`, then, when the endpoints are still at
 *   the version the claim was planned with (read after the record), `claim_due` for one request, in
 *   the same transaction. Its rows are the record's (`o_health`), one with `o_version`, then the
 *   claim's, if it claimed. The claim waits for the advisory lock with the record's health rows
 *   locked; a claim never waits for a row lock, so no sender waits on another in a circle.
 *
 * Never edit this text once shipped: a change is a new migration (`CREATE OR REPLACE`).
 */
/** `record_delivered`'s parameters, which `record_then_claim` takes first, in the same order. */
const RECORD_PARAMS = `d_seq BIGINT[], d_status TEXT[], d_number INTEGER[], d_next BIGINT[], d_code INTEGER[], d_error TEXT[],
    d_updated BIGINT[], p_owner TEXT,
    a_seq BIGINT[], a_number INTEGER[], a_started BIGINT[], a_duration INTEGER[], a_code INTEGER[],
    a_headers TEXT[], a_body TEXT[], a_error_code TEXT[], a_error_message TEXT[],
    h_endpoint TEXT[], h_success BIGINT[], h_failure BIGINT[], h_ok INTEGER[], h_failed INTEGER[],
    p_minute BIGINT, p_shard SMALLINT, p_succeeded INTEGER, p_retrying INTEGER, p_failed INTEGER,
    p_count BOOLEAN`;
/** The same names, as the arguments of `record_then_claim`'s call of `record_delivered`. */
const RECORD_ARGS = RECORD_PARAMS.split(',')
  .map((param) => param.trim().split(/\s+/)[0])
  .join(', ');

export const PG_TURN_FUNCTIONS = `
  CREATE FUNCTION {s}.claim_due(
    p_lock TEXT, p_endpoint TEXT, p_asked INTEGER, p_cap INTEGER, p_odd_to_retry BOOLEAN,
    p_until BIGINT, p_owner TEXT, p_now BIGINT)
  RETURNS TABLE (o_seq BIGINT, o_endpoint TEXT, o_attempts INTEGER, o_series INTEGER, o_event_id TEXT,
    o_type TEXT, o_tenant TEXT, o_payload TEXT, o_created BIGINT, o_trace TEXT,
    o_allowed INTEGER, o_sending INTEGER, o_next BIGINT)
  LANGUAGE plpgsql VOLATILE AS $fn$
  DECLARE
    v_sending INTEGER;
    v_allowed INTEGER;
    v_share INTEGER;
    v_seqs BIGINT[] := '{}';
    v_retried INTEGER;
    v_more INTEGER;
    v_next BIGINT;
  BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
      RAISE EXCEPTION 'hookline: claim_due needs READ COMMITTED' USING ERRCODE = 'HL001';
    END IF;
    -- A lease needs no flush to disk before the answer: one lost with the server's crash leaves its
    -- rows pending, to be sent again, as a lease that runs out does. The record's commit flushes it.
    PERFORM set_config('synchronous_commit', 'off', true);
    PERFORM pg_advisory_xact_lock(hashtext(p_lock), hashtext(p_endpoint));
    SELECT count(*) INTO v_sending FROM {s}.deliveries WHERE endpoint_id = p_endpoint AND status = 'sending';
    v_allowed := greatest(0, least(p_asked, p_cap - v_sending));
    -- First attempts get half the slots, retries the rest; an odd slot goes to each in turn.
    v_share := v_allowed / 2 + CASE WHEN v_allowed % 2 = 1 AND p_odd_to_retry THEN 1 ELSE 0 END;
    IF v_allowed > 0 THEN
      WITH r AS (
        SELECT d.seq FROM {s}.deliveries d
        WHERE d.endpoint_id = p_endpoint AND d.status = 'pending' AND least(d.attempt_count, 1) = 1
          AND d.next_attempt_at <= p_now
        ORDER BY d.next_attempt_at LIMIT v_share
        FOR UPDATE SKIP LOCKED),
      f AS (
        SELECT d.seq FROM {s}.deliveries d
        WHERE d.endpoint_id = p_endpoint AND d.status = 'pending' AND least(d.attempt_count, 1) = 0
          AND d.next_attempt_at <= p_now
        ORDER BY d.next_attempt_at LIMIT (v_allowed - (SELECT count(*) FROM r))
        FOR UPDATE SKIP LOCKED),
      c AS (
        UPDATE {s}.deliveries d SET status = 'sending', lease_until = p_until, lease_owner = p_owner,
          updated_at = p_now
        WHERE d.seq IN (SELECT r.seq FROM r UNION ALL SELECT f.seq FROM f)
        RETURNING d.seq, d.attempt_count)
      SELECT coalesce(array_agg(c.seq), '{}'), count(*) FILTER (WHERE c.attempt_count > 0)
        INTO v_seqs, v_retried FROM c;
      -- Retries filled their share and first attempts left slots: more retries may be due.
      v_more := CASE WHEN v_retried = v_share THEN v_allowed - cardinality(v_seqs) ELSE 0 END;
      IF v_more > 0 THEN
        WITH c AS (
          UPDATE {s}.deliveries d SET status = 'sending', lease_until = p_until, lease_owner = p_owner,
            updated_at = p_now
          WHERE d.seq IN (
            SELECT m.seq FROM {s}.deliveries m
            WHERE m.endpoint_id = p_endpoint AND m.status = 'pending' AND least(m.attempt_count, 1) = 1
              AND m.next_attempt_at <= p_now
            ORDER BY m.next_attempt_at LIMIT v_more
            FOR UPDATE SKIP LOCKED)
          RETURNING d.seq)
        SELECT v_seqs || coalesce(array_agg(c.seq), '{}') INTO v_seqs FROM c;
      END IF;
    END IF;
    IF cardinality(v_seqs) < p_asked THEN
      SELECT least(
        (SELECT min(d.next_attempt_at) FROM {s}.deliveries d
          WHERE d.endpoint_id = p_endpoint AND d.status = 'pending' AND least(d.attempt_count, 1) = 0),
        (SELECT min(d.next_attempt_at) FROM {s}.deliveries d
          WHERE d.endpoint_id = p_endpoint AND d.status = 'pending' AND least(d.attempt_count, 1) = 1))
        INTO v_next;
    END IF;
    RETURN QUERY
      SELECT d.seq, d.endpoint_id, d.attempt_count, d.series_start, e.id, e.type, e.tenant, e.payload,
        e.created_at, e.trace_context, v_allowed, v_sending, v_next
      FROM {s}.deliveries d JOIN {s}.events e ON e.seq = d.event_seq
      WHERE d.seq = ANY(v_seqs)
      UNION ALL
      SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, v_allowed, v_sending, v_next;
  END
  $fn$;

  CREATE FUNCTION {s}.record_delivered(
    ${RECORD_PARAMS})
  RETURNS TABLE (o_health TEXT, o_last_failure BIGINT, o_version BIGINT)
  LANGUAGE plpgsql VOLATILE AS $fn$
  BEGIN
    INSERT INTO {s}.attempts (delivery_seq, number, started_at, duration_ms, status_code,
      response_headers, response_body, error_code, error_message)
    SELECT * FROM unnest(a_seq, a_number, a_started, a_duration, a_code, a_headers, a_body, a_error_code,
      a_error_message);
    UPDATE {s}.deliveries d SET status = r.status, attempt_count = r.number,
      next_attempt_at = r.next_attempt_at, lease_until = NULL, lease_owner = NULL,
      last_status_code = r.status_code, last_error = r.last_error, updated_at = r.updated_at
    FROM unnest(d_seq, d_status, d_number, d_next, d_code, d_error, d_updated)
      AS r(seq, status, number, next_attempt_at, status_code, last_error, updated_at)
    WHERE d.seq = r.seq AND d.status = 'sending' AND d.lease_owner = p_owner;
    RETURN QUERY
      WITH put AS (
        INSERT INTO {s}.endpoint_health AS h (endpoint_id, consecutive_failures, failing_since,
          last_success_at, last_failure_at, circuit_open_until, circuit_opens)
        SELECT t.id, 0, NULL, t.success, t.failure, NULL, 0
        FROM unnest(h_endpoint, h_success, h_failure) AS t(id, success, failure) ORDER BY t.id
        ON CONFLICT (endpoint_id) DO UPDATE SET consecutive_failures = 0, failing_since = NULL,
          last_success_at = excluded.last_success_at,
          last_failure_at = coalesce(excluded.last_failure_at, h.last_failure_at),
          circuit_open_until = NULL, circuit_opens = 0
        RETURNING h.endpoint_id, h.last_failure_at)
      SELECT put.endpoint_id, put.last_failure_at, NULL::BIGINT FROM put;
    IF p_count THEN
      INSERT INTO {s}.activity AS a (minute, shard, succeeded, retrying, failed)
      VALUES (p_minute, p_shard, p_succeeded, p_retrying, p_failed)
      ON CONFLICT (minute, shard) DO UPDATE SET succeeded = a.succeeded + excluded.succeeded,
        retrying = a.retrying + excluded.retrying, failed = a.failed + excluded.failed;
    END IF;
    INSERT INTO {s}.endpoint_minutes AS m (endpoint_id, minute, succeeded, failed)
    SELECT t.id, p_minute, t.ok, t.failed FROM unnest(h_endpoint, h_ok, h_failed) AS t(id, ok, failed)
    ON CONFLICT (endpoint_id, minute) DO UPDATE SET succeeded = m.succeeded + excluded.succeeded,
      failed = m.failed + excluded.failed;
    RETURN QUERY SELECT NULL::TEXT, NULL::BIGINT, value FROM {s}.meta WHERE key = 'endpoints_version';
  END
  $fn$;

  CREATE FUNCTION {s}.record_then_claim(
    ${RECORD_PARAMS},
    p_version BIGINT,
    k_lock TEXT, k_endpoint TEXT, k_asked INTEGER, k_cap INTEGER, k_odd_to_retry BOOLEAN,
    k_until BIGINT, k_owner TEXT, k_now BIGINT)
  RETURNS TABLE (o_health TEXT, o_last_failure BIGINT, o_version BIGINT,
    o_seq BIGINT, o_endpoint TEXT, o_attempts INTEGER, o_series INTEGER, o_event_id TEXT,
    o_type TEXT, o_tenant TEXT, o_payload TEXT, o_created BIGINT, o_trace TEXT,
    o_allowed INTEGER, o_sending INTEGER, o_next BIGINT)
  LANGUAGE plpgsql VOLATILE AS $fn$
  DECLARE
    v_version BIGINT;
    v_sync TEXT := current_setting('synchronous_commit');
  BEGIN
    RETURN QUERY
      SELECT r.o_health, r.o_last_failure, NULL::BIGINT, NULL::BIGINT, NULL::TEXT, NULL::INTEGER,
        NULL::INTEGER, NULL::TEXT, NULL::TEXT, NULL::TEXT, NULL::TEXT, NULL::BIGINT, NULL::TEXT,
        NULL::INTEGER, NULL::INTEGER, NULL::BIGINT
      FROM {s}.record_delivered(${RECORD_ARGS}) r
      WHERE r.o_health IS NOT NULL;
    -- Read after the record: a change of the endpoints committed before it is seen here.
    SELECT value INTO v_version FROM {s}.meta WHERE key = 'endpoints_version';
    RETURN QUERY
      SELECT NULL::TEXT, NULL::BIGINT, v_version, NULL::BIGINT, NULL::TEXT, NULL::INTEGER, NULL::INTEGER,
        NULL::TEXT, NULL::TEXT, NULL::TEXT, NULL::TEXT, NULL::BIGINT, NULL::TEXT, NULL::INTEGER,
        NULL::INTEGER, NULL::BIGINT;
    IF v_version = p_version AND current_setting('transaction_isolation') = 'read committed' THEN
      RETURN QUERY
        SELECT NULL::TEXT, NULL::BIGINT, NULL::BIGINT, c.*
        FROM {s}.claim_due(k_lock, k_endpoint, k_asked, k_cap, k_odd_to_retry, k_until, k_owner, k_now) c;
      -- claim_due spares its lease the wait for the disk; the record in this transaction needs it.
      PERFORM set_config('synchronous_commit', v_sync, true);
    END IF;
  END
  $fn$;
`;
