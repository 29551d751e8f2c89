/**
 * The schema as numbered, append-only migrations. Never edit a migration that
 * has shipped: add the next number. `{p}` is the table prefix (a validated
 * identifier, never user data).
 */
export const MIGRATIONS: readonly string[] = [
  // 1: the outbox
  `
  CREATE TABLE {p}meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
  ) WITHOUT ROWID;
  INSERT INTO {p}meta (key, value) VALUES ('endpoints_version', 0);

  CREATE TABLE {p}endpoints (
    id                      TEXT PRIMARY KEY,
    url                     TEXT NOT NULL,
    events                  TEXT NOT NULL,
    tenant                  TEXT,
    secret                  TEXT NOT NULL,
    previous_secret         TEXT,
    previous_secret_until   INTEGER,
    headers                 TEXT NOT NULL,
    description             TEXT,
    metadata                TEXT NOT NULL,
    enabled                 INTEGER NOT NULL,
    disabled_reason         TEXT,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL
  );

  CREATE TABLE {p}events (
    seq              INTEGER PRIMARY KEY,
    id               TEXT NOT NULL UNIQUE,
    type             TEXT NOT NULL,
    tenant           TEXT,
    idempotency_key  TEXT,
    payload          TEXT NOT NULL,
    created_at       INTEGER NOT NULL
  );
  CREATE UNIQUE INDEX {p}events_idempotency ON {p}events (ifnull(tenant, ''), idempotency_key)
    WHERE idempotency_key IS NOT NULL;

  CREATE TABLE {p}deliveries (
    seq               INTEGER PRIMARY KEY,
    event_seq         INTEGER NOT NULL,
    endpoint_id       TEXT NOT NULL,
    status            TEXT NOT NULL,
    attempt_count     INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   INTEGER,
    lease_until       INTEGER,
    lease_owner       TEXT,
    last_status_code  INTEGER,
    last_error        TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
  );
  -- Each index costs every emit a page write (about 5 us), so there are few.
  -- Claiming: each endpoint's due rows, earliest first. Per endpoint, so that a
  -- backlog for one endpoint is never scanned to find another's rows.
  CREATE INDEX {p}deliveries_due ON {p}deliveries (endpoint_id, next_attempt_at) WHERE status = 'pending';
  -- Lease expiry and the failed list: pending and succeeded rows stay out of both.
  CREATE INDEX {p}deliveries_leased ON {p}deliveries (lease_until) WHERE status = 'sending';
  CREATE INDEX {p}deliveries_failed ON {p}deliveries (seq) WHERE status = 'failed';
  CREATE INDEX {p}deliveries_endpoint ON {p}deliveries (endpoint_id, seq);
  CREATE INDEX {p}deliveries_event ON {p}deliveries (event_seq);

  CREATE TABLE {p}attempts (
    seq               INTEGER PRIMARY KEY,
    delivery_seq      INTEGER NOT NULL,
    number            INTEGER NOT NULL,
    started_at        INTEGER NOT NULL,
    duration_ms       INTEGER NOT NULL,
    status_code       INTEGER,
    response_headers  TEXT,
    response_body     TEXT,
    error_code        TEXT,
    error_message     TEXT
  );
  CREATE INDEX {p}attempts_delivery ON {p}attempts (delivery_seq, number);
  `,
  // 2: fairness, circuit breaking, ordering
  `
  ALTER TABLE {p}endpoints ADD COLUMN concurrency INTEGER;
  ALTER TABLE {p}endpoints ADD COLUMN rate_limit_per_second REAL;
  ALTER TABLE {p}endpoints ADD COLUMN ordering TEXT NOT NULL DEFAULT 'none';
  ALTER TABLE {p}events ADD COLUMN ordering_key TEXT;
  ALTER TABLE {p}deliveries ADD COLUMN ordering_key TEXT;
  -- attempt_count when the current series of attempts began: a manual retry or a
  -- recovery starts the retry schedule again without renumbering the log.
  ALTER TABLE {p}deliveries ADD COLUMN series_start INTEGER NOT NULL DEFAULT 0;

  -- First attempts and retries apart, so that a backlog of retries never
  -- starves fresh events of the same endpoint.
  DROP INDEX {p}deliveries_due;
  CREATE INDEX {p}deliveries_due ON {p}deliveries (endpoint_id, min(attempt_count, 1), next_attempt_at)
    WHERE status = 'pending';

  -- One row per endpoint: the circuit breaker and the failure streak, shared by every process.
  CREATE TABLE {p}endpoint_health (
    endpoint_id           TEXT PRIMARY KEY,
    consecutive_failures  INTEGER NOT NULL DEFAULT 0,
    failing_since         INTEGER,
    last_success_at       INTEGER,
    last_failure_at       INTEGER,
    circuit_open_until    INTEGER,
    circuit_opens         INTEGER NOT NULL DEFAULT 0
  ) WITHOUT ROWID;

  -- Attempt outcomes per endpoint and minute, for the success rate over the last hour.
  CREATE TABLE {p}endpoint_minutes (
    endpoint_id  TEXT NOT NULL,
    minute       INTEGER NOT NULL,
    succeeded    INTEGER NOT NULL DEFAULT 0,
    failed       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (endpoint_id, minute)
  ) WITHOUT ROWID;
  `,
  // 3: concurrency and rate limits shared by every process
  `
  -- Each endpoint's leased rows, counted by every claim against the endpoint's concurrency.
  -- It replaces deliveries_leased, so a claim or a result still writes one index of leased
  -- rows: finding expired leases scans the leased rows alone, as many as are in flight.
  DROP INDEX {p}deliveries_leased;
  CREATE INDEX {p}deliveries_sending ON {p}deliveries (endpoint_id, lease_until) WHERE status = 'sending';

  -- One token bucket per rate-limited endpoint, spent by every process's claims:
  -- its tokens as of at (ms), refilled at the endpoint's rate.
  CREATE TABLE {p}rate_buckets (
    endpoint_id  TEXT PRIMARY KEY,
    tokens       REAL NOT NULL,
    at           INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // 4: fan-out off the emit path
  `
  -- Events whose deliveries the engine has yet to create: emit writes one row here, whatever the
  -- number of endpoints. Its ticket is never handed out twice: the row holding the highest one stays,
  -- marked \`done\`, until a later one exists, so SQLite never gives its rowid out again; an
  -- endpoint's match_from, a ticket, tells the events queued before its last change from those after.
  -- \`targets\`: deliveries still to create; \`endpoint_ids\`: emit's list, if any; \`after_endpoint\`:
  -- for an event fanned out over several transactions, where the last one stopped (oldest
  -- endpoints first: their created_at and id, see fanoutKey). No other index: every row an emit
  -- writes costs it a page.
  CREATE TABLE {p}fanout (
    ticket          INTEGER PRIMARY KEY,
    event_seq       INTEGER NOT NULL,
    targets         INTEGER NOT NULL,
    endpoint_ids    TEXT,
    after_endpoint  TEXT,
    done            INTEGER NOT NULL DEFAULT 0
  );
  -- How many endpoints the event matched when it was emitted (NULL: emitted before this migration).
  ALTER TABLE {p}events ADD COLUMN targets INTEGER;
  -- Events queued up to this ticket were fanned out to the endpoint before its last change: the
  -- endpoint as it is now only receives later ones.
  ALTER TABLE {p}endpoints ADD COLUMN match_from INTEGER NOT NULL DEFAULT 0;
  -- 0 for the delivery the emit made, n for the nth replay of the event to the same endpoint: one
  -- emit can never make two deliveries of an event to an endpoint.
  ALTER TABLE {p}deliveries ADD COLUMN replay INTEGER NOT NULL DEFAULT 0;
  UPDATE {p}deliveries SET replay = r.n
    FROM (SELECT seq, row_number() OVER (PARTITION BY event_seq, endpoint_id ORDER BY seq) - 1 AS n
          FROM {p}deliveries) AS r
    WHERE r.seq = {p}deliveries.seq AND r.n > 0;
  DROP INDEX {p}deliveries_event;
  CREATE UNIQUE INDEX {p}deliveries_event ON {p}deliveries (event_seq, endpoint_id, replay);
  `,
  // 5: activity per minute, for the dashboard's chart; the emit's trace context
  `
  -- The W3C traceparent of the span that emitted the event (OpenTelemetry, when the application
  -- records traces): each attempt's span continues that trace, in whichever process and however late.
  ALTER TABLE {p}events ADD COLUMN trace_context TEXT;

  -- Attempts per minute (ms / 60000) by outcome, every endpoint together: one row per minute, added to
  -- by each batch of results, kept two days.
  CREATE TABLE {p}activity (
    minute     INTEGER PRIMARY KEY,
    succeeded  INTEGER NOT NULL DEFAULT 0,
    retrying   INTEGER NOT NULL DEFAULT 0,
    failed     INTEGER NOT NULL DEFAULT 0
  );
  `,
  // 6: the endpoints' change log, for caches that reload only what changed
  `
  -- One row per change to an endpoint (added, changed, removed), in the change's transaction, with
  -- the random endpoints_version it set; the latest ENDPOINT_CHANGES_KEPT are kept. A cache
  -- remembers the last row it read: when that row is gone or is another (pruned, or rolled back and
  -- its seq reused), or the version moved without a row, it reloads every endpoint; else it reads
  -- again only the endpoints of the rows after it.
  CREATE TABLE {p}endpoint_changes (
    seq          INTEGER PRIMARY KEY,
    endpoint_id  TEXT NOT NULL,
    version      INTEGER NOT NULL
  );
  `,
];
