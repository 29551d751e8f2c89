import { PG_TURN_FUNCTIONS } from './turn-functions.js';
/**
 * The PostgreSQL schema as numbered, append-only migrations, the same
 * mechanism as the SQLite store (`src/store/schema.ts`, applied by `migrate.ts`), in a schema of its
 * own. Never edit a migration that has shipped: add the next number. `{s}` is
 * the quoted schema name (a validated identifier, never user data).
 * Times are BIGINT ms since the epoch, as on SQLite.
 */
export const PG_MIGRATIONS: readonly string[] = [
  // 1: everything the SQLite schema has after its migration 2
  `
  CREATE TABLE {s}.meta (
    key    TEXT PRIMARY KEY,
    value  BIGINT NOT NULL
  );
  INSERT INTO {s}.meta (key, value) VALUES ('endpoints_version', 0);

  CREATE TABLE {s}.endpoints (
    id                      TEXT PRIMARY KEY,
    url                     TEXT NOT NULL,
    events                  TEXT NOT NULL,
    tenant                  TEXT,
    secret                  TEXT NOT NULL,
    previous_secret         TEXT,
    previous_secret_until   BIGINT,
    headers                 TEXT NOT NULL,
    description             TEXT,
    metadata                TEXT NOT NULL,
    enabled                 INTEGER NOT NULL,
    disabled_reason         TEXT,
    created_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL,
    concurrency             INTEGER,
    rate_limit_per_second   DOUBLE PRECISION,
    ordering                TEXT NOT NULL DEFAULT 'none'
  );

  CREATE TABLE {s}.events (
    seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id               TEXT NOT NULL UNIQUE,
    type             TEXT NOT NULL,
    tenant           TEXT,
    idempotency_key  TEXT,
    ordering_key     TEXT,
    payload          TEXT NOT NULL,
    created_at       BIGINT NOT NULL
  );
  CREATE UNIQUE INDEX events_idempotency ON {s}.events ((coalesce(tenant, '')), idempotency_key)
    WHERE idempotency_key IS NOT NULL;
  CREATE INDEX events_created ON {s}.events (created_at);

  CREATE TABLE {s}.deliveries (
    seq               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_seq         BIGINT NOT NULL,
    endpoint_id       TEXT NOT NULL,
    status            TEXT NOT NULL,
    attempt_count     INTEGER NOT NULL DEFAULT 0,
    series_start      INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   BIGINT,
    lease_until       BIGINT,
    lease_owner       TEXT,
    last_status_code  INTEGER,
    last_error        TEXT,
    ordering_key      TEXT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
  );
  -- Claiming: each endpoint's due rows, first attempts and retries apart, earliest first.
  CREATE INDEX deliveries_due ON {s}.deliveries (endpoint_id, (least(attempt_count, 1)), next_attempt_at)
    WHERE status = 'pending';
  CREATE INDEX deliveries_leased ON {s}.deliveries (lease_until) WHERE status = 'sending';
  CREATE INDEX deliveries_failed ON {s}.deliveries (seq) WHERE status = 'failed';
  CREATE INDEX deliveries_endpoint ON {s}.deliveries (endpoint_id, seq);
  CREATE INDEX deliveries_event ON {s}.deliveries (event_seq);

  CREATE TABLE {s}.attempts (
    seq               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_seq      BIGINT NOT NULL,
    number            INTEGER NOT NULL,
    started_at        BIGINT NOT NULL,
    duration_ms       INTEGER NOT NULL,
    status_code       INTEGER,
    response_headers  TEXT,
    response_body     TEXT,
    error_code        TEXT,
    error_message     TEXT
  );
  CREATE INDEX attempts_delivery ON {s}.attempts (delivery_seq, number);

  CREATE TABLE {s}.endpoint_health (
    endpoint_id           TEXT PRIMARY KEY,
    consecutive_failures  INTEGER NOT NULL DEFAULT 0,
    failing_since         BIGINT,
    last_success_at       BIGINT,
    last_failure_at       BIGINT,
    circuit_open_until    BIGINT,
    circuit_opens         INTEGER NOT NULL DEFAULT 0
  );

  CREATE TABLE {s}.endpoint_minutes (
    endpoint_id  TEXT NOT NULL,
    minute       BIGINT NOT NULL,
    succeeded    INTEGER NOT NULL DEFAULT 0,
    failed       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (endpoint_id, minute)
  );
  `,
  // 2: concurrency and rate limits shared by every sender (SQLite's migration 3)
  `
  -- Each endpoint's leased rows, counted by every claim against the endpoint's concurrency.
  -- It replaces deliveries_leased: a claim or a result still writes one index of leased rows,
  -- and finding expired leases scans the leased rows alone, as many as are in flight.
  DROP INDEX {s}.deliveries_leased;
  CREATE INDEX deliveries_sending ON {s}.deliveries (endpoint_id, lease_until) WHERE status = 'sending';

  -- One token bucket per rate-limited endpoint, spent by every sender's claims:
  -- its tokens as of at (ms), refilled at the endpoint's rate.
  CREATE TABLE {s}.rate_buckets (
    endpoint_id  TEXT PRIMARY KEY,
    tokens       DOUBLE PRECISION NOT NULL,
    at           BIGINT NOT NULL
  );
  `,
  // 3: fan-out off the emit path (SQLite's migration 4)
  `
  -- Events whose deliveries the engine has yet to create (see src/store/sqlite/fanout-sql.ts).
  CREATE TABLE {s}.fanout (
    ticket        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_seq     BIGINT NOT NULL UNIQUE,
    targets         INTEGER NOT NULL,
    endpoint_ids    TEXT[],
    after_endpoint  TEXT
  );
  ALTER TABLE {s}.events ADD COLUMN targets INTEGER;
  ALTER TABLE {s}.endpoints ADD COLUMN match_from BIGINT NOT NULL DEFAULT 0;
  ALTER TABLE {s}.deliveries ADD COLUMN replay INTEGER NOT NULL DEFAULT 0;
  UPDATE {s}.deliveries d SET replay = r.n
    FROM (SELECT seq, row_number() OVER (PARTITION BY event_seq, endpoint_id ORDER BY seq) - 1 AS n
          FROM {s}.deliveries) AS r
    WHERE r.seq = d.seq AND r.n > 0;
  DROP INDEX {s}.deliveries_event;
  CREATE UNIQUE INDEX deliveries_event ON {s}.deliveries (event_seq, endpoint_id, replay);
  `,
  // 4: activity per minute, for the dashboard's chart; the emit's trace context (SQLite's migration 5)
  `
  ALTER TABLE {s}.events ADD COLUMN trace_context TEXT;
  -- The dashboard's search by event type, newest first: without it a rare type scans every event
  -- (129 ms at a million). An emit here is a round trip already; SQLite, whose emit is not, goes without.
  CREATE INDEX events_type ON {s}.events (type, seq);

  -- Attempts per minute by outcome, every endpoint together. Each batch of results adds to one of
  -- eight shards of its minute, so that senders recording at once seldom wait on the same row.
  CREATE TABLE {s}.activity (
    minute     BIGINT NOT NULL,
    shard      SMALLINT NOT NULL,
    succeeded  INTEGER NOT NULL DEFAULT 0,
    retrying   INTEGER NOT NULL DEFAULT 0,
    failed     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (minute, shard)
  );
  `,
  // 5: the endpoints' change log, for caches that reload only what changed (SQLite's migration 6)
  `
  -- One row per change to an endpoint (added, changed, removed), in the change's transaction, which
  -- holds the fan-out's change lock until it commits: rows are numbered in commit order. Each has the
  -- endpoints_version the change set. The latest 10,000 are kept. A cache remembers the last row it
  -- read: when that row is gone, or the version moved without a row, it reloads every endpoint; else
  -- it reads again only the endpoints of the rows after it.
  CREATE TABLE {s}.endpoint_changes (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint_id  TEXT NOT NULL,
    version      BIGINT NOT NULL
  );
  `,
  // 6: a turn's usual claim and record, each one round trip (see claim-call.ts and record-call.ts)
  PG_TURN_FUNCTIONS,
];
