// The turn functions of migration 6 (claim_due, record_delivered) against the statements they
// stand for: the same batches on two schemas built alike, one each way, must write the same rows.
import pg from 'pg';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { AttemptResult, ClaimBatch } from '../src/engine/claims.js';
import { foldAttempts, loggedByEndpoint, tallyOutcomes } from '../src/engine/fold-outcomes.js';
import { PgWebhookSender } from '../src/postgres.js';
import { HEALTHY } from '../src/shared/circuit.js';
import { transaction } from '../src/store/postgres/db.js';
import { PgDispatchStore } from '../src/store/postgres/dispatch.js';
import { PgEndpointCache } from '../src/store/postgres/endpoint-cache.js';
import { PgStore } from '../src/store/postgres/store.js';
import { dropSchema, PG_URL, probePostgres, uniqueSchema } from './helpers/postgres.js';

const probe = await probePostgres();
const NOW = 1_800_000_000_000;

describe.skipIf(!probe.available)(`PostgreSQL turn functions (${probe.reason})`, () => {
  const schemas: string[] = [];
  const pools: pg.Pool[] = [];
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end()));
    for (const schema of schemas) await dropSchema(schema);
  });

  const newPool = (options: pg.PoolConfig = {}) => {
    const pool = new pg.Pool({ connectionString: PG_URL, max: 4, ...options });
    pools.push(pool);
    return pool;
  };

  /**
   * A migrated schema with one endpoint and `first` + `retries` due rows (the retries with one
   * attempt made), `later` rows due in a minute, and `leasedElsewhere` rows leased by another sender.
   */
  async function schemaWith(rows: {
    first: number;
    retries: number;
    later?: number;
    leasedElsewhere?: number;
  }) {
    const schema = uniqueSchema('turn');
    schemas.push(schema);
    const pool = newPool();
    const sender = new PgWebhookSender({ pool, schema, autoStart: false, allowPrivateNetworks: true });
    await sender.ready;
    const endpoint = await sender.endpoints.add({ url: 'http://127.0.0.1:9/hook', concurrency: 8 });
    const total = rows.first + rows.retries + (rows.later ?? 0) + (rows.leasedElsewhere ?? 0);
    for (let i = 0; i < total; i++) await sender.emit('order.created', { i });
    await sender.close();
    const store = new PgStore(pool, schema);
    const s = store.s;
    // In seq order: first attempts due now, retries due now, rows due later, rows leased elsewhere.
    await pool.query(`UPDATE ${s}.deliveries SET next_attempt_at = $1, updated_at = $1`, [NOW - 1_000]);
    const seqs = (await pool.query<{ seq: string }>(`SELECT seq FROM ${s}.deliveries ORDER BY seq`)).rows.map(
      (r) => Number(r.seq),
    );
    const retries = seqs.slice(rows.first, rows.first + rows.retries);
    const later = seqs.slice(rows.first + rows.retries, rows.first + rows.retries + (rows.later ?? 0));
    const leased = seqs.slice(total - (rows.leasedElsewhere ?? 0));
    await pool.query(`UPDATE ${s}.deliveries SET attempt_count = 1 WHERE seq = ANY($1)`, [retries]);
    await pool.query(`UPDATE ${s}.deliveries SET next_attempt_at = $2 WHERE seq = ANY($1)`, [
      later,
      NOW + 60_000,
    ]);
    await pool.query(
      `UPDATE ${s}.deliveries SET status = 'sending', lease_owner = 'elsewhere', lease_until = $2 WHERE seq = ANY($1)`,
      [leased, NOW + 60_000],
    );
    return { store, endpointId: endpoint.id, pool };
  }

  const batch = (endpointId: string, max: number, cap = 8): ClaimBatch => ({
    requests: [{ endpointId, max, fifo: false, cap, ratePerSecond: null }],
    budget: 16,
    lease: { owner: 'me', now: NOW, until: NOW + 30_000 },
  });

  /** What a claim took, as kinds in seq order, and what it said of the endpoint. */
  const summary = (outcome: Awaited<ReturnType<PgStore['claims']['claim']>>) => ({
    taken: outcome.claimed.map((d) => `${d.seq}:${d.attemptCount}`),
    nextDue: [...outcome.nextDue],
    held: [...outcome.held],
  });

  it.each([
    {
      name: 'first attempts and retries share the slots, an odd one in turn',
      rows: { first: 6, retries: 3 },
      asks: [3, 3, 1, 1],
    },
    { name: 'retries take what first attempts leave', rows: { first: 1, retries: 6 }, asks: [5, 2] },
    {
      name: 'leases held by another sender count against the concurrency',
      rows: { first: 6, retries: 0, leasedElsewhere: 6 },
      asks: [5, 5],
    },
    {
      name: 'a claim that finds too few says when the next row is due',
      rows: { first: 2, retries: 1, later: 2 },
      asks: [5, 5],
    },
    { name: 'nothing due', rows: { first: 0, retries: 0 }, asks: [4] },
  ])('claim_due takes what the statements take: $name', async ({ rows, asks }) => {
    const oneCall = await schemaWith(rows);
    const statements = await schemaWith(rows);
    statements.store.turn.claimsInOneCall = false;
    for (const max of asks) {
      const a = summary(await oneCall.store.claims.claim(batch(oneCall.endpointId, max)));
      const b = summary(await statements.store.claims.claim(batch(statements.endpointId, max)));
      expect({ ...a, nextDue: a.nextDue.map(([, t]) => t), held: a.held.map(([, t]) => t) }).toEqual({
        ...b,
        nextDue: b.nextDue.map(([, t]) => t),
        held: b.held.map(([, t]) => t),
      });
    }
    // Both took as many rows as the statements did: the function did claim (not an empty pass).
    const leased = async ({ pool, store }: { pool: pg.Pool; store: PgStore }) =>
      Number(
        (await pool.query(`SELECT count(*) AS n FROM ${store.s}.deliveries WHERE lease_owner = 'me'`)).rows[0]
          .n,
      );
    expect(await leased(oneCall)).toBe(await leased(statements));
    expect(oneCall.store.turn.claimsInOneCall).toBe(true);
  });

  it('claim_due refuses outside READ COMMITTED, and the claim goes back to the statements', async () => {
    const { store, endpointId } = await schemaWith({ first: 3, retries: 0 });
    const repeatable = new PgStore(
      newPool({ options: '-c default_transaction_isolation=repeatable\\ read' }),
      store.schema,
    );
    const outcome = await repeatable.claims.claim(batch(endpointId, 2));
    expect(outcome.claimed).toHaveLength(2);
    expect(repeatable.turn.claimsInOneCall).toBe(false);
    // The default (READ COMMITTED) keeps the one call.
    expect((await store.claims.claim(batch(endpointId, 2))).claimed).toHaveLength(1);
    expect(store.turn.claimsInOneCall).toBe(true);
  });

  /** The results of a claim, as an attempt on each would come back: the i-th gets `statuses[i]`. */
  function resultsFor(
    claimed: { seq: number; endpointId: string; attemptCount: number }[],
    statuses: AttemptResult['status'][],
  ): AttemptResult[] {
    return claimed.map((d, i) => {
      const status = statuses[i]!;
      const at = NOW + 100 + i * 10;
      return {
        seq: d.seq,
        endpointId: d.endpointId,
        logged: true,
        number: d.attemptCount + 1,
        startedAt: at - 5,
        durationMs: 5,
        statusCode: status === 'succeeded' ? 200 : 500,
        responseHeaders: '{}',
        responseBody: status === 'succeeded' ? 'ok' : 'no',
        errorCode: null,
        errorMessage: null,
        status,
        nextAttemptAt: null,
        lastError: status === 'succeeded' ? null : 'HTTP 500',
        updatedAt: at,
      };
    });
  }

  /** Everything a record writes, without the generated keys and the activity's random shard. */
  async function written({ pool, store }: { pool: pg.Pool; store: PgStore }) {
    const q = async (sql: string) => (await pool.query(sql)).rows;
    const s = store.s;
    return {
      deliveries: await q(
        `SELECT seq, status, attempt_count, lease_owner, last_status_code, last_error, updated_at FROM ${s}.deliveries ORDER BY seq`,
      ),
      attempts: await q(
        `SELECT delivery_seq, number, status_code, response_body FROM ${s}.attempts ORDER BY seq`,
      ),
      health: await q(`SELECT * FROM ${s}.endpoint_health`),
      minutes: await q(`SELECT * FROM ${s}.endpoint_minutes`),
      activity: await q(
        `SELECT minute, sum(succeeded) AS s, sum(retrying) AS r, sum(failed) AS f FROM ${s}.activity GROUP BY minute`,
      ),
    };
  }

  it('record_delivered writes what the statements write for a batch that ended in success', async () => {
    const oneCall = await schemaWith({ first: 4, retries: 0 });
    const statements = await schemaWith({ first: 4, retries: 0 });
    // Both endpoints had failed before: a streak, an open circuit and a last failure.
    for (const { pool, store, endpointId } of [oneCall, statements]) {
      await pool.query(`INSERT INTO ${store.s}.endpoint_health VALUES ($1, 3, $2, NULL, $3, $4, 2)`, [
        endpointId,
        NOW - 50_000,
        NOW - 40_000,
        NOW + 5_000,
      ]);
    }
    const circuit = { threshold: 5, cooloff: 1_000, maxCooloff: 60_000, disableAfter: 0 };
    const rounds: AttemptResult['status'][][] = [
      ['failed', 'succeeded'],
      ['succeeded', 'succeeded'],
    ];
    for (const statuses of rounds) {
      const a = await oneCall.store.claims.claim(batch(oneCall.endpointId, 2));
      const results = resultsFor(a.claimed, statuses);
      const dispatch = new PgDispatchStore(oneCall.store, undefined as never, 'me', circuit);
      const outcome = await dispatch.record(results, 'me', NOW + 200);
      const b = await statements.store.claims.claim(batch(statements.endpointId, 2));
      const resultsB = resultsFor(b.claimed, statuses);
      // The statements, as the record of a batch with a retry runs them.
      const expected = await transaction(statements.pool, async (client) => {
        const { store } = statements;
        await store.outbox.recordIn(client, resultsB, 'me');
        const byEndpoint = loggedByEndpoint(resultsB);
        const current = await store.health.lockIn(client, [...byEndpoint.keys()]);
        const folded = [...byEndpoint].map(([endpointId, list]) => {
          const { health, succeeded } = foldAttempts(current.get(endpointId) ?? HEALTHY, list, circuit);
          return { endpointId, health, ok: succeeded, failed: list.length - succeeded };
        });
        await store.health.recordIn(client, folded, NOW + 200, tallyOutcomes(resultsB));
        return new Map(folded.map((f) => [f.endpointId, f.health]));
      });
      expect(outcome.disabled).toEqual([]);
      expect(outcome.health.get(oneCall.endpointId)).toEqual(expected.get(statements.endpointId));
    }
    const [x, y] = [await written(oneCall), await written(statements)];
    const id = (rows: Record<string, unknown>[]) => rows.map(({ endpoint_id: _, ...rest }) => rest);
    expect({ ...x, health: id(x.health), minutes: id(x.minutes) }).toEqual({
      ...y,
      health: id(y.health),
      minutes: id(y.minutes),
    });
    // The earlier failure outlived the success that closed the circuit, as the fold keeps it.
    expect(x.health[0]).toMatchObject({ consecutive_failures: 0, circuit_open_until: null });
    expect(Number(x.health[0].last_failure_at)).toBe(NOW + 100);
    expect(x.attempts).toHaveLength(4);
  });

  it("plans without reading the endpoints' version when this turn's record read it, and reads it otherwise", async () => {
    const { store, endpointId, pool } = await schemaWith({ first: 4, retries: 0 });
    const cache = new PgEndpointCache(store.endpoints);
    const circuit = { threshold: 5, cooloff: 1_000, maxCooloff: 60_000, disableAfter: 0 };
    const dispatch = new PgDispatchStore(store, cache, 'me', circuit);
    expect((await dispatch.endpoints()).map((e) => e.id)).toEqual([endpointId]);
    const refresh = vi.spyOn(cache, 'refresh');
    const deliver = async () => {
      dispatch.turnStarted();
      const { claimed } = await store.claims.claim(batch(endpointId, 1));
      await dispatch.record(resultsFor(claimed, ['succeeded']), 'me', NOW + 200);
    };
    // A turn that recorded plans from the cache: it is at the version the record read.
    await deliver();
    await dispatch.endpoints();
    expect(refresh).not.toHaveBeenCalled();
    // Read once: a second look in the same turn reads, as does a turn that recorded nothing.
    await dispatch.endpoints();
    expect(refresh).toHaveBeenCalledTimes(1);
    await deliver();
    dispatch.turnStarted();
    await dispatch.endpoints();
    expect(refresh).toHaveBeenCalledTimes(2);
    // A change committed before the record: the record reads the new version and the plan reads the change.
    await pool.query(`UPDATE ${store.s}.meta SET value = value + 1 WHERE key = 'endpoints_version'`);
    await deliver();
    await dispatch.endpoints();
    expect(refresh).toHaveBeenCalledTimes(3);
    await deliver();
    await dispatch.endpoints();
    expect(refresh).toHaveBeenCalledTimes(3);
  });

  it("claim_due's commit does not wait for the disk, and the session's setting is left as it was", async () => {
    const { store, endpointId, pool } = await schemaWith({ first: 2, retries: 0 });
    const client = await pool.connect();
    try {
      const show = async () => (await client.query('SHOW synchronous_commit')).rows[0].synchronous_commit;
      // On as the test connection sets it, whatever the server's default.
      await client.query('SET synchronous_commit = on');
      expect(await show()).toBe('on');
      await client.query('BEGIN');
      const { rows } = await client.query(
        `SELECT count(o_seq)::int AS n FROM ${store.s}.claim_due($1, $2, 2, 8, false, $3, 'me', $4)`,
        [`hookline:claim:${store.s}`, endpointId, NOW + 30_000, NOW],
      );
      expect(rows[0].n).toBe(2);
      expect(await show()).toBe('off');
      await client.query('COMMIT');
      expect(await show()).toBe('on');
      await client.query('RESET synchronous_commit');
    } finally {
      client.release();
    }
  });

  describe('record_then_claim: a turn in one call', () => {
    const circuit = { threshold: 5, cooloff: 1_000, maxCooloff: 60_000, disableAfter: 0 };
    const lease = { owner: 'me', now: NOW, until: NOW + 30_000 };
    /** A dispatch store on a schema with `first` due rows, two of them leased by this sender (to record). */
    async function turnOn(first: number) {
      const built = await schemaWith({ first, retries: 0 });
      const cache = new PgEndpointCache(built.store.endpoints);
      const dispatch = new PgDispatchStore(built.store, cache, 'me', circuit);
      await dispatch.endpoints();
      const { claimed } = await built.store.claims.claim(batch(built.endpointId, 2));
      return { ...built, cache, dispatch, results: resultsFor(claimed, ['failed', 'succeeded']) };
    }
    const planOf =
      (endpointId: string, max: number, more: string[] = []) =>
      () => ({
        requests: [endpointId, ...more].map((id) => ({
          endpointId: id,
          max,
          fifo: false,
          cap: 8,
          ratePerSecond: null,
        })),
        budget: 16,
      });

    it('records, then claims in the same call what claim_due would, and writes what record_delivered would', async () => {
      const one = await turnOn(6);
      const two = await turnOn(6);
      const out = await one.dispatch.recordThenClaim(one.results, lease, planOf(one.endpointId, 3));
      const recorded = await two.dispatch.record(two.results, 'me', NOW);
      const claimed = await two.store.claims.claim(batch(two.endpointId, 3));
      const claim = out?.claim;
      if (claim === undefined || claim === 'moved' || claim === 'separately')
        throw new Error(`claimed apart: ${claim}`);
      expect(summary(claim)).toEqual(summary(claimed));
      expect(out!.recorded.health.get(one.endpointId)).toEqual(recorded.health.get(two.endpointId));
      const [x, y] = [await written(one), await written(two)];
      const id = (rows: Record<string, unknown>[]) => rows.map(({ endpoint_id: _, ...rest }) => rest);
      expect({ ...x, health: id(x.health), minutes: id(x.minutes) }).toEqual({
        ...y,
        health: id(y.health),
        minutes: id(y.minutes),
      });
      expect(x.deliveries.filter((d) => d.lease_owner === 'me')).toHaveLength(3);
    });

    it('records but claims nothing when the endpoints changed since the cache read them', async () => {
      const t = await turnOn(6);
      await t.pool.query(`UPDATE ${t.store.s}.meta SET value = value + 1 WHERE key = 'endpoints_version'`);
      const out = await t.dispatch.recordThenClaim(t.results, lease, planOf(t.endpointId, 3));
      expect(out?.claim).toBe('moved');
      const rows = (await written(t)).deliveries;
      expect(rows.filter((d) => d.status === 'succeeded' || d.status === 'failed')).toHaveLength(2);
      expect(rows.filter((d) => d.lease_owner === 'me')).toHaveLength(0);
      // The turn's plan then reads the endpoints again.
      const refresh = vi.spyOn(t.cache, 'refresh');
      await t.dispatch.endpoints();
      expect(refresh).toHaveBeenCalledTimes(1);
    });

    it('says the endpoints moved when they changed after the plan, though the cache read them meanwhile', async () => {
      const t = await turnOn(6);
      // An emit (or the poll) reads the changed endpoints while the record is out.
      const recordDelivered = t.store.turn.recordDelivered.bind(t.store.turn);
      vi.spyOn(t.store.turn, 'recordDelivered').mockImplementation(async (batch) => {
        await t.pool.query(`UPDATE ${t.store.s}.meta SET value = value + 1 WHERE key = 'endpoints_version'`);
        await t.cache.refresh();
        return recordDelivered(batch);
      });
      const out = await t.dispatch.recordThenClaim(t.results, lease, planOf(t.endpointId, 3, ['ep_other']));
      expect(out?.claim).toBe('moved');
    });

    it('leaves a plan of several endpoints to the caller, and refuses a batch whose last attempt failed', async () => {
      const t = await turnOn(6);
      const plan = vi.fn(planOf(t.endpointId, 3, ['ep_other']));
      const failedLast = resultsFor(
        t.results.map((r) => ({ seq: r.seq, endpointId: r.endpointId, attemptCount: 0 })),
        ['succeeded', 'failed'],
      );
      expect(await t.dispatch.recordThenClaim(failedLast, lease, plan)).toBeUndefined();
      expect(plan).not.toHaveBeenCalled();
      expect((await written(t)).attempts).toHaveLength(0);
      const out = await t.dispatch.recordThenClaim(t.results, lease, plan);
      expect(out?.claim).toBe('separately');
      expect((await written(t)).attempts).toHaveLength(2);
    });

    it('commits the record as the session is set (on disk), though its claim does not wait', async () => {
      const t = await turnOn(6);
      const client = await t.pool.connect();
      try {
        await client.query('SET synchronous_commit = on');
        await client.query('BEGIN');
        const sql = `SELECT count(o_seq)::int AS n FROM ${t.store.s}.record_then_claim(${Array.from({ length: 37 }, (_, i) => `$${i + 1}`).join(', ')})`;
        const version = (
          await client.query(`SELECT value FROM ${t.store.s}.meta WHERE key = 'endpoints_version'`)
        ).rows[0].value;
        const ep = {
          endpointId: t.endpointId,
          lastSuccessAt: NOW + 110,
          lastFailureAt: NOW + 100,
          ok: 1,
          failed: 1,
        };
        const { recordParams } = await import('../src/store/postgres/outbox-sql.js');
        const { rows } = await client.query(sql, [
          ...recordParams(t.results, 'me'),
          [ep.endpointId],
          [ep.lastSuccessAt],
          [ep.lastFailureAt],
          [1],
          [1],
          Math.floor(NOW / 60_000),
          0,
          1,
          0,
          1,
          true,
          version,
          `hookline:claim:${t.store.s}`,
          t.endpointId,
          3,
          8,
          false,
          NOW + 30_000,
          'me',
          NOW,
        ]);
        expect(rows[0].n).toBe(3);
        expect((await client.query('SHOW synchronous_commit')).rows[0].synchronous_commit).toBe('on');
        await client.query('COMMIT');
        await client.query('RESET synchronous_commit');
      } finally {
        client.release();
      }
    });
  });
});
