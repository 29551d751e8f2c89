import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import {
  generateSecret,
  NotFoundError,
  signWebhook,
  verifyWebhook,
  WebhookError,
  WebhookSender,
} from '../src/index.js';
import { DEFAULT_OPTIONS, resolveOptions } from '../src/shared/options.js';

// Every public method, fed junk in every argument position (and every property of an options
// argument). Each call either throws a WebhookError with a stable code and leaves the database
// exactly as it was, or is listed below as accepting that value (undefined for an optional
// argument, [] for a list, and so on). A junk value that is neither is a bug.

const JUNK: Record<string, () => unknown> = {
  undefined: () => undefined,
  null: () => null,
  NaN: () => Number.NaN,
  '-1': () => -1,
  "''": () => '',
  '{}': () => ({}),
  '[]': () => [],
  "'x' x 10000": () => 'x'.repeat(10_000),
  'Symbol()': () => Symbol('junk'),
  '() => {}': () => () => {},
  '{ unknownKey: 1 }': () => ({ unknownKey: 1 }),
  '1n': () => 1n,
  "new Date('x')": () => new Date('x'),
};
type Junk = keyof typeof JUNK;

interface Ctx {
  db: Database.Database;
  sender: WebhookSender;
  endpointId: string;
  eventId: string;
  deliveryId: string;
  secret: string;
  signed: { headers: Record<string, string>; body: string };
}

interface Target {
  /** The baseline arguments, valid: each case replaces one position or property with junk. */
  args: (ctx: Ctx) => unknown[];
  call: (ctx: Ctx, args: unknown[]) => unknown;
  /** Position ('0') or property ('1.url', '0.0.type') -> the junk it accepts as valid. */
  positions: Record<string, Junk[]>;
  /** The constructor: the baseline database is empty and no sender exists yet. */
  fresh?: boolean;
}

const BODY = '{"id":"evt_1","type":"order.created","timestamp":"2026-01-01T00:00:00.000Z","data":{}}';
// JSON.stringify turns these into `null`, a valid payload.
const JSON_NULLISH: Junk[] = ['null', 'NaN', "new Date('x')"];
const VALID_JSON: Junk[] = [...JSON_NULLISH, '-1', "''", '{}', '[]', '{ unknownKey: 1 }'];
const optionalString: Junk[] = ['undefined'];

/** Every constructor option: the keys of the defaults that the constructor knows. */
const optionKeys = Object.keys(DEFAULT_OPTIONS).filter((key) => {
  try {
    resolveOptions({ [key]: undefined });
    return true;
  } catch {
    return false;
  }
});
/** Junk an option accepts besides `undefined` (which always means the default). */
const OPTION_ACCEPTS: Record<string, Junk[]> = {
  retry: ['[]', '() => {}'],
  allowedNetworks: ['[]'],
  lookup: ['() => {}'],
  // `{}`: every setting at its default.
  circuitBreaker: ['{}'],
  retention: ['{}'],
  // `{}`: the global OpenTelemetry providers, as without the option.
  telemetry: ['{}'],
};
/** Constructor calls that are valid but open ./webhooks.db, so are not made here. */
const NOT_RUN = new Set(['0=undefined', '0={}', '0.database=undefined']);

