import fs from 'node:fs';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { WebhookSender } from '../src/index.js';
import { PgWebhookSender } from '../src/postgres.js';
import { spawnLines } from './helpers/child.js';
import { CLI, cli, cliOnTerminal } from './helpers/cli.js';
import { dropSchema, PG_URL, probePostgres, uniqueSchema } from './helpers/postgres.js';
import { type Receiver, startReceiver } from './helpers/receiver.js';
import { tempDir } from './helpers/tmp.js';

// The real binary (dist/cli.js, package.json `bin`) run as a child process against real files
// and the real PostgreSQL; the deliveries it reads come from real receivers on 127.0.0.1.

const tmp = tempDir();
const receivers: Receiver[] = [];
afterAll(async () => {
  for (const r of receivers) await r.close();
  tmp.cleanup();
});

const ndjson = (text: string) =>
  text
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** A file with one endpoint answering 500 with a body, three events to it (failed), one to another (succeeded). */
async function outbox(name: string) {
  const failing = await startReceiver((_req, res) =>
    res.writeHead(500, { 'x-reason': 'down' }).end('{"err":"down"}'),
  );
  const healthy = await startReceiver();
  receivers.push(failing, healthy);
  const file = tmp.file(`${name}.db`);
  const s = new WebhookSender({ database: file, allowPrivateNetworks: true, retry: [], engine: 'inline' });
  const bad = s.endpoints.add({
    url: failing.url,
    events: ['order.*'],
    headers: { authorization: 'Bearer sekrit-token', 'x-team': 'blue' },
  });
  const good = s.endpoints.add({ url: healthy.url, events: ['user.*'], tenant: null });
  const orders = [1, 2, 3].map((n) => s.emit('order.created', { n }));
  const user = s.emit('user.created', { name: '<b>ann</b>' });
  await s.drain();
  await s.close();
  return { file, bad, good, orders, user, failing, healthy };
}

