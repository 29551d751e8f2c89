import fs from 'node:fs';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { InvalidOptionError, type SenderOptions, WebhookError, WebhookSender } from '../src/index.js';
import { DEFAULT_OPTIONS, resolveOptions } from '../src/shared/options.js';
import { DEFAULT_RETRY_SCHEDULE } from '../src/shared/retry.js';
import { ManualClock } from './helpers/clock.js';
import { catchError, cleanups } from './helpers/sender.js';
import { tempDir } from './helpers/tmp.js';

function optionError(options: unknown): InvalidOptionError {
  const error = catchError(() => resolveOptions(options));
  expect(error).toBeInstanceOf(InvalidOptionError);
  expect(error).toBeInstanceOf(WebhookError);
  expect((error as InvalidOptionError).code).toBe('ERR_INVALID_OPTION');
  return error as InvalidOptionError;
}

const base = { database: ':memory:', autoStart: false } as const;
const DAY = 24 * 60 * 60 * 1000;

describe('defaults', () => {
  it('are documented values, frozen', () => {
    expect(Object.isFrozen(DEFAULT_OPTIONS)).toBe(true);
    expect(DEFAULT_OPTIONS).toMatchObject({
      database: 'webhooks.db',
      tablePrefix: 'hookline_',
      concurrency: 32,
      timeout: 15_000,
      connectTimeout: 5_000,
      allowPrivateNetworks: false,
      allowedNetworks: [],
      autoStart: true,
      pollInterval: 1_000,
      maxPayloadBytes: 1024 * 1024,
      responseBodyLimit: 16 * 1024,
      endpointConcurrency: 8,
      circuitBreaker: { threshold: 5, cooloff: 30_000, maxCooloff: 600_000 },
      disableAfter: '5d',
      retention: { succeeded: '30d', failed: '90d' },
    });
    expect(DEFAULT_OPTIONS.retry).toBe(DEFAULT_RETRY_SCHEDULE);
  });

  it('fill in what is not given, and `undefined` means the default', () => {
    // `resolved` holds the durations and sub-options in the form the sender uses.
    const resolved = {
      circuit: { threshold: 5, cooloff: 30_000, maxCooloff: 600_000, disableAfter: 5 * DAY },
      retention: { succeeded: 30 * DAY, failed: 90 * DAY },
    };
    // The engine's default depends on the database: a file (the default `webhooks.db`) gets a worker.
    expect(resolveOptions(undefined)).toEqual({ ...DEFAULT_OPTIONS, engine: 'worker', resolved });
    expect(resolveOptions({})).toEqual({ ...DEFAULT_OPTIONS, engine: 'worker', resolved });
    expect(resolveOptions({ database: ':memory:' }).engine).toBe('inline');
    expect(resolveOptions({ clock: { now: () => 0, setTimeout, clearTimeout } }).engine).toBe('inline');
    expect(resolveOptions({ engine: 'inline' }).engine).toBe('inline');
    const o = resolveOptions({ concurrency: undefined, timeout: 100, tablePrefix: undefined });
    expect(o.concurrency).toBe(32);
    expect(o.tablePrefix).toBe('hookline_');
    expect(o.timeout).toBe(100);
  });

  it('resolving does not change the defaults', () => {
    resolveOptions({ concurrency: 3, retry: [1] });
    expect(DEFAULT_OPTIONS.concurrency).toBe(32);
    expect(DEFAULT_OPTIONS.retry).toBe(DEFAULT_RETRY_SCHEDULE);
  });
});