const TARGETS: Record<string, Target> = {
  'new WebhookSender': {
    fresh: true,
    args: (c) => [{ database: c.db, autoStart: false }],
    call: (_c, [o]) => new WebhookSender(o as never),
    positions: {
      // `new WebhookSender()` and `new WebhookSender({})` are valid: they open ./webhooks.db (NOT_RUN).
      '0': ['undefined', '{}'],
      ...Object.fromEntries(optionKeys.map((k) => [`0.${k}`, ['undefined', ...(OPTION_ACCEPTS[k] ?? [])]])),
    },
  },
  'sender.emit': {
    args: () => ['order.created', { id: 1 }, {}],
    call: (c, a) => c.sender.emit(a[0] as never, a[1] as never, a[2] as never),
    positions: {
      '0': [],
      '1': VALID_JSON,
      '2': ['undefined', '{}'],
      '2.tenant': ['undefined', 'null'],
      '2.idempotencyKey': ['undefined', 'null'],
      '2.endpointIds': ['undefined', '[]'],
      '2.orderingKey': ['undefined', 'null'],
    },
  },
  'sender.emitMany': {
    args: () => [[{ type: 'order.created', payload: { id: 1 } }]],
    call: (c, a) => c.sender.emitMany(a[0] as never),
    positions: {
      '0': ['[]'],
      '0.0': [],
      '0.0.type': [],
      '0.0.payload': VALID_JSON,
      '0.0.tenant': ['undefined', 'null'],
      '0.0.idempotencyKey': ['undefined', 'null'],
      '0.0.endpointIds': ['undefined', '[]'],
      '0.0.orderingKey': ['undefined', 'null'],
    },
  },
  'sender.close': {
    args: () => [{ timeout: 0 }],
    call: (c, a) => c.sender.close(a[0] as never),
    positions: { '0': ['undefined', '{}'], '0.timeout': ['undefined'] },
  },
  'sender.on': {
    args: () => ['delivered', () => {}],
    call: (c, a) => c.sender.on(a[0] as never, a[1] as never),
    positions: { '0': [], '1': ['() => {}'] },
  },
  'sender.once': {
    args: () => ['failed', () => {}],
    call: (c, a) => c.sender.once(a[0] as never, a[1] as never),
    positions: { '0': [], '1': ['() => {}'] },
  },
  'sender.off': {
    args: () => ['attempt', () => {}],
    call: (c, a) => c.sender.off(a[0] as never, a[1] as never),
    positions: { '0': [], '1': ['() => {}'] },
  },
  'endpoints.add': {
    args: () => [{ url: 'https://hooks.example.com/b' }],
    call: (c, a) => c.sender.endpoints.add(a[0] as never),
    positions: {
      '0': [],
      '0.url': [],
      '0.events': ['undefined'],
      '0.tenant': ['undefined', 'null'],
      '0.secret': ['undefined'],
      '0.headers': ['undefined', '{}'],
      '0.description': ['undefined', 'null', "''"],
      '0.metadata': ['undefined', '{}', '{ unknownKey: 1 }'],
      '0.concurrency': ['undefined', 'null'],
      '0.rateLimit': ['undefined', 'null'],
      '0.ordering': ['undefined'],
    },
  },
  'endpoints.get': {
    args: (c) => [c.endpointId],
    call: (c, a) => c.sender.endpoints.get(a[0] as never),
    positions: { '0': [] },
  },
  'endpoints.update': {
    args: (c) => [c.endpointId, { description: 'changed' }],
    call: (c, a) => c.sender.endpoints.update(a[0] as never, a[1] as never),
    positions: {
      '0': [],
      '1': ['{}'],
      '1.url': ['undefined'],
      '1.events': ['undefined'],
      '1.tenant': ['undefined', 'null'],
      '1.headers': ['undefined', '{}'],
      '1.description': ['undefined', 'null', "''"],
      '1.metadata': ['undefined', '{}', '{ unknownKey: 1 }'],
      '1.concurrency': ['undefined', 'null'],
      '1.rateLimit': ['undefined', 'null'],
      '1.ordering': ['undefined'],
    },
  },
  'endpoints.remove': {
    args: (c) => [c.endpointId],
    call: (c, a) => c.sender.endpoints.remove(a[0] as never),
    positions: { '0': [] },
  },
  'endpoints.enable': {
    args: (c) => [c.endpointId],
    call: (c, a) => c.sender.endpoints.enable(a[0] as never),
    positions: { '0': [] },
  },
  'endpoints.health': {
    args: (c) => [c.endpointId],
    call: (c, a) => c.sender.endpoints.health(a[0] as never),
    positions: { '0': [] },
  },
  'endpoints.recover': {
    args: (c) => [c.endpointId, { since: 0 }],
    call: (c, a) => c.sender.endpoints.recover(a[0] as never, a[1] as never),
    positions: { '0': [], '1': [], '1.since': ['-1'], '1.until': ['undefined', '-1'] },
  },
  'endpoints.disable': {
    args: (c) => [c.endpointId, 'maintenance'],
    call: (c, a) => c.sender.endpoints.disable(a[0] as never, a[1] as never),
    positions: { '0': [], '1': ['undefined'] },
  },
  'endpoints.rotateSecret': {
    args: (c) => [c.endpointId, { graceMs: 0 }],
    call: (c, a) => c.sender.endpoints.rotateSecret(a[0] as never, a[1] as never),
    positions: { '0': [], '1': ['undefined', '{}'], '1.secret': ['undefined'], '1.graceMs': ['undefined'] },
  },
  'events.get': {
    args: (c) => [c.eventId],
    call: (c, a) => c.sender.events.get(a[0] as never),
    positions: { '0': [] },
  },
  'events.list': {
    args: () => [{ limit: 10 }],
    call: (c, a) => c.sender.events.list(a[0] as never),
    positions: {
      '0': ['undefined', '{}'],
      '0.type': [...optionalString, "'x' x 10000"],
      '0.tenant': [...optionalString, "'x' x 10000"],
      '0.since': ['undefined', '-1'],
      '0.until': ['undefined', '-1'],
      '0.limit': ['undefined'],
      '0.cursor': ['undefined'],
    },
  },
  'events.replay': {
    args: (c) => [c.eventId, { endpointIds: [c.endpointId] }],
    call: (c, a) => c.sender.events.replay(a[0] as never, a[1] as never),
    positions: { '0': [], '1': ['undefined', '{}'], '1.endpointIds': ['undefined', '[]'] },
  },
  'deliveries.get': {
    args: (c) => [c.deliveryId],
    call: (c, a) => c.sender.deliveries.get(a[0] as never),
    positions: { '0': [] },
  },
  'deliveries.list': {
    args: () => [{ limit: 10 }],
    call: (c, a) => c.sender.deliveries.list(a[0] as never),
    positions: {
      '0': ['undefined', '{}'],
      '0.status': ['undefined'],
      '0.endpointId': [...optionalString, "'x' x 10000"],
      '0.eventId': [...optionalString, "'x' x 10000"],
      '0.eventType': [...optionalString, "'x' x 10000"],
      '0.tenant': [...optionalString, "'x' x 10000"],
      '0.since': ['undefined', '-1'],
      '0.until': ['undefined', '-1'],
      '0.limit': ['undefined'],
      '0.cursor': ['undefined'],
    },
  },
  'sender.activity': {
    args: () => [{ since: 0 }],
    call: (c, a) => c.sender.activity(a[0] as never),
    positions: { '0': ['undefined', '{}'], '0.since': ['undefined', '-1'], '0.until': ['undefined'] },
  },
  'deliveries.attempts': {
    args: () => [{ limit: 10 }],
    call: (c, a) => c.sender.deliveries.attempts(a[0] as never),
    positions: { '0': ['undefined', '{}'], '0.after': ['undefined'], '0.limit': ['undefined'] },
  },
  'deliveries.retry': {
    args: (c) => [c.deliveryId],
    call: (c, a) => c.sender.deliveries.retry(a[0] as never),
    positions: { '0': [] },
  },
  'deliveries.retryMany': {
    args: () => [{ status: 'failed' }],
    call: (c, a) => c.sender.deliveries.retryMany(a[0] as never),
    positions: {
      '0': [],
      '0.status': [],
      '0.endpointId': [...optionalString, "'x' x 10000"],
      '0.eventType': [...optionalString, "'x' x 10000"],
      '0.since': ['undefined', '-1'],
      '0.until': ['undefined', '-1'],
    },
  },
  verifyWebhook: {
    args: (c) => [{ secret: c.secret, headers: c.signed.headers, body: c.signed.body }],
    call: (_c, a) => verifyWebhook(a[0] as never),
    positions: {
      '0': [],
      '0.secret': [],
      '0.headers': [],
      '0.body': [],
      '0.toleranceSeconds': ['undefined'],
      '0.now': ['undefined'],
    },
  },
  signWebhook: {
    args: (c) => [{ id: 'evt_1', body: BODY, secret: c.secret }],
    call: (_c, a) => signWebhook(a[0] as never),
    // A long id or body is the caller's business: signing them is well defined.
    positions: {
      '0': [],
      '0.id': ["'x' x 10000"],
      '0.body': ["''", "'x' x 10000"],
      '0.secret': [],
      '0.timestamp': ['undefined'],
    },
  },
};

