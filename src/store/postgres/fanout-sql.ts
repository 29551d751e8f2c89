import type pg from 'pg';
import type { LiveEndpoint } from '../../engine/live-endpoints.js';
import type { EndpointRow } from '../../shared/rows.js';
import { type Expansion, fanoutTargets, NOTHING_QUEUED, type QueuedEvent, takenBy } from '../fanout.js';
import { type Queryable, run, transaction } from './db.js';

interface QueuedRow {
  ticket: number;
  event_seq: number;
  endpoint_ids: string[] | null;
  after_endpoint: string | null;
  type: string;
  tenant: string | null;
  ordering_key: string | null;
  created_at: number;
}

/** What fan-out reads of the endpoints: the enabled ones, current once `refresh` resolves. */
export interface FanoutEndpoints {
  refresh(): Promise<void>;
  matching(type: string, tenant: string | null): readonly LiveEndpoint[];
}

/** Queued events read per statement. */
const READ_BATCH = 256;

function statements(s: string) {
  const deliveries = `INSERT INTO ${s}.deliveries (event_seq, endpoint_id, ordering_key, status, next_attempt_at,
      created_at, updated_at)
    SELECT t.seq, t.id, t.key, 'pending', t.at, t.at, $5
    FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[]) AS t(seq, id, key, at)
    ON CONFLICT DO NOTHING RETURNING event_seq`;
  return {
    // Lock 1 of the schema: shared by emits and fan-out passes, exclusive for an endpoint change.
    // Lock 2: one fan-out pass at a time, so deliveries are created in event order.
    passLock: `SELECT pg_advisory_xact_lock_shared(hashtext($1), 1)::text AS shared,
        pg_try_advisory_xact_lock(hashtext($1), 2) AS ok`,
    // A read's settle waits for a pass in progress instead: once it has the lock, that pass is committed.
    passLockWait: `SELECT pg_advisory_xact_lock_shared(hashtext($1), 1)::text AS shared,
        pg_advisory_xact_lock(hashtext($1), 2)::text AS held, true AS ok`,
    changeLock: `SELECT pg_advisory_xact_lock(hashtext($1), 1)::text AS locked`,
    waiting: `SELECT EXISTS (SELECT 1 FROM ${s}.fanout) AS any`,
    queued: `SELECT f.ticket, f.event_seq, f.endpoint_ids, f.after_endpoint, e.type, e.tenant, e.ordering_key, e.created_at
      FROM ${s}.fanout f JOIN ${s}.events e ON e.seq = f.event_seq
      WHERE f.ticket > $1 ORDER BY f.ticket LIMIT $2`,
    deliveries,
    done: `WITH d AS (DELETE FROM ${s}.fanout WHERE ticket = ANY($1::bigint[]))
      SELECT pg_notify($2, '')::text AS notified`,
    less: `UPDATE ${s}.fanout f SET targets = f.targets - c.n
      FROM (SELECT seq, count(*) AS n FROM unnest($1::bigint[]) AS seq GROUP BY seq) c WHERE f.event_seq = c.seq`,
    progress: `UPDATE ${s}.fanout SET after_endpoint = $1, targets = targets - $2 WHERE ticket = $3`,
    top: `SELECT coalesce(max(ticket), 0) AS top FROM ${s}.fanout`,
    totals: `SELECT coalesce(sum(f.targets), 0) AS n, min(e.created_at) AS t
      FROM ${s}.fanout f JOIN ${s}.events e ON e.seq = f.event_seq`,
  };
}

/** Rows for the deliveries statement, one array per column. */
class Batch {
  readonly seqs: number[] = [];
  readonly ids: string[] = [];
  readonly keys: (string | null)[] = [];
  readonly ats: number[] = [];

  add(row: QueuedRow, id: string): void {
    this.seqs.push(row.event_seq);
    this.ids.push(id);
    this.keys.push(row.ordering_key);
    this.ats.push(row.created_at);
  }

  values(now: number): unknown[] {
    return [this.seqs, this.ids, this.keys, this.ats, now];
  }
}

/** Deliveries one fan-out transaction creates, at most (a broadcast to more takes several). */
const FANOUT_ROWS = 2_000;

/**
 * Fan-out on PostgreSQL, as on SQLite (see src/store/sqlite/fanout-sql.ts). PostgreSQL hands out
 * tickets before commit, so an advisory lock keeps the SQLite store's order: an emit holds it shared
 * from before its event is queued until it commits, an endpoint change holds it exclusively, so a
 * change sees every event queued before it, and every event queued after it has a larger ticket.
 */