describe('bad values: InvalidOptionError naming the option and echoing the value', () => {
  const table: [option: string, value: unknown, echo: string][] = [
    ['database', '', '`""` (string)'],
    ['database', 42, '`42` (number)'],
    ['database', {}, '`{}` (object)'],
    ['database', new Map(), '`[Map]` (object)'],
    ['database', null, '`null` (null)'],
    ['tablePrefix', '', '`""` (string)'],
    ['tablePrefix', '1abc', '`"1abc"` (string)'],
    ['tablePrefix', 'a-b', '`"a-b"` (string)'],
    ['tablePrefix', 'a b', '`"a b"` (string)'],
    ['tablePrefix', 'x'.repeat(32), '(string)'],
    ['tablePrefix', 7, '`7` (number)'],
    ['concurrency', 0, '`0` (number)'],
    ['concurrency', -1, '`-1` (number)'],
    ['concurrency', 1.5, '`1.5` (number)'],
    ['concurrency', 10_001, '`10001` (number)'],
    ['concurrency', '5', '`"5"` (string)'],
    ['concurrency', Number.NaN, '`NaN` (number)'],
    ['timeout', 0, '`0` (number)'],
    ['timeout', Number.POSITIVE_INFINITY, '`Infinity` (number)'],
    ['timeout', 24 * 60 * 60 * 1000 + 1, '`86400001` (number)'],
    ['connectTimeout', 0, '`0` (number)'],
    ['connectTimeout', '1000', '`"1000"` (string)'],
    ['retry', 'fast', '`"fast"` (string)'],
    ['retry', 5_000, '`5000` (number)'],
    ['retry', null, '`null` (null)'],
    ['allowPrivateNetworks', 'yes', '`"yes"` (string)'],
    ['allowPrivateNetworks', 1, '`1` (number)'],
    ['allowedNetworks', '10.0.0.0/8', '`"10.0.0.0/8"` (string)'],
    ['allowedNetworks', [1], '`[1]` (array)'],
    ['allowedNetworks', [{}], '`[array]` (array)'],
    ['autoStart', 'false', '`"false"` (string)'],
    ['autoStart', 0, '`0` (number)'],
    ['pollInterval', 9, '`9` (number)'],
    ['pollInterval', 0, '`0` (number)'],
    ['maxPayloadBytes', 1, '`1` (number)'],
    ['maxPayloadBytes', 0, '`0` (number)'],
    ['maxPayloadBytes', 256 * 1024 * 1024 + 1, '`268435457` (number)'],
    ['responseBodyLimit', -1, '`-1` (number)'],
    ['responseBodyLimit', 0.5, '`0.5` (number)'],
    ['clock', {}, '`{}` (object)'],
    ['clock', null, '`null` (null)'],
    ['clock', Date, '`[function]` (function)'],
    // Of an object only its keys: its values may be credentials.
    ['clock', { now: () => 0, setTimeout: () => 0 }, '`{ now, setTimeout }` (object)'],
    ['endpointConcurrency', 0, '`0` (number)'],
    ['endpointConcurrency', 2.5, '`2.5` (number)'],
    ['endpointConcurrency', '8', '`"8"` (string)'],
    ['circuitBreaker', true, '`true` (boolean)'],
    ['circuitBreaker', null, '`null` (null)'],
    ['circuitBreaker.threshold', 0, '`0` (number)'],
    ['circuitBreaker.cooloff', -1, '`-1` (number)'],
    ['circuitBreaker.maxCooloff', 1.5, '`1.5` (number)'],
    ['disableAfter', -1, '`-1` (number)'],
    ['disableAfter', '5 days', '`"5 days"` (string)'],
    ['retention', true, '`true` (boolean)'],
    ['retention.succeeded', '30x', '`"30x"` (string)'],
    ['retention.failed', null, '`null` (null)'],
  ];

  it.each(table)('%s: %s', (option, value, echo) => {
    // `a.b` is the sub-option b of option a.
    const [outer, inner] = option.split('.');
    const error = optionError({ [outer!]: inner === undefined ? value : { [inner]: value } });
    expect(error.option).toBe(option);
    expect(error.message).toContain(`\`${option}\``);
    expect(error.message).toContain(echo);
  });

  it.each([
    [[1_000, -1], 'retry[1]', '`-1` (number)'],
    [[1.5], 'retry[0]', '`1.5` (number)'],
    [[1_000, 2_000, '3000'], 'retry[2]', '`"3000"` (string)'],
    [[Number.NaN], 'retry[0]', '`NaN` (number)'],
  ])('retry %j: names the bad element %s', (retry, option, echo) => {
    const error = optionError({ retry });
    expect(error.option).toBe(option);
    expect(error.message).toContain(`\`${option}\``);
    expect(error.message).toContain(echo);
  });

  it('a maxCooloff below the cooloff is refused', () => {
    const error = optionError({ circuitBreaker: { cooloff: 60_000, maxCooloff: 30_000 } });
    expect(error.option).toBe('circuitBreaker.maxCooloff');
    expect(error.message).toContain('an integer from 60000');
  });

  it.each([
    ['circuitBreaker', { threshold: 5, treshold: 3 }, 'circuitBreaker.treshold'],
    ['retention', { succeeded: '1d', pending: '1d' }, 'retention.pending'],
  ])('an unknown key of %s is refused by name', (option, value, name) => {
    const error = optionError({ [option]: value });
    expect(error.option).toBe(name);
    expect(error.message).toContain(`\`${name}\``);
  });

  it('a closed database handle is refused', () => {
    const db = new Database(':memory:');
    db.close();
    const error = optionError({ database: db });
    expect(error.option).toBe('database');
    expect(error.message).toMatch(/open/);
  });

  it('an object that only looks like a database is refused', () => {
    const error = optionError({ database: { prepare() {}, transaction() {} } });
    expect(error.option).toBe('database');
  });

  it.each([
    ['not CIDR', ['not-an-ip']],
    ['a bad prefix length', ['10.0.0.0/33']],
  ])('allowedNetworks with %s is refused by the sender', (_label, allowedNetworks) => {
    const error = catchError(() => new WebhookSender({ ...base, allowedNetworks }));
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).code).toBe('ERR_INVALID_OPTION');
    expect((error as Error).message).toContain(allowedNetworks[0]);
  });

  it.each([
    ['null', null],
    ['a string', 'webhooks.db'],
    ['an array', []],
    ['a class instance', new Date(0)],
  ])('options that are %s are refused', (_label, options) => {
    const error = optionError(options);
    expect(error.option).toBe('options');
  });
});

