import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { build } from 'tsup';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SchemaVersionError, StoreError, WebhookError, WebhookSender } from '../src/index.js';
import { MIGRATIONS } from '../src/store/sqlite/schema.js';
import { catchError, cleanups } from './helpers/sender.js';
import { tempDir } from './helpers/tmp.js';

// Every connection better-sqlite3 opens in this file, the sender's own included,
// so the pragmas of a connection the sender owns can be read from it.
const opened = vi.hoisted(() => [] as import('better-sqlite3').Database[]);
vi.mock('better-sqlite3', async (importOriginal) => {
  const actual = await importOriginal<{ default: typeof import('better-sqlite3') }>();
  const Original = actual.default;
  class Tracked extends Original {
    constructor(...args: ConstructorParameters<typeof Original>) {
      super(...args);
      opened.push(this);
    }
  }
  return { ...actual, default: Tracked };
});

const LATEST = MIGRATIONS.length;
const TABLES = [
  'activity',
  'attempts',
  'deliveries',
  'endpoint_changes',
  'endpoint_health',
  'endpoint_minutes',
  'endpoints',
  'events',
  'fanout',
  'meta',
  'migrations',
  'rate_buckets',
];

function temp() {
  const tmp = tempDir();
  cleanups.push(tmp.cleanup);
  return tmp;
}

function appDb(file = ':memory:'): Database.Database {
  const db = new Database(file);
  cleanups.push(() => db.open && db.close());
  return db;
}

/** Opens a sender and returns the connection it opened for itself. */
function openOwned(database: string, options: { tablePrefix?: string } = {}) {
  const before = opened.length;
  const sender = new WebhookSender({ database, autoStart: false, ...options });
  cleanups.push(() => sender.close());
  const own = opened.slice(before);
  expect(own).toHaveLength(1);
  return { sender, db: own[0]! };
}

function tableNames(db: Database.Database): string[] {
  return (
    // SQLite's own bookkeeping (sqlite_sequence, were a table to use AUTOINCREMENT) left out.
    (
      db
        .prepare(
          `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`,
        )
        .all() as {
        name: string;
      }[]
    ).map((r) => r.name)
  );
}

function migrationRows(db: Database.Database, prefix = 'hookline_') {
  return db.prepare(`SELECT version, applied_at FROM ${prefix}migrations ORDER BY version`).all() as {
    version: number;
    applied_at: number;
  }[];
}