describe('hookline (the CLI) on a SQLite file', () => {
  it('lists, shows and changes endpoints; the secret is printed by add and rotate-secret only', async () => {
    const { file, bad } = await outbox('endpoints');
    const list = await cli(['--db', file, 'endpoints', 'list']);
    expect(list).toMatchObject({ code: 0, stderr: '' });
    expect(list.stdout).toMatch(/^ID\s+URL\s+STATE/);
    expect(list.stdout).toContain(bad.id);
    expect(list.stdout).not.toContain(bad.secret);

    const shown = await cli(['--db', file, '--json', 'endpoints', 'show', bad.id]);
    const json = JSON.parse(shown.stdout);
    expect(json).toMatchObject({
      id: bad.id,
      url: bad.url,
      headers: { authorization: '[redacted]', 'x-team': 'blue' },
    });
    expect(json).not.toHaveProperty('secret');
    expect(shown.stdout).not.toContain('sekrit-token');
    const table = await cli(['--db', file, 'endpoints', 'show', bad.id]);
    expect(table.stdout).not.toContain('sekrit-token');
    expect(table.stdout).not.toContain(bad.secret);

    const added = await cli([
      '--db',
      file,
      '--json',
      '--allow-private-networks',
      'endpoints',
      'add',
      '--url',
      'http://127.0.0.1:9/hooks',
      '--events',
      'order.*,user.*',
      '--header',
      'X-Team: red',
      '--tenant',
      'acme',
      '--concurrency',
      '2',
    ]);
    expect(added.code).toBe(0);
    const created = JSON.parse(added.stdout);
    expect(created).toMatchObject({
      events: ['order.*', 'user.*'],
      tenant: 'acme',
      concurrency: 2,
      headers: { 'x-team': 'red' },
    });
    expect(created.secret).toMatch(/^whsec_/);
    const app = new WebhookSender({ database: file, autoStart: false });
    expect(app.endpoints.get(created.id).secret).toBe(created.secret);
    await app.close();

    const updated = await cli([
      '--db',
      file,
      '--json',
      'endpoints',
      'update',
      created.id,
      '--events',
      'invoice.paid',
      '--fifo',
    ]);
    expect(JSON.parse(updated.stdout)).toMatchObject({ events: ['invoice.paid'], ordering: 'fifo' });
    const disabled = await cli([
      '--db',
      file,
      '--json',
      'endpoints',
      'disable',
      created.id,
      '--reason',
      'asked',
    ]);
    expect(JSON.parse(disabled.stdout)).toMatchObject({ enabled: false, disabledReason: 'asked' });
    expect(
      JSON.parse((await cli(['--db', file, '--json', 'endpoints', 'enable', created.id])).stdout),
    ).toMatchObject({
      enabled: true,
    });
    const rotated = JSON.parse(
      (await cli(['--db', file, '--json', 'endpoints', 'rotate-secret', created.id])).stdout,
    );
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(created.secret);
    const tenantOnly = ndjson(
      (await cli(['--db', file, '--json', 'endpoints', 'list', '--tenant', 'acme'])).stdout,
    );
    expect(tenantOnly.map((e) => e.id)).toEqual([created.id]);
    expect(JSON.stringify(tenantOnly)).not.toContain(rotated.secret);

    const health = JSON.parse((await cli(['--db', file, '--json', 'endpoints', 'health', bad.id])).stdout);
    expect(health).toMatchObject({
      id: bad.id,
      consecutiveFailures: 3,
      attemptsLastHour: 3,
      successRateLastHour: 0,
    });
  });

  it('lists and shows events and deliveries, with filters, pages and every attempt', async () => {
    const { file, bad, good, orders, user } = await outbox('log');
    const failed = ndjson(
      (await cli(['--db', file, '--json', 'deliveries', 'list', '--status', 'failed'])).stdout,
    );
    expect(failed.map((d) => d.eventId)).toEqual(orders.map((o) => o.id).reverse());
    const byEndpoint = ndjson(
      (await cli(['--db', file, '--json', 'deliveries', 'list', '--endpoint', good.id])).stdout,
    );
    expect(byEndpoint).toEqual([expect.objectContaining({ eventId: user.id, status: 'succeeded' })]);
    expect(
      ndjson(
        (await cli(['--db', file, '--json', 'deliveries', 'list', '--since', '1h', '--type', 'user.created']))
          .stdout,
      ),
    ).toHaveLength(1);
    expect((await cli(['--db', file, '--json', 'deliveries', 'list', '--until', '1h'])).stdout).toBe('');

    const first = await cli(['--db', file, '--json', 'deliveries', 'list', '--limit', '2']);
    expect(ndjson(first.stdout)).toHaveLength(2);
    const cursor = /--cursor (\S+)/.exec(first.stderr)![1]!;
    const second = ndjson(
      (await cli(['--db', file, '--json', 'deliveries', 'list', '--limit', '2', '--cursor', cursor])).stdout,
    );
    expect(second).toHaveLength(2);
    expect(new Set([...ndjson(first.stdout), ...second].map((d) => d.id)).size).toBe(4);

    const shown = await cli(['--db', file, 'deliveries', 'show', failed[0]!.id as string]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/status\s+failed/);
    expect(shown.stdout).toMatch(/#1 .* ms {2}500/);
    expect(shown.stdout).toContain('x-reason: down');
    expect(shown.stdout).toContain('{"err":"down"}');
    const json = JSON.parse(
      (await cli(['--db', file, '--json', 'deliveries', 'show', failed[0]!.id as string])).stdout,
    );
    expect(json.attempts).toEqual([
      expect.objectContaining({ number: 1, statusCode: 500, responseBody: '{"err":"down"}' }),
    ]);

    const events = ndjson(
      (await cli(['--db', file, '--json', 'events', 'list', '--type', 'order.created'])).stdout,
    );
    expect(events.map((e) => e.id)).toEqual(orders.map((o) => o.id).reverse());
    const event = await cli(['--db', file, 'events', 'show', user.id]);
    expect(event.stdout).toContain('"name": "<b>ann</b>"');
    expect(event.stdout).toContain(good.id);
    expect(event.stdout).not.toContain(bad.id);
  });

  it('retries by id and in bulk (with --dry-run), recovers, replays and prunes', async () => {
    const { file, bad, orders, user } = await outbox('actions');
    const app = new WebhookSender({
      database: file,
      autoStart: false,
      allowPrivateNetworks: true,
      retry: [],
      circuitBreaker: false,
      engine: 'inline',
    });
    const ids = app.deliveries.list({ status: 'failed' }).items.map((d) => d.id);
    const dry = await cli([
      '--db',
      file,
      'retry',
      '--status',
      'failed',
      '--endpoint',
      bad.id,
      '--since',
      '1h',
      '--dry-run',
    ]);
    expect(dry).toMatchObject({
      code: 0,
      stdout: '3 deliveries would be retried (dry run: nothing changed)\n',
    });
    expect(app.stats()).toMatchObject({ failed: 3, pending: 0 });

    expect((await cli(['--db', file, 'retry', ids[0]!])).stdout).toBe('1 delivery retried\n');
    expect(app.deliveries.get(ids[0]!).status).toBe('pending');
    const bulk = await cli([
      '--db',
      file,
      '--json',
      'retry',
      '--status',
      'failed',
      '--type',
      'order.created',
    ]);
    expect(JSON.parse(bulk.stdout)).toEqual({ retried: 2 });
    expect(app.stats()).toMatchObject({ failed: 0, pending: 3 });

    const replayed = await cli(['--db', file, 'replay', user.id]);
    expect(replayed.stdout).toBe('1 delivery created\n');
    expect(app.deliveries.list({ eventId: user.id }).items).toHaveLength(2);

    // Back to failed (the application's sender delivers to the 500 receiver), then recovered.
    app.start();
    await app.drain();
    expect(app.stats().failed).toBe(3);
    const recovered = await cli(['--db', file, '--json', 'recover', bad.id, '--since', '1h']);
    expect(JSON.parse(recovered.stdout)).toEqual({ retried: 3 });
    // The application's sender sees rows another process changed at its next poll.
    for (let i = 0; i < 100 && app.stats().failed < 3; i++) await new Promise((r) => setTimeout(r, 50));
    expect(app.stats()).toMatchObject({ failed: 3, pending: 0 });
    expect(app.deliveries.get(ids[0]!).attemptCount).toBe(3);
    expect(orders).toHaveLength(3);

    const pruned = await cli(['--db', file, '--json', 'prune', '--succeeded', '0s', '--failed', '0s']);
    expect(JSON.parse(pruned.stdout)).toEqual({ deliveries: 5, events: 4 });
    expect(app.stats()).toMatchObject({ succeeded: 0, failed: 0 });
    await app.close();
  });

  it('stats, once as a table and once as JSON', async () => {
    const { file } = await outbox('stats');
    const table = await cli(['--db', file, 'stats']);
    expect(table.stdout).toMatch(/^pending\s+0$/m);
    expect(table.stdout).toMatch(/^failed\s+3$/m);
    const json = JSON.parse((await cli(['--db', file, '--json', 'stats'])).stdout);
    expect(json).toEqual({
      pending: 0,
      sending: 0,
      succeeded: 1,
      failed: 3,
      oldestPendingAgeMs: 0,
      openCircuits: [],
    });
    // HOOKLINE_DB instead of --db.
    expect(JSON.parse((await cli(['--json', 'stats'], { HOOKLINE_DB: file })).stdout)).toEqual(json);
  });

  it('exits 2 on usage errors and 1 on failures, with one line naming the flag or id', async () => {
    const { file } = await outbox('errors');
    const before = fs.readFileSync(file);
    const cases: [string[], number, RegExp][] = [
      [['stats'], 2, /^hookline: --db: say which database/],
      [['--db', tmp.file('none.db'), 'stats'], 2, /^hookline: No database at .*none\.db/],
      [['--db', file, 'deliveries', 'list', '--status', 'lost'], 2, /^hookline: --status: expected one of/],
      [
        ['--db', file, 'deliveries', 'list', '--since', 'yesterday'],
        2,
        /^hookline: --since: expected a duration/,
      ],
      [
        ['--db', file, 'deliveries', 'list', '--limit', '0'],
        2,
        /^hookline: --limit: expected a whole number/,
      ],
      [['--db', file, 'endpoints', 'add', '--url', 'ftp://x'], 2, /^hookline: .*url/i],
      [['--db', file, 'endpoints', 'add'], 2, /required option '--url <url>'/],
      [['--db', file, 'frobnicate'], 2, /unknown command 'frobnicate'/],
      [['--db', file, 'retry'], 2, /^hookline: --status: give delivery ids, or --status failed/],
      [['--db', file, 'deliveries', 'show', 'dlv_999'], 1, /^hookline: No delivery with id `dlv_999`/],
      [['--db', file, 'endpoints', 'show', 'ep_nope'], 1, /^hookline: No endpoint with id `ep_nope`/],
      [['--db', file, '--schema', 'x', 'stats'], 2, /^hookline: --schema is for PostgreSQL/],
    ];
    for (const [args, code, message] of cases) {
      const run = await cli(args);
      expect({ args, code: run.code }).toEqual({ args, code });
      expect(run.stderr.split('\n')[0], args.join(' ')).toMatch(message);
      expect(run.stdout).toBe('');
    }
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    const help = await cli(['retry', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('$ hookline retry --status failed');
  });

  it('never creates or changes a schema: one it did not make, or a newer one, is refused as it is', async () => {
    const foreign = tmp.file('foreign.db');
    const db = new Database(foreign);
    db.exec('CREATE TABLE orders (id INTEGER PRIMARY KEY)');
    db.close();
    const run = await cli(['--db', foreign, 'stats']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^hookline: The database holds no hookline schema/);
    const tables = new Database(foreign).prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all();
    expect(tables).toEqual([{ name: 'orders' }]);

    const { file } = await outbox('newer');
    const raw = new Database(file);
    raw.prepare('INSERT INTO hookline_migrations (version, applied_at) VALUES (99, 0)').run();
    raw.close();
    const newer = await cli(['--db', file, 'stats']);
    expect(newer.code).toBe(1);
    expect(newer.stderr).toMatch(/schema version 99, .*upgrade hookline/);
  });

  it('tail prints the attempts another process makes, as it makes them, until stopped', async () => {
    const { file, failing } = await outbox('tail');
    const tail = spawnLines([CLI, '--db', file, '--json', 'tail', '--interval', '50'], {
      label: 'hookline tail',
      timeoutMs: 15_000,
      env: { NO_COLOR: '1' },
    });
    try {
      // It starts after what is already logged: the three old failures are not printed. It says on
      // stderr when it follows: the new attempt comes after that.
      const deadline = Date.now() + 15_000;
      while (!tail.stderr().includes('following new attempts')) {
        if (Date.now() > deadline) throw new Error(`hookline tail never said it follows: ${tail.stderr()}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const app = new WebhookSender({
        database: file,
        allowPrivateNetworks: true,
        retry: [],
        engine: 'inline',
      });
      const event = app.emit('order.created', { n: 'live' });
      await app.drain();
      await app.close();
      const line = await tail.waitForLine((l) => l.includes(event.id));
      expect(JSON.parse(line)).toMatchObject({
        eventId: event.id,
        statusCode: 500,
        number: 1,
        eventType: 'order.created',
      });
      expect(tail.lines).toHaveLength(1);
      expect(failing.requests.length).toBeGreaterThanOrEqual(4);
    } finally {
      tail.proc.kill('SIGINT');
    }
    expect(await tail.exited).toEqual({ code: 0, signal: null });
  });

  it('dashboard serves the pages on loopback until stopped, read-only unless --actions', async () => {
    const { file, bad } = await outbox('dashboard');
    for (const actions of [false, true]) {
      const served = spawnLines(
        [CLI, '--db', file, 'dashboard', '--port', '0', ...(actions ? ['--actions'] : [])],
        {
          label: 'hookline dashboard',
          timeoutMs: 15_000,
        },
      );
      try {
        const line = await served.waitForLine((l) => l.startsWith('hookline dashboard on '));
        const url = /http:\/\/127\.0\.0\.1:\d+\//.exec(line)![0];
        expect(line.includes('read-only')).toBe(!actions);
        const overview = await fetch(url);
        expect(overview.status).toBe(200);
        expect(await overview.text()).toContain('<h1>Overview</h1>');
        const endpoint = await (await fetch(`${url}endpoints/${bad.id}`)).text();
        expect(endpoint.includes('method="post"')).toBe(actions);
      } finally {
        served.proc.kill('SIGINT');
      }
      expect(await served.exited).toEqual({ code: 0, signal: null });
    }
    const refused = await cli(['--db', file, 'dashboard', '--host', '0.0.0.0']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^hookline: --host: serves on loopback only/);
  });

  it('on a terminal: colours, and a progress bar while retrying in bulk; neither through a pipe', async () => {
    const { file } = await outbox('terminal');
    const tty = await cliOnTerminal(['--db', file, 'retry', '--status', 'failed']);
    expect(tty.code).toBe(0);
    // `script` merges the pseudo-terminal's output: the bar (stderr) and the count (stdout).
    expect(tty.stdout).toMatch(/retrying \[[█░]+\] 3\/3 deliveries/);
    expect(tty.stdout).toContain('3 deliveries retried');
    const listed = await cliOnTerminal(['--db', file, 'deliveries', 'list']);
    expect(listed.stdout).toContain('\u001b[');
    const piped = await cli(['--db', file, 'deliveries', 'list']);
    expect(piped.stdout).not.toContain('\u001b[');
    expect(piped.stdout).toMatch(/pending/);
  });
});

const postgres = await probePostgres();
describe.skipIf(!postgres.available)(
  `hookline (the CLI) on PostgreSQL${postgres.available ? '' : ` (skipped: ${postgres.reason})`}`,
  () => {
    const schemas: string[] = [];
    afterEach(async () => {
      for (const schema of schemas.splice(0)) await dropSchema(schema);
    });

    it('reads and retries through --db postgres://… --schema, and refuses a schema it did not make', async () => {
      const failing = await startReceiver((_req, res) => res.writeHead(500).end('no'));
      receivers.push(failing);
      const schema = uniqueSchema('cli');
      schemas.push(schema);
      const pool = new pg.Pool({ connectionString: PG_URL });
      const app = new PgWebhookSender({ pool, schema, allowPrivateNetworks: true, retry: [] });
      const ep = await app.endpoints.add({ url: failing.url });
      const event = await app.emit('order.created', { n: 1 });
      await app.drain();
      const db = ['--db', PG_URL, '--schema', schema];
      try {
        const stats = JSON.parse((await cli([...db, '--json', 'stats'])).stdout);
        expect(stats).toMatchObject({ failed: 1, pending: 0 });
        const [delivery] = ndjson(
          (await cli([...db, '--json', 'deliveries', 'list', '--endpoint', ep.id])).stdout,
        );
        expect(delivery).toMatchObject({ eventId: event.id, status: 'failed' });
        const shown = await cli([...db, 'deliveries', 'show', delivery!.id as string]);
        expect(shown.stdout).toMatch(/#1 .* 500/);
        expect(JSON.parse((await cli([...db, '--json', 'retry', '--status', 'failed'])).stdout)).toEqual({
          retried: 1,
        });
        await app.drain();
        expect(failing.requests).toHaveLength(2);

        const absent = uniqueSchema('none');
        const refused = await cli(['--db', PG_URL, '--schema', absent, 'stats']);
        expect(refused.code).toBe(1);
        expect(refused.stderr).toMatch(/^hookline: The schema `.*` holds no hookline schema/);
        const { rows } = await pool.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [absent]);
        expect(rows).toEqual([]);
      } finally {
        await app.close();
        await pool.end();
      }
    });
  },
);