describe('unknown options', () => {
  it('are refused by name, with the list of known ones', () => {
    const error = optionError({ database: ':memory:', databse: 'x.db' });
    expect(error.option).toBe('databse');
    expect(error.message).toContain('`databse`');
    expect(error.message).toContain('tablePrefix');
  });

  it('are refused even when undefined', () => {
    expect(optionError({ retries: undefined }).option).toBe('retries');
  });

  it('are refused by the constructor', () => {
    const error = catchError(
      () => new WebhookSender({ ...base, maxAttempts: 3 } as unknown as SenderOptions),
    );
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).option).toBe('maxAttempts');
  });
});

describe('valid edge values are accepted', () => {
  it.each<[string, unknown]>([
    ['responseBodyLimit', 0],
    ['retry', []],
    ['retry', [0]],
    ['retry', [0, 0, 0]],
    ['retry', () => null],
    ['concurrency', 1],
    ['concurrency', 10_000],
    ['timeout', 1],
    ['timeout', 24 * 60 * 60 * 1000],
    ['connectTimeout', 1],
    ['pollInterval', 10],
    ['maxPayloadBytes', 2],
    ['maxPayloadBytes', 256 * 1024 * 1024],
    ['responseBodyLimit', 16 * 1024 * 1024],
    ['tablePrefix', 'a'],
    ['tablePrefix', '_'],
    ['tablePrefix', `A${'b'.repeat(30)}`],
    ['allowPrivateNetworks', true],
    ['allowedNetworks', []],
    ['allowedNetworks', ['10.0.0.0/8', 'fd00::/8']],
    ['autoStart', false],
    ['clock', new ManualClock()],
    ['endpointConcurrency', 1],
    ['endpointConcurrency', 10_000],
    ['circuitBreaker', false],
    ['circuitBreaker', { threshold: 1 }],
    ['circuitBreaker', { threshold: 3, cooloff: 1_000, maxCooloff: 1_000 }],
    ['disableAfter', 0],
    ['disableAfter', '1h'],
    ['retention', false],
    ['retention', { succeeded: '1m' }],
    ['retention', { succeeded: 0, failed: '1.5d' }],
  ])('%s: %j', async (option, value) => {
    expect(resolveOptions({ [option]: value })[option as keyof SenderOptions]).toEqual(value);
    const sender = new WebhookSender({ database: ':memory:', autoStart: false, [option]: value });
    await sender.close();
  });

  it('an open better-sqlite3 handle', async () => {
    const db = new Database(':memory:');
    cleanups.push(() => db.close());
    expect(resolveOptions({ database: db }).database).toBe(db);
  });

  it('a retry array is copied and frozen: changing it later changes nothing', () => {
    const retry = [1_000, 2_000];
    const o = resolveOptions({ retry });
    retry.push(3_000);
    retry[0] = -5;
    expect(o.retry).toEqual([1_000, 2_000]);
    expect(Object.isFrozen(o.retry)).toBe(true);
  });

  it('durations and sub-options resolve to milliseconds, defaults filled in', () => {
    expect(
      resolveOptions({ circuitBreaker: { threshold: 2 }, disableAfter: '1h', retention: { succeeded: '1m' } })
        .resolved,
    ).toEqual({
      circuit: { threshold: 2, cooloff: 30_000, maxCooloff: 600_000, disableAfter: 60 * 60 * 1000 },
      // A status left out is kept forever.
      retention: { succeeded: 60_000, failed: null },
    });
    expect(resolveOptions({ circuitBreaker: false, disableAfter: 0, retention: false }).resolved).toEqual({
      circuit: { threshold: 0, cooloff: 30_000, maxCooloff: 600_000, disableAfter: 0 },
      retention: { succeeded: null, failed: null },
    });
  });

  it('a retry function is kept as given', () => {
    const retry = () => 5;
    expect(resolveOptions({ retry }).retry).toBe(retry);
  });
});