export class PgFanoutSql {
  private readonly sql: ReturnType<typeof statements>;

  constructor(
    private readonly pool: pg.Pool,
    s: string,
    /** The advisory locks' key (hashed). */
    readonly lockKey: string,
    private readonly channel: string,
  ) {
    this.sql = statements(s);
  }

  /**
   * Creates the deliveries of queued events, oldest first, FANOUT_ROWS at most (an event to more
   * endpoints is cut over several passes), in one transaction. Another sender already fanning out:
   * nothing (its NOTIFY follows), unless `wait` (a read's settle), which waits for that pass to end.
   */
  async expand(endpoints: FanoutEndpoints, now: number, wait = false): Promise<Expansion> {
    const [waiting] = await run<{ any: boolean }>(this.pool, this.sql.waiting);
    if (!waiting!.any) return NOTHING_QUEUED;
    const maxRows = FANOUT_ROWS;
    return transaction(this.pool, async (client) => {
      const lockSql = wait ? this.sql.passLockWait : this.sql.passLock;
      const [lock] = await run<{ ok: boolean }>(client, lockSql, [this.lockKey]);
      if (!lock!.ok) return NOTHING_QUEUED;
      // Read with the lock held: no endpoint change can commit until this pass does.
      await endpoints.refresh();
      const queued = await run<QueuedRow>(client, this.sql.queued, [0, READ_BATCH]);
      const batch = new Batch();
      const done: number[] = [];
      const touched = new Set<string>();
      let cut: { after: string; rows: number; ticket: number } | null = null;
      for (const row of queued) {
        if (batch.ids.length >= maxRows) break;
        const matching = endpoints.matching(row.type, row.tenant);
        const { ids, last, finished } = fanoutTargets(matching, queuedEvent(row), maxRows - batch.ids.length);
        for (const id of ids) {
          batch.add(row, id);
          touched.add(id);
        }
        if (!finished) {
          // A broadcast larger than a pass: the next pass goes on after the last endpoint.
          cut = { after: last!, rows: ids.length, ticket: row.ticket };
          break;
        }
        done.push(row.ticket);
      }
      if (batch.ids.length > 0) await run(client, this.sql.deliveries, batch.values(now));
      if (cut !== null) await run(client, this.sql.progress, [cut.after, cut.rows, cut.ticket]);
      await run(client, this.sql.done, [done, this.channel]);
      const more = cut !== null || done.length < queued.length || queued.length === READ_BATCH;
      return { endpoints: touched, more };
    });
  }

  /**
   * Inside an endpoint change's transaction, before it writes: takes the change lock, fans every
   * queued event out to the endpoint as it is now (`old`: read after the lock; undefined for a new
   * endpoint), and returns the `match_from` of its new row.
   */
  async lockForChange(client: Queryable, read: () => Promise<EndpointRow | undefined>, now: number) {
    await run(client, this.sql.changeLock, [this.lockKey]);
    const [{ top }] = (await run<{ top: number }>(client, this.sql.top)) as [{ top: number }];
    const old = await read();
    if (old !== undefined && old.enabled === 1) await this.settle(client, old, now);
    return { old, matchFrom: top };
  }

  private async settle(client: Queryable, old: EndpointRow, now: number): Promise<void> {
    const takes = takenBy(old);
    for (let after = Number(old.match_from ?? 0); ; ) {
      const queued = await run<QueuedRow>(client, this.sql.queued, [after, READ_BATCH]);
      const batch = new Batch();
      for (const row of queued) {
        after = row.ticket;
        if (takes(row.type, row.tenant, queuedEvent(row))) batch.add(row, old.id);
      }
      if (batch.ids.length > 0) {
        const made = await run<{ event_seq: number }>(client, this.sql.deliveries, batch.values(now));
        await run(client, this.sql.less, [made.map((row) => row.event_seq)]);
      }
      if (queued.length < READ_BATCH) return;
    }
  }

  /** Deliveries still to be created, and when the oldest queued event was emitted. */
  async totals(): Promise<{ deliveries: number; oldestAt: number | null }> {
    const [row] = await run<{ n: number; t: number | null }>(this.pool, this.sql.totals);
    return { deliveries: row!.n, oldestAt: row!.t };
  }
}

function queuedEvent(row: QueuedRow): QueuedEvent {
  return { ticket: row.ticket, endpointIds: row.endpoint_ids, after: row.after_endpoint };
}