const opened: { db: Database.Database; senders: WebhookSender[] }[] = [];
afterEach(async () => {
  for (const { db, senders } of opened.splice(0)) {
    for (const s of senders) await s.close({ timeout: 0 });
    db.close();
  }
});

function setup(fresh: boolean): Ctx {
  const db = new Database(':memory:');
  const secret = generateSecret();
  const signed = { headers: { ...signWebhook({ id: 'evt_1', body: BODY, secret }) }, body: BODY };
  if (fresh) {
    opened.push({ db, senders: [] });
    return { db, secret, signed } as unknown as Ctx;
  }
  const sender = new WebhookSender({ database: db, autoStart: false, maxPayloadBytes: 4096 });
  opened.push({ db, senders: [sender] });
  const endpointId = sender.endpoints.add({ url: 'https://hooks.example.com/a', headers: { 'x-k': 'v' } }).id;
  const eventId = sender.emit('order.created', { id: 1 }).id;
  const deliveryId = sender.deliveries.list().items[0]!.id;
  return { db, sender, endpointId, eventId, deliveryId, secret, signed };
}

/** Every row of every table, and the schema: what "nothing stored or changed" compares. */
function snapshot(db: Database.Database): string {
  const tables = db
    .prepare("SELECT name, sql FROM sqlite_master WHERE type IN ('table', 'index') ORDER BY name")
    .all() as { name: string; sql: string | null }[];
  return JSON.stringify(
    tables.map((t) => [
      t.name,
      t.sql,
      t.sql?.startsWith('CREATE TABLE') ? db.prepare(`SELECT * FROM "${t.name}"`).all() : null,
    ]),
  );
}