describe('the constructor validates before it touches the disk', () => {
  it('a bad option creates no database file', () => {
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    const file = tmp.file();
    expect(() => new WebhookSender({ database: file, autoStart: false, concurrency: 0 })).toThrow(
      InvalidOptionError,
    );
    expect(() => new WebhookSender({ database: file, autoStart: false, allowedNetworks: ['x'] })).toThrow(
      InvalidOptionError,
    );
    expect(fs.existsSync(file)).toBe(false);
  });

  it('a bad option leaves the application database without hookline tables', () => {
    const db = new Database(':memory:');
    cleanups.push(() => db.close());
    expect(() => new WebhookSender({ database: db, autoStart: false, tablePrefix: 'bad-prefix' })).toThrow(
      InvalidOptionError,
    );
    expect(db.prepare(`SELECT count(*) AS n FROM sqlite_master`).get()).toEqual({ n: 0 });
  });
});

describe('options take effect', () => {
  it('maxPayloadBytes bounds emit', async () => {
    const sender = new WebhookSender({ ...base, maxPayloadBytes: 12 });
    cleanups.push(() => sender.close());
    expect(sender.emit('a', 'x'.repeat(10)).deliveries).toBe(0); // 12 bytes of JSON
    expect(() => sender.emit('a', 'x'.repeat(11))).toThrow(
      expect.objectContaining({ code: 'ERR_PAYLOAD_TOO_LARGE' }),
    );
  });

  it('autoStart: false leaves the sender not started', async () => {
    const sender = new WebhookSender(base);
    cleanups.push(() => sender.close());
    await expect(sender.drain()).rejects.toMatchObject({ code: 'ERR_NOT_STARTED' });
  });

  it('clock drives the times the sender records', async () => {
    const clock = new ManualClock(Date.parse('2030-05-06T07:08:09.010Z'));
    const sender = new WebhookSender({ ...base, clock });
    cleanups.push(() => sender.close());
    expect(sender.emit('a', 1).createdAt).toBe('2030-05-06T07:08:09.010Z');
    clock.advance(1_000);
    expect(sender.endpoints.add({ url: 'https://example.com/h' }).createdAt).toBe('2030-05-06T07:08:10.010Z');
  });
});
