import pg from 'pg';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { verifyWebhook } from '../src/index.js';
import {
  InvalidArgumentError,
  InvalidOptionError,
  NotFoundError,
  PG_MIGRATIONS,
  type PgSenderOptions,
  PgWebhookSender,
  SchemaVersionError,
} from '../src/postgres.js';
import { PgHealthSql } from '../src/store/postgres/health-sql.js';
import { ManualClock } from './helpers/clock.js';
import { dropSchema, PG_URL, probePostgres, uniqueSchema } from './helpers/postgres.js';
import { type Receiver, startReceiver } from './helpers/receiver.js';

const probe = await probePostgres();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!probe.available)(`PgWebhookSender (${probe.reason})`, () => {
  const schemas = new Set<string>();
  const pools: pg.Pool[] = [];
  let senders: PgWebhookSender[] = [];
  let receivers: Receiver[] = [];

  const newPool = () => {
    const pool = new pg.Pool({ connectionString: PG_URL, max: 6 });
    pools.push(pool);
    return pool;
  };
  const newSchema = () => {
    const schema = uniqueSchema();
    schemas.add(schema);
    return schema;
  };
  const sender = (options: Partial<PgSenderOptions> & { schema: string }) => {
    const s = new PgWebhookSender({
      pool: options.connectionString === undefined ? newPool() : undefined,
      allowPrivateNetworks: true,
      ...options,
    });
    senders.push(s);
    return s;
  };
  const receiver = async (...args: Parameters<typeof startReceiver>) => {
    const r = await startReceiver(...args);
    receivers.push(r);
    return r;
  };
  /** Waits until `check` holds, polling. */
  const until = async (check: () => Promise<boolean> | boolean, timeoutMs = 15_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await sleep(20);
    }
  };

  afterEach(async () => {
    await Promise.all(senders.map((s) => s.close()));
    await Promise.all(receivers.map((r) => r.close()));
    senders = [];
    receivers = [];
  });

  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end()));
    for (const schema of schemas) await dropSchema(schema);
  });

  it('delivers an emitted event, signed, to a real receiver', async () => {
    const r = await receiver();
    const s = sender({ schema: newSchema() });
    const endpoint = await s.endpoints.add({ url: r.url });
    const event = await s.emit('order.created', { id: 1 });
    expect(event).toMatchObject({ type: 'order.created', deliveries: 1 });
    const [request] = await r.waitFor(1);
    expect(request!.headers['webhook-id']).toBe(event.id);
    const verified = verifyWebhook({
      secret: endpoint.secret,
      headers: request!.headers as Record<string, string>,
      body: request!.body,
    });
    expect(verified).toMatchObject({ id: event.id, type: 'order.created', data: { id: 1 } });
    await until(async () => (await s.deliveries.list()).items[0]?.status === 'succeeded');
    const delivery = (await s.deliveries.list({ eventId: event.id })).items[0]!;
    const full = await s.deliveries.get(delivery.id);
    expect(full.attempts).toHaveLength(1);
    expect(full.attempts[0]).toMatchObject({ number: 1, statusCode: 200, responseBody: 'ok' });
    expect(await s.stats()).toMatchObject({ pending: 0, sending: 0, succeeded: 1, failed: 0 });
    expect((await s.endpoints.health(endpoint.id)).successRateLastHour).toBe(1);
  });

  it("emit inside the application's transaction: ROLLBACK delivers nothing, COMMIT delivers (woken by NOTIFY)", async () => {
    const r = await receiver();
    const pool = newPool();
    // A poll this slow never fires during the test: only the NOTIFY on commit can wake the sender.
    const s = sender({ schema: newSchema(), pool, pollInterval: 600_000 });
    await s.endpoints.add({ url: r.url });
    await s.drain();
    await pool.query('CREATE TEMP TABLE IF NOT EXISTS orders (id int)');

    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('INSERT INTO orders VALUES (1)');
      const rolledBack = await s.emit('order.created', { id: 1 }, { client });
      expect(rolledBack.deliveries).toBe(1);
      await client.query('ROLLBACK');
      await s.drain();
      await sleep(200);
      expect(r.requests).toHaveLength(0);
      await expect(s.events.get(rolledBack.id)).rejects.toBeInstanceOf(NotFoundError);
      expect((await s.events.list()).items).toHaveLength(0);

      await client.query('BEGIN');
      const committed = await s.emit('order.created', { id: 2 }, { client });
      // Not visible before the commit: nothing is sent yet.
      await sleep(100);
      expect(r.requests).toHaveLength(0);
      await client.query('COMMIT');
      const [request] = await r.waitFor(1);
      expect(request!.headers['webhook-id']).toBe(committed.id);

      // emitMany through the client commits and rolls back as a whole too.
      await client.query('BEGIN');
      await s.emitMany(
        [
          { type: 'a.b', payload: 1 },
          { type: 'a.c', payload: 2 },
        ],
        { client },
      );
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    await s.emitMany([
      { type: 'a.b', payload: 1 },
      { type: 'a.c', payload: 2 },
    ]);
    await r.waitFor(3);
    await sleep(100);
    expect(r.requests).toHaveLength(3);
    expect((await s.events.list()).items.map((e) => e.type).sort()).toEqual(['a.b', 'a.c', 'order.created']);
  });

  it('manages endpoints', async () => {
    const s = sender({ schema: newSchema(), autoStart: false });
    const a = await s.endpoints.add({
      url: 'https://example.com/a',
      events: ['order.*'],
      description: 'A',
      metadata: { team: 'x' },
      headers: { 'x-team': 'x' },
    });
    expect(a.secret).toMatch(/^whsec_/);
    expect(JSON.stringify(a)).not.toContain('whsec_');
    const b = await s.endpoints.add({
      url: 'https://example.com/b',
      tenant: 't1',
      rateLimit: { perSecond: 5 },
    });
    expect((await s.endpoints.list()).map((e) => e.id)).toEqual([a.id, b.id]);
    expect(await s.endpoints.get(a.id)).toMatchObject({
      url: 'https://example.com/a',
      events: ['order.*'],
      metadata: { team: 'x' },
      headers: { 'x-team': 'x' },
      enabled: true,
    });
    expect(await s.endpoints.get(b.id)).toMatchObject({ tenant: 't1', rateLimit: { perSecond: 5 } });

    const updated = await s.endpoints.update(a.id, { url: 'https://example.com/a2', concurrency: 2 });
    expect(updated).toMatchObject({ url: 'https://example.com/a2', concurrency: 2, description: 'A' });
    expect((await s.endpoints.get(a.id)).url).toBe('https://example.com/a2');

    // Disabling fails its pending deliveries; emit skips it afterwards.
    expect((await s.emit('order.created', {})).deliveries).toBe(1);
    const disabled = await s.endpoints.disable(a.id, 'maintenance');
    expect(disabled).toMatchObject({ enabled: false, disabledReason: 'maintenance' });
    expect((await s.deliveries.list({ endpointId: a.id })).items[0]).toMatchObject({
      status: 'failed',
      lastError: 'endpoint disabled: maintenance',
    });
    expect((await s.emit('order.created', {})).deliveries).toBe(0);
    expect(await s.endpoints.enable(a.id)).toMatchObject({ enabled: true, disabledReason: null });
    expect((await s.emit('order.created', {})).deliveries).toBe(1);
    // Tenants: only b gets tenant t1's events.
    expect((await s.emit('order.created', {}, { tenant: 't1' })).deliveries).toBe(1);

    const rotated = await s.endpoints.rotateSecret(a.id);
    expect(rotated.secret).not.toBe(a.secret);
    const health = await s.endpoints.health(a.id);
    expect(health).toMatchObject({ circuit: 'closed', consecutiveFailures: 0, attemptsLastHour: 0 });

    await s.endpoints.remove(b.id);
    await expect(s.endpoints.get(b.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(s.endpoints.remove(b.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(s.endpoints.add({ url: 'ftp://nope' })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(s.endpoints.update(a.id, { bogus: 1 } as never)).rejects.toMatchObject({
      code: 'ERR_UNKNOWN_OPTION',
    });
    await expect(s.emit('', {})).rejects.toMatchObject({ code: 'ERR_INVALID_EVENT_TYPE' });
    await expect(s.emit('a.b', {}, { endpointIds: ['ep_missing'] })).rejects.toBeInstanceOf(NotFoundError);
    await expect(s.emit('a.b', {}, { client: 42 } as never)).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('queries the log: filters, pages, idempotency, replay', async () => {
    const s = sender({ schema: newSchema(), autoStart: false });
    const a = await s.endpoints.add({ url: 'https://example.com/a', events: ['order.*'] });
    const b = await s.endpoints.add({ url: 'https://example.com/b' });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await s.emit('order.created', { i })).id);
    ids.push((await s.emit('user.created', { i: 5 })).id);

    const first = await s.events.list({ limit: 4 });
    expect(first.items.map((e) => e.id)).toEqual(ids.slice().reverse().slice(0, 4));
    const second = await s.events.list({ limit: 4, cursor: first.nextCursor! });
    expect(second.items.map((e) => e.id)).toEqual(ids.slice(0, 2).reverse());
    expect(second.nextCursor).toBeNull();
    expect((await s.events.list({ type: 'user.created' })).items.map((e) => e.id)).toEqual([ids[5]]);
    expect(await s.events.get(ids[0]!)).toMatchObject({ type: 'order.created', payload: { i: 0 } });

    expect((await s.deliveries.list({ endpointId: a.id })).items).toHaveLength(5);
    expect((await s.deliveries.list({ endpointId: b.id })).items).toHaveLength(6);
    expect((await s.deliveries.list({ eventType: 'user.created' })).items).toHaveLength(1);
    expect((await s.deliveries.list({ status: 'pending', limit: 1000 })).items).toHaveLength(11);
    const page = await s.deliveries.list({ limit: 10 });
    expect(page.nextCursor).not.toBeNull();
    expect((await s.deliveries.list({ limit: 10, cursor: page.nextCursor! })).items).toHaveLength(1);
    await expect(s.deliveries.list({ status: 'nope' as never })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(s.deliveries.get('dlv_999999')).rejects.toBeInstanceOf(NotFoundError);

    const once = await s.emit('order.paid', { n: 1 }, { idempotencyKey: 'k1' });
    const again = await s.emit('order.paid', { n: 2 }, { idempotencyKey: 'k1' });
    expect(again).toEqual(once);
    expect((await s.emit('order.paid', {}, { idempotencyKey: 'k1', tenant: 'other' })).id).not.toBe(once.id);

    expect(await s.events.replay(ids[0]!)).toBe(2);
    expect((await s.deliveries.list({ eventId: ids[0] })).items).toHaveLength(4);
    expect(await s.events.replay(ids[0]!, { endpointIds: [b.id] })).toBe(1);
    await expect(s.events.replay('evt_missing')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('retries on the schedule of an injected clock, and by hand', async () => {
    const clock = new ManualClock(Date.now());
    let answer = 500;
    const r = await receiver((_req, res) => res.writeHead(answer).end(String(answer)));
    const s = sender({ schema: newSchema(), clock, retry: [60_000], circuitBreaker: false });
    await s.endpoints.add({ url: r.url });
    const event = await s.emit('order.created', {});
    await r.waitFor(1);
    await s.drain();
    let delivery = (await s.deliveries.list({ eventId: event.id })).items[0]!;
    expect(delivery).toMatchObject({ status: 'pending', attemptCount: 1, lastStatusCode: 500 });
    const due = Date.parse(delivery.nextAttemptAt!) - clock.now();
    expect(due).toBeGreaterThanOrEqual(48_000);
    expect(due).toBeLessThanOrEqual(72_000);

    // Not before its time.
    clock.advance(due - 1_000);
    await s.drain();
    expect(r.requests).toHaveLength(1);

    clock.advance(1_000);
    await r.waitFor(2);
    await s.drain();
    delivery = (await s.deliveries.list({ eventId: event.id })).items[0]!;
    expect(delivery).toMatchObject({ status: 'failed', attemptCount: 2, nextAttemptAt: null });
    const notices: string[] = [];
    s.on('delivered', (n) => notices.push(n.deliveryId));

    answer = 200;
    expect((await s.deliveries.retry(delivery.id)).status).toBe('pending');
    await r.waitFor(3);
    await until(async () => (await s.deliveries.get(delivery.id)).status === 'succeeded');
    expect(notices).toEqual([delivery.id]);
    expect((await s.deliveries.get(delivery.id)).attempts.map((a) => a.statusCode)).toEqual([500, 500, 200]);
    await expect(s.deliveries.retry(delivery.id)).rejects.toMatchObject({ code: 'ERR_INVALID_STATE' });

    // Bulk: every failed delivery back to pending.
    answer = 500;
    const second = await s.emit('order.created', {});
    await r.waitFor(4);
    // The answer reaches the receiver before the sender records it: wait for the retry to be scheduled.
    await until(async () => (await s.deliveries.list({ eventId: second.id })).items[0]!.attemptCount === 1);
    clock.advance(80_000);
    await r.waitFor(5);
    await until(async () => (await s.deliveries.list({ eventId: second.id })).items[0]!.status === 'failed');
    answer = 200;
    expect(await s.deliveries.retryMany({ status: 'failed' })).toBe(1);
    await r.waitFor(6);
    await until(async () => (await s.stats()).succeeded === 2);
  });

  it('disables an endpoint that answers 410 Gone', async () => {
    const r = await receiver((_req, res) => res.writeHead(410).end());
    const s = sender({ schema: newSchema() });
    const endpoint = await s.endpoints.add({ url: r.url });
    const disabled = new Promise((resolve) => s.once('endpoint.disabled', resolve));
    await s.emit('order.created', {});
    expect(await disabled).toEqual({ endpointId: endpoint.id, reason: 'the endpoint answered 410 Gone' });
    expect(await s.endpoints.get(endpoint.id)).toMatchObject({ enabled: false });
    expect((await s.endpoints.health(endpoint.id)).consecutiveFailures).toBe(1);
  });

  it('two senders on two pools share one schema and deliver 500 events exactly once', async () => {
    const schema = newSchema();
    const r = await receiver((_req, res) => {
      setTimeout(() => res.writeHead(200).end(), 5);
    });
    const options = { schema, autoStart: false, concurrency: 8, pollInterval: 200 };
    const one = sender(options);
    const two = sender(options);
    await Promise.all([one.ready, two.ready]);
    await one.endpoints.add({ url: r.url, concurrency: 16 });
    const delivered = [0, 0];
    one.on('delivered', () => delivered[0]!++);
    two.on('delivered', () => delivered[1]!++);
    const emitted = new Set<string>();
    for (let batch = 0; batch < 5; batch++) {
      const items = Array.from({ length: 100 }, (_, i) => ({ type: 'two.senders', payload: { i } }));
      for (const e of await one.emitMany(items)) emitted.add(e.id);
    }
    await Promise.all([one.start(), two.start()]);
    await r.waitFor(500);
    await until(async () => {
      const stats = await one.stats();
      return stats.pending === 0 && stats.sending === 0;
    });
    await sleep(300);
    const ids = r.requests.map((req) => req.headers['webhook-id'] as string);
    expect(ids).toHaveLength(500);
    expect(new Set(ids)).toEqual(emitted);
    expect(delivered[0]! + delivered[1]!).toBe(500);
    expect(delivered[0]).toBeGreaterThan(0);
    expect(delivered[1]).toBeGreaterThan(0);
    expect(await two.stats()).toMatchObject({ succeeded: 500, pending: 0, sending: 0, failed: 0 });
  });

  it('migrates once when several senders start at once, and refuses a newer schema', async () => {
    const schema = newSchema();
    const racing = Array.from({ length: 4 }, () => sender({ schema, autoStart: false }));
    await Promise.all(racing.map((s) => s.ready));
    const pool = newPool();
    const { rows } = await pool.query(`SELECT version FROM "${schema}".migrations ORDER BY version`);
    expect(rows).toEqual(PG_MIGRATIONS.map((_, i) => ({ version: i + 1 })));
    expect(rows).toHaveLength(6);
    await racing[0]!.endpoints.add({ url: 'https://example.com/' });
    expect(await racing[3]!.endpoints.list()).toHaveLength(1);

    await pool.query(`INSERT INTO "${schema}".migrations (version, applied_at) VALUES (99, 0)`);
    const newer = sender({ schema, autoStart: false });
    await expect(newer.ready).rejects.toBeInstanceOf(SchemaVersionError);
    await expect(newer.endpoints.list()).rejects.toBeInstanceOf(SchemaVersionError);
  });

  it('migrate: false creates and changes nothing: a missing or older schema is refused', async () => {
    const pool = newPool();
    const absent = newSchema();
    const none = sender({ schema: absent, migrate: false, autoStart: false });
    await expect(none.ready).rejects.toMatchObject({
      name: 'SchemaVersionError',
      code: 'ERR_SCHEMA_MISSING',
    });
    const { rows } = await pool.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [absent]);
    expect(rows).toEqual([]);

    const schema = newSchema();
    const app = sender({ schema, autoStart: false });
    await app.ready;
    const ep = await app.endpoints.add({ url: 'https://example.com/' });
    const tool = sender({ schema, migrate: false, autoStart: false });
    expect((await tool.endpoints.get(ep.id)).url).toBe('https://example.com/');

    await pool.query(`DELETE FROM "${schema}".migrations WHERE version > 1`);
    const older = sender({ schema, migrate: false, autoStart: false });
    await expect(older.ready).rejects.toMatchObject({ code: 'ERR_SCHEMA_TOO_OLD', databaseVersion: 1 });
    const { rows: kept } = await pool.query(`SELECT version FROM "${schema}".migrations`);
    expect(kept).toEqual([{ version: 1 }]);
  });

  it('owns a pool made from a connection string, and checks its options', async () => {
    const s = sender({ schema: newSchema(), connectionString: PG_URL, autoStart: false });
    await s.ready;
    expect(await s.endpoints.list()).toEqual([]);
    await s.close();
    await expect(s.endpoints.list()).rejects.toMatchObject({ code: 'ERR_SENDER_CLOSED' });
    await expect(s.drain()).rejects.toMatchObject({ name: 'SenderClosedError', code: 'ERR_SENDER_CLOSED' });
    expect(() => new PgWebhookSender({ pool: newPool(), schema: 'bad-name' })).toThrow(InvalidOptionError);
    expect(() => new PgWebhookSender({ pool: newPool(), connectionString: PG_URL })).toThrow(
      InvalidOptionError,
    );
    expect(() => new PgWebhookSender({})).toThrow(InvalidOptionError);
    expect(() => new PgWebhookSender({ pool: newPool(), database: 'x.db' } as never)).toThrow(
      InvalidOptionError,
    );
    expect(() => new PgWebhookSender({ pool: newPool(), bogus: 1 } as never)).toThrow(InvalidOptionError);
  });

  it('prunes finished deliveries past retention', async () => {
    const clock = new ManualClock(Date.now());
    const r = await receiver();
    const s = sender({ schema: newSchema(), clock, retention: { succeeded: 1_000, failed: 1_000 } });
    await s.endpoints.add({ url: r.url });
    await s.emit('order.created', {});
    await s.emit('nobody.listens', {}, { endpointIds: [] });
    await r.waitFor(1);
    await until(async () => (await s.stats()).succeeded === 1);
    expect(await s.prune()).toEqual({ deliveries: 0, events: 0 });
    clock.advance(5_000);
    expect(await s.prune()).toEqual({ deliveries: 1, events: 2 });
    expect((await s.events.list()).items).toHaveLength(0);
  });
  it('records an attempt whose endpoint health row was reset between its creation and its lock', async () => {
    // The attempt fails: a batch that did not end in success is recorded by the statements that
    // lock the health rows (one that did needs no lock).
    const r = await receiver((_req, res) => {
      res.writeHead(500);
      res.end();
    });
    const s = sender({ schema: newSchema(), engine: 'inline', retry: [] });
    const errors: Error[] = [];
    s.on('error', (e) => errors.push(e));
    const ep = await s.endpoints.add({ url: r.url });
    // The lock finds no row for the endpoint, as when an endpoint update resets (deletes) its health row
    // between the record's insert of missing rows and its lock.
    const lockIn = PgHealthSql.prototype.lockIn;
    const spy = vi.spyOn(PgHealthSql.prototype, 'lockIn').mockImplementation(async function (
      this: PgHealthSql,
      ...args: Parameters<PgHealthSql['lockIn']>
    ) {
      const rows = await lockIn.apply(this, args);
      rows.delete(ep.id);
      return rows;
    });
    try {
      const emitted = await s.emit('order.created', { n: 1 });
      await s.drain();
      expect(spy).toHaveBeenCalled();
      expect(errors).toEqual([]);
      const [delivery] = (await s.deliveries.list({ eventId: emitted.id })).items;
      expect(delivery).toMatchObject({ status: 'failed', attemptCount: 1 });
      // Folded from a healthy endpoint, as for a row that was never there.
      expect(await s.endpoints.health(ep.id)).toMatchObject({ consecutiveFailures: 1, circuit: 'closed' });
    } finally {
      spy.mockRestore();
    }
  });
  it("a claim waits while another transaction holds its endpoint's claim lock, and claims once it is let go", async () => {
    const r = await receiver();
    const schema = newSchema();
    const s = sender({ schema, engine: 'inline', autoStart: false });
    const ep = await s.endpoints.add({ url: r.url });
    await s.emit('order.created', { n: 1 });
    const pool = newPool();
    const holder = await pool.connect();
    try {
      await holder.query('BEGIN');
      // The lock a claim of this endpoint takes (claim-sql.ts: the schema's key, then the endpoint's).
      await holder.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', [
        `hookline:claim:"${schema}"`,
        ep.id,
      ]);
      await s.start();
      await sleep(500);
      expect(r.requests).toHaveLength(0);
      await holder.query('COMMIT');
      await until(() => r.requests.length === 1);
    } finally {
      holder.release();
    }
  });
});