function setAt(args: unknown[], path: string, value: unknown): void {
  const keys = path.split('.');
  let target = args as unknown as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) target = target[key] as Record<string, unknown>;
  target[keys[keys.length - 1]!] = value;
}

/** Calls, waiting for a returned promise, and reports what was thrown or rejected. */
async function outcome(
  target: Target,
  ctx: Ctx,
  args: unknown[],
): Promise<{ error?: unknown; value?: unknown }> {
  try {
    const value = target.call(ctx, args);
    if (value instanceof WebhookSender) opened[opened.length - 1]!.senders.push(value);
    return { value: value instanceof Promise ? await value : value };
  } catch (error) {
    return { error };
  }
}

const CASES = Object.entries(TARGETS).flatMap(([method, target]) =>
  Object.entries(target.positions).flatMap(([position, accepts]) =>
    (Object.keys(JUNK) as Junk[])
      .filter((junk) => !(target.fresh && NOT_RUN.has(`${position}=${junk}`)))
      .map((junk) => ({ method, target, position, junk, accepted: accepts.includes(junk) })),
  ),
);

describe('junk in every argument position', () => {
  it.each(CASES.map((c) => [c.method, c.position, c.junk, c.accepted ? 'accepted' : 'refused', c] as const))(
    '%s arg %s = %s: %s',
    async (method, position, junk, _verdict, c) => {
      const ctx = setup(c.target.fresh === true);
      const before = snapshot(ctx.db);
      const args = c.target.args(ctx);
      setAt(args, position, JUNK[junk]!());
      const { error } = await outcome(c.target, ctx, args);
      if (c.accepted) {
        expect(error).toBeUndefined();
        return;
      }
      expect(error, `${method}(${position} = ${junk}) did not throw`).toBeDefined();
      if (!(error instanceof WebhookError)) throw error;
      expect(typeof error.code).toBe('string');
      expect(error.code).toMatch(/^ERR_[A-Z_]+$/);
      expect(typeof error.message).toBe('string');
      expect(JSON.stringify(error)).toContain(error.code);
      expect(snapshot(ctx.db)).toBe(before);
    },
  );

  it('covers every public method of the sender and its APIs', () => {
    const ctx = setup(false);
    const methods = (o: object) =>
      Object.getOwnPropertyNames(Object.getPrototypeOf(o)).filter(
        (n) => n !== 'constructor' && typeof (o as Record<string, unknown>)[n] === 'function',
      );
    // Methods without parameters cannot receive junk in a position; they are called once below.
    const noParameters = new Set([
      'sender.start',
      'sender.drain',
      'sender.stats',
      'sender.prune',
      'endpoints.list',
    ]);
    const all = [
      ...methods(ctx.sender).map((m) => `sender.${m}`),
      ...methods(ctx.sender.endpoints).map((m) => `endpoints.${m}`),
      ...methods(ctx.sender.events).map((m) => `events.${m}`),
      ...methods(ctx.sender.deliveries).map((m) => `deliveries.${m}`),
    ];
    // `private` in TypeScript only: on the prototype at run time, not part of the API.
    const internal = new Set(['endpoints.row', 'deliveries.seq']);
    for (const name of all.filter((n) => !internal.has(n))) {
      expect(name in TARGETS || noParameters.has(name), `${name} has no row in TARGETS`).toBe(true);
    }
  });

  it('methods without parameters ignore extra arguments and never throw a non-WebhookError', async () => {
    const ctx = setup(false);
    const s = ctx.sender as unknown as Record<string, (...a: unknown[]) => unknown>;
    await expect(
      Promise.resolve().then(() => s.drain!(...Object.values(JUNK).map((f) => f()))),
    ).rejects.toMatchObject({
      code: 'ERR_NOT_STARTED',
    });
    expect(() => s.stats!(Symbol('x'))).not.toThrow();
    expect(() =>
      (ctx.sender.endpoints as unknown as { list: (x: unknown) => unknown }).list(1n),
    ).not.toThrow();
    s.start!(Symbol('x'));
    await ctx.sender.drain();
  });
});