describe('a database path: the sender owns the connection', () => {
  it('sets WAL, synchronous NORMAL, a busy timeout and no auto-checkpoint', () => {
    const file = temp().file();
    const { db } = openOwned(file);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBeGreaterThanOrEqual(1_000);
    // Checkpoints belong to the dispatcher, not to whichever emit crosses the threshold.
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    // A new file lets retention give pages back: 2 = INCREMENTAL.
    expect(db.pragma('auto_vacuum', { simple: true })).toBe(2);
    // A WAL that grew while the dispatcher was busy is cut back to 4 MiB once it restarts, by the
    // commit that starts it over, whichever connection makes it (the application's, the engine's).
    expect(db.pragma('journal_size_limit', { simple: true })).toBe(4 * 1024 * 1024);
  });

  it('cuts a WAL that grew back to 4 MiB once it restarts', () => {
    const { db } = openOwned(temp().file());
    expect(db.pragma('journal_size_limit', { simple: true })).toBe(4 * 1024 * 1024);
    db.exec('CREATE TABLE filler (b BLOB)');
    db.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 6000)
       INSERT INTO filler SELECT randomblob(1024) FROM n`,
    ).run();
    const wal = () => fs.statSync(`${db.name}-wal`).size;
    expect(wal()).toBeGreaterThan(8 * 1024 * 1024);
    db.pragma('wal_checkpoint(PASSIVE)');
    db.prepare("INSERT INTO filler VALUES (x'00')").run();
    expect(wal()).toBeLessThanOrEqual(4 * 1024 * 1024);
  });

  it('the file is left in WAL mode, as a fresh connection sees', () => {
    const file = temp().file();
    openOwned(file);
    const fresh = appDb(file);
    expect(fresh.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(tableNames(fresh)).toEqual(TABLES.map((t) => `hookline_${t}`));
  });

  it('close() closes the connection it opened; a second close() is harmless', async () => {
    const file = temp().file();
    const { sender, db } = openOwned(file);
    sender.emit('a', 1);
    await sender.close();
    expect(db.open).toBe(false);
    await sender.close();
    // Everything was committed: a new connection sees the event.
    const fresh = appDb(file);
    expect(fresh.prepare('SELECT count(*) AS n FROM hookline_events').get()).toEqual({ n: 1 });
  });

  it("':memory:' is a private database with synchronous NORMAL", async () => {
    const { sender, db } = openOwned(':memory:');
    expect(db.memory).toBe(true);
    expect(db.pragma('synchronous', { simple: true })).toBe(1);
    expect(tableNames(db)).toEqual(TABLES.map((t) => `hookline_${t}`));
    const other = openOwned(':memory:');
    sender.emit('a', 1);
    expect(other.sender.events.list().items).toEqual([]);
    await sender.close();
    expect(db.open).toBe(false);
  });

  it('a path that cannot be opened is a StoreError', () => {
    const file = path.join(temp().dir, 'missing-dir', 'webhooks.db');
    const error = catchError(() => new WebhookSender({ database: file, autoStart: false }));
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toBeInstanceOf(WebhookError);
    expect(error).toMatchObject({ code: 'ERR_STORE' });
    expect((error as Error).message).toContain(file);
    expect((error as Error).cause).toBeInstanceOf(Error);
  });

  it('a file that is not a SQLite database is a StoreError, and the connection is closed', () => {
    const file = temp().file();
    fs.writeFileSync(file, 'this is not a database, just text long enough to have a header'.repeat(20));
    const before = opened.length;
    const error = catchError(() => new WebhookSender({ database: file, autoStart: false }));
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ code: 'ERR_STORE' });
    expect((error as Error).cause).toMatchObject({ code: 'SQLITE_NOTADB' });
    expect(opened.slice(before).map((db) => db.open)).toEqual([false]);
  });
});

describe("the application's own better-sqlite3 Database", () => {
  it('gets hookline_ tables next to its own and stays open after close()', async () => {
    const db = appDb(temp().file('app.db'));
    db.exec('CREATE TABLE orders (id INTEGER PRIMARY KEY)');
    const sender = new WebhookSender({ database: db, autoStart: false });
    sender.endpoints.add({ url: 'https://example.com/h' });
    sender.emit('a', 1);
    await sender.close();
    expect(db.open).toBe(true);
    expect(tableNames(db)).toEqual([...TABLES.map((t) => `hookline_${t}`), 'orders']);
    expect(db.prepare('SELECT count(*) AS n FROM hookline_events').get()).toEqual({ n: 1 });
    db.prepare('INSERT INTO orders (id) VALUES (1)').run();
  });

  it('is not reconfigured: its journal mode and synchronous setting stay as the app set them', async () => {
    const db = appDb(temp().file('app.db'));
    db.pragma('synchronous = FULL');
    const sender = new WebhookSender({ database: db, autoStart: false });
    cleanups.push(() => sender.close());
    expect(db.pragma('journal_mode', { simple: true })).toBe('delete');
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
  });

  it('tablePrefix names the tables, and two prefixes keep separate outboxes', async () => {
    const db = appDb();
    const a = new WebhookSender({ database: db, autoStart: false, tablePrefix: 'webhooks_' });
    const b = new WebhookSender({ database: db, autoStart: false });
    cleanups.push(
      () => a.close(),
      () => b.close(),
    );
    expect(tableNames(db)).toEqual([
      ...TABLES.map((t) => `hookline_${t}`),
      ...TABLES.map((t) => `webhooks_${t}`),
    ]);
    a.endpoints.add({ url: 'https://example.com/h' });
    const ev = a.emit('a', 1);
    expect(ev.deliveries).toBe(1);
    expect(b.events.list().items).toEqual([]);
    expect(b.endpoints.list()).toEqual([]);
    expect(b.emit('a', 1).deliveries).toBe(0);
    expect(db.prepare('SELECT id FROM webhooks_events').all()).toEqual([{ id: ev.id }]);
    expect(migrationRows(db, 'webhooks_').map((r) => r.version)).toEqual(
      Array.from({ length: LATEST }, (_, i) => i + 1),
    );
  });

  it('a tablePrefix on a file the sender owns', () => {
    const { db } = openOwned(temp().file(), { tablePrefix: 'hl' });
    expect(tableNames(db)).toEqual(TABLES.map((t) => `hl${t}`));
  });

  it('a read-only application handle that needs migrating is a StoreError, left open', () => {
    const file = temp().file();
    appDb(file).close();
    const db = new Database(file, { readonly: true });
    cleanups.push(() => db.close());
    const error = catchError(() => new WebhookSender({ database: db, autoStart: false }));
    expect(error).toBeInstanceOf(StoreError);
    expect((error as Error).cause).toMatchObject({ code: 'SQLITE_READONLY' });
    expect(db.open).toBe(true);
  });
});

describe('migrations', () => {
  it('are numbered from 1 and each recorded once in hookline_migrations', () => {
    // 1: the outbox; 2: fairness, circuit breaking, ordering; 3: limits shared by every process;
    // 4: fan-out off the emit path; 5: activity per minute; 6: the endpoints' change log.
    expect(LATEST).toBe(6);
    const { db } = openOwned(':memory:');
    const rows = migrationRows(db);
    expect(rows.map((r) => r.version)).toEqual(Array.from({ length: LATEST }, (_, i) => i + 1));
    for (const row of rows) expect(Number.isInteger(row.applied_at)).toBe(true);
  });

  it('do not run again when the database is reopened, and the data stays', async () => {
    const file = temp().file();
    const first = new WebhookSender({ database: file, autoStart: false });
    const ep = first.endpoints.add({ url: 'https://example.com/h' });
    const ev = first.emit('a', { kept: true });
    await first.close();
    const before = migrationRows(appDb(file));

    const second = new WebhookSender({ database: file, autoStart: false });
    cleanups.push(() => second.close());
    expect(migrationRows(appDb(file))).toEqual(before);
    expect(second.endpoints.get(ep.id).secret).toBe(ep.secret);
    expect(second.events.get(ev.id).payload).toEqual({ kept: true });
  });

  it('run inside a transaction the application has open, and roll back with it', () => {
    const db = appDb();
    db.transaction(() => {
      const sender = new WebhookSender({ database: db, autoStart: false });
      void sender.close();
      expect(tableNames(db)).toContain('hookline_events');
    })();
    expect(migrationRows(db)).toHaveLength(LATEST);
  });

  it('migrate: false creates and changes nothing: a missing file, schema or version is refused', async () => {
    const dir = temp();
    const missing = dir.file('missing.db');
    expect(catchError(() => new WebhookSender({ database: missing, migrate: false }))).toBeInstanceOf(
      StoreError,
    );
    expect(fs.existsSync(missing)).toBe(false);

    const empty = dir.file('empty.db');
    new Database(empty).close();
    const none = catchError(() => new WebhookSender({ database: empty, migrate: false, autoStart: false }));
    expect(none).toMatchObject({
      name: 'SchemaVersionError',
      code: 'ERR_SCHEMA_MISSING',
      databaseVersion: 0,
    });
    expect(tableNames(appDb(empty))).toEqual([]);

    const older = dir.file('older.db');
    const db = new Database(older);
    db.exec(`CREATE TABLE hookline_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`);
    db.exec(MIGRATIONS[0]!.replaceAll('{p}', 'hookline_'));
    db.prepare('INSERT INTO hookline_migrations (version, applied_at) VALUES (1, 0)').run();
    db.close();
    const old = catchError(() => new WebhookSender({ database: older, migrate: false, autoStart: false }));
    expect(old).toMatchObject({ code: 'ERR_SCHEMA_TOO_OLD', databaseVersion: 1, libraryVersion: LATEST });
    expect(migrationRows(appDb(older)).map((r) => r.version)).toEqual([1]);

    const current = dir.file('current.db');
    const app = new WebhookSender({ database: current, autoStart: false });
    const ep = app.endpoints.add({ url: 'https://example.com/h' });
    await app.close();
    const tool = new WebhookSender({ database: current, migrate: false, autoStart: false });
    cleanups.push(() => tool.close());
    expect(tool.endpoints.get(ep.id).url).toBe('https://example.com/h');
    expect(catchError(() => new WebhookSender({ migrate: 'no' } as never))).toMatchObject({
      code: 'ERR_INVALID_OPTION',
    });
  });

  it('2 upgrades a database made by migration 1, keeping its rows', async () => {
    const db = appDb();
    db.exec(`CREATE TABLE hookline_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`);
    db.exec(MIGRATIONS[0]!.replaceAll('{p}', 'hookline_'));
    db.prepare('INSERT INTO hookline_migrations (version, applied_at) VALUES (1, 0)').run();
    db.prepare(
      `INSERT INTO hookline_endpoints (id, url, events, tenant, secret, headers, description, metadata, enabled,
         created_at, updated_at)
       VALUES ('ep_old', 'https://example.com/h', '["*"]', NULL, ?, '{}', NULL, '{}', 1, 0, 0)`,
    ).run(`whsec_${Buffer.alloc(32, 1).toString('base64')}`);
    db.prepare(
      `INSERT INTO hookline_events (seq, id, type, tenant, idempotency_key, payload, created_at)
       VALUES (1, 'evt_old', 'a.b', NULL, NULL, '{"n":1}', 0)`,
    ).run();
    db.prepare(
      `INSERT INTO hookline_deliveries (seq, event_seq, endpoint_id, status, attempt_count, next_attempt_at,
         created_at, updated_at)
       VALUES (1, 1, 'ep_old', 'pending', 2, 5, 0, 0)`,
    ).run();

    const sender = new WebhookSender({ database: db, autoStart: false });
    cleanups.push(() => sender.close());
    expect(migrationRows(db).map((r) => r.version)).toEqual(Array.from({ length: LATEST }, (_, i) => i + 1));
    expect(tableNames(db)).toEqual(TABLES.map((t) => `hookline_${t}`));
    expect(sender.endpoints.get('ep_old')).toMatchObject({
      concurrency: null,
      rateLimit: null,
      ordering: 'none',
    });
    expect(sender.events.get('evt_old')).toMatchObject({ orderingKey: null, payload: { n: 1 } });
    expect(db.prepare('SELECT ordering_key, series_start FROM hookline_deliveries').all()).toEqual([
      { ordering_key: null, series_start: 0 },
    ]);
    expect(sender.deliveries.list().items).toMatchObject([{ status: 'pending', attemptCount: 2 }]);
    // The due index now keeps first attempts and retries apart.
    const { sql } = db
      .prepare(`SELECT sql FROM sqlite_master WHERE name = 'hookline_deliveries_due'`)
      .get() as { sql: string };
    expect(sql).toContain('min(attempt_count, 1)');
    expect(sender.endpoints.health('ep_old')).toMatchObject({ circuit: 'closed', consecutiveFailures: 0 });
  });

  describe('a schema newer than the code', () => {
    function tooNew(db: Database.Database): void {
      new WebhookSender({ database: db, autoStart: false }).close();
      db.prepare('INSERT INTO hookline_migrations (version, applied_at) VALUES (999, 0)').run();
    }

    it('refuses an owned file with SchemaVersionError ERR_SCHEMA_TOO_NEW and closes it', () => {
      const file = temp().file();
      const setup = appDb(file);
      tooNew(setup);
      setup.close();
      const before = opened.length;
      const error = catchError(() => new WebhookSender({ database: file, autoStart: false }));
      expect(error).toBeInstanceOf(SchemaVersionError);
      expect(error).toBeInstanceOf(WebhookError);
      expect(error).toMatchObject({
        code: 'ERR_SCHEMA_TOO_NEW',
        databaseVersion: 999,
        libraryVersion: LATEST,
      });
      expect((error as Error).message).toMatch(/upgrade hookline/);
      // The connection it opened for the attempt was closed again.
      expect(opened.slice(before).map((db) => db.open)).toEqual([false]);
      // Nothing was changed.
      expect(migrationRows(appDb(file)).map((r) => r.version)).toEqual([
        ...Array.from({ length: LATEST }, (_, i) => i + 1),
        999,
      ]);
    });

    it("refuses the application's handle, and leaves it open", () => {
      const db = appDb();
      tooNew(db);
      const error = catchError(() => new WebhookSender({ database: db, autoStart: false }));
      expect(error).toBeInstanceOf(SchemaVersionError);
      expect(error).toMatchObject({ code: 'ERR_SCHEMA_TOO_NEW' });
      expect(db.open).toBe(true);
      expect(migrationRows(db).at(-1)?.version).toBe(999);
    });

    it('refuses it inside an open transaction too', () => {
      const db = appDb();
      tooNew(db);
      const error = catchError(() =>
        db.transaction(() => new WebhookSender({ database: db, autoStart: false }))(),
      );
      expect(error).toBeInstanceOf(SchemaVersionError);
    });
  });
});

// ---------------------------------------------------------------------------
// Several processes on one file. The children are plain node processes, so they
// import a bundle of the current sources, built for this file alone: `dist/`
// may be stale, and other test files rebuild (and briefly delete) it.

const root = fileURLToPath(new URL('..', import.meta.url));
const bundleDir = tempDir();
const bundle = path.join(bundleDir.dir, 'out', 'index.js');

interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Starts `count` node processes running `script` with `args`. Each prints
 * "ready" once loaded; when all are, they are all sent the same start time,
 * a few ms ahead, and begin together at it.
 */
async function runTogether(
  script: string,
  count: number,
  args: (i: number) => string[],
): Promise<ChildResult[]> {
  const children: ChildProcess[] = [];
  const results: Promise<ChildResult>[] = [];
  const ready: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const child = spawn(process.execPath, [script, ...args(i)], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(child);
    let stdout = '';
    let stderr = '';
    let signalReady: () => void;
    ready.push(new Promise<void>((resolve) => (signalReady = resolve)));
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.startsWith('ready\n')) signalReady();
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    results.push(
      new Promise((resolve) => {
        child.on('close', (code) => {
          signalReady();
          resolve({ code, stdout: stdout.replace(/^ready\n/, ''), stderr });
        });
      }),
    );
  }
  cleanups.push(() => {
    for (const child of children) if (child.exitCode === null) child.kill();
  });
  await Promise.all(ready);
  const startAt = Date.now() + 50;
  for (const child of children) child.stdin!.end(`${startAt}\n`);
  return Promise.all(results);
}

function childScript(dir: string, body: string): string {
  const file = path.join(dir, 'child.mjs');
  const source = [
    `const { WebhookSender } = await import(${JSON.stringify(pathToFileURL(bundle).href)});`,
    `const [file, n] = process.argv.slice(2);`,
    `const clock = () => performance.timeOrigin + performance.now();`,
    `process.stdout.write('ready\\n');`,
    `const startAt = Number(String(await new Promise((resolve) => process.stdin.once('data', resolve))));`,
    `process.stdin.destroy();`,
    `while (clock() < startAt) {}`,
    `try {`,
    body,
    `} catch (error) {`,
    `  console.error(error?.code, error?.stack ?? error);`,
    `  process.exitCode = 1;`,
    `}`,
  ].join('\n');
  fs.writeFileSync(file, source);
  return file;
}

describe('several processes on one new file', () => {
  beforeAll(async () => {
    // Dependencies stay external; the link lets the bundle resolve them from the repository.
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(bundleDir.dir, 'node_modules'), 'dir');
    await build({
      config: false,
      // The worker entry too: a sender on a file runs its engine in a worker thread (out/worker.js).
      entry: { index: path.join(root, 'src', 'index.ts'), worker: path.join(root, 'src', 'worker.ts') },
      outDir: path.dirname(bundle),
      format: ['esm'],
      target: 'node20',
      platform: 'node',
      external: Object.keys(
        (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies: object })
          .dependencies,
      ),
      dts: false,
      sourcemap: false,
      silent: true,
    });
    expect(fs.existsSync(bundle)).toBe(true);
  }, 120_000);
  afterAll(() => bundleDir.cleanup());

  it.each([2, 4])('%i processes opening it at once migrate it exactly once', async (count) => {
    const tmp = temp();
    // One race per round: every process opens new file r at the start of slot r.
    const rounds = 8;
    const slotMs = 25;
    const script = childScript(
      tmp.dir,
      `  for (let r = 0; r < ${rounds}; r++) {
    while (clock() < startAt + r * ${slotMs}) {}
    const sender = new WebhookSender({ database: file.replace('#', String(r)), autoStart: false });
    await sender.close();
  }
  console.log('ok');`,
    );
    const results = await runTogether(script, count, () => [path.join(tmp.dir, 'race-#.db')]);
    for (const result of results) {
      expect(result.stderr).toBe('');
      expect(result).toMatchObject({ code: 0, stdout: 'ok\n' });
    }
    for (let r = 0; r < rounds; r++) {
      const db = appDb(path.join(tmp.dir, `race-${r}.db`));
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(migrationRows(db).map((row) => row.version)).toEqual(
        Array.from({ length: LATEST }, (_, i) => i + 1),
      );
      expect(tableNames(db)).toEqual(TABLES.map((t) => `hookline_${t}`));
      expect(db.prepare(`SELECT key, count(*) AS n FROM hookline_meta GROUP BY key`).all()).toEqual([
        { key: 'endpoints_version', n: 1 },
      ]);
    }
  });

  it('4 processes emitting at once all succeed, with idempotency keys shared between them', async () => {
    const tmp = temp();
    const file = tmp.file();
    const setup = new WebhookSender({ database: file, autoStart: false });
    const ep = setup.endpoints.add({ url: 'https://example.com/h' });
    await setup.close();
    const perChild = 300;
    const shared = 50;
    // Each child emits its own events and, interleaved, the same keyed ones as the others.
    const script = childScript(
      tmp.dir,
      `  const sender = new WebhookSender({ database: file, autoStart: false });
  const keyed = {};
  for (let i = 0; i < ${perChild}; i++) {
    sender.emit('load.test', { child: n, i });
    if (i % 6 === 0) {
      const k = 'k-' + (i / 6);
      keyed[k] = sender.emit('load.keyed', { child: n }, { idempotencyKey: k }).id;
    }
  }
  await sender.close();
  console.log(JSON.stringify(keyed));`,
    );
    const results = await runTogether(script, 4, (i) => [file, String(i)]);
    for (const result of results) {
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    }
    const keyed = results.map((r) => JSON.parse(r.stdout) as Record<string, string>);
    expect(Object.keys(keyed[0]!)).toHaveLength(shared);
    // Every process got the same event for each key.
    for (const other of keyed.slice(1)) expect(other).toEqual(keyed[0]);

    const reader = new WebhookSender({ database: file, autoStart: false });
    cleanups.push(() => reader.close());
    const db = appDb(file);
    expect(db.prepare(`SELECT count(*) AS n FROM hookline_events WHERE type = 'load.test'`).get()).toEqual({
      n: 4 * perChild,
    });
    expect(db.prepare(`SELECT count(*) AS n FROM hookline_events WHERE type = 'load.keyed'`).get()).toEqual({
      n: shared,
    });
    expect(reader.stats().pending).toBe(4 * perChild + shared);
    expect(reader.deliveries.list({ endpointId: ep.id, limit: 1000 }).items).toHaveLength(1000);
  });
});