describe('ids that do not exist, and cursors from elsewhere', () => {
  const missing: [string, (c: Ctx) => unknown][] = [
    ['endpoints.get', (c) => c.sender.endpoints.get('ep_doesnotexist')],
    ['endpoints.update', (c) => c.sender.endpoints.update('ep_doesnotexist', { description: 'x' })],
    ['endpoints.remove', (c) => c.sender.endpoints.remove('ep_doesnotexist')],
    ['endpoints.enable', (c) => c.sender.endpoints.enable('ep_doesnotexist')],
    ['endpoints.disable', (c) => c.sender.endpoints.disable('ep_doesnotexist')],
    ['endpoints.rotateSecret', (c) => c.sender.endpoints.rotateSecret('ep_doesnotexist')],
    ['events.get', (c) => c.sender.events.get('evt_doesnotexist')],
    ['events.replay', (c) => c.sender.events.replay('evt_doesnotexist')],
    [
      'events.replay to a missing endpoint',
      (c) => c.sender.events.replay(c.eventId, { endpointIds: ['ep_nope'] }),
    ],
    ['deliveries.get', (c) => c.sender.deliveries.get('dlv_999999')],
    ['deliveries.retry', (c) => c.sender.deliveries.retry('dlv_999999')],
    ['emit to a missing endpoint', (c) => c.sender.emit('order.created', {}, { endpointIds: ['ep_nope'] })],
  ];

  it.each(missing)('%s: NotFoundError (ERR_NOT_FOUND), nothing changed', (_name, call) => {
    const ctx = setup(false);
    const before = snapshot(ctx.db);
    expect(() => call(ctx)).toThrow(NotFoundError);
    expect(() => call(ctx)).toThrow(expect.objectContaining({ code: 'ERR_NOT_FOUND' }));
    expect(snapshot(ctx.db)).toBe(before);
  });

  it.each([
    ['deliveries.id', (c: Ctx) => c.sender.deliveries.get('dlv_0')],
    ['deliveries.id', (c: Ctx) => c.sender.deliveries.get('dlv_1e3')],
    ['deliveries.id', (c: Ctx) => c.sender.deliveries.get('evt_1')],
  ])('a malformed %s is ERR_INVALID_ARGUMENT', (_name, call) => {
    const ctx = setup(false);
    expect(() => call(ctx)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });

  it('a cursor of one list is refused by the other (ERR_INVALID_CURSOR)', () => {
    const ctx = setup(false);
    for (let i = 0; i < 3; i++) ctx.sender.emit('order.created', { i });
    const events = ctx.sender.events.list({ limit: 1 });
    const deliveries = ctx.sender.deliveries.list({ limit: 1 });
    expect(events.nextCursor).not.toBeNull();
    expect(() => ctx.sender.deliveries.list({ cursor: events.nextCursor! })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_CURSOR' }),
    );
    expect(() => ctx.sender.events.list({ cursor: deliveries.nextCursor! })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_CURSOR' }),
    );
    for (const cursor of [
      'ZTow',
      Buffer.from('e:-1').toString('base64url'),
      Buffer.from('e:1.5').toString('base64url'),
    ]) {
      expect(() => ctx.sender.events.list({ cursor })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_CURSOR' }),
      );
    }
  });
});
