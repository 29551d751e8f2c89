import type { Database } from 'better-sqlite3';
import { type Clock, systemClock } from './clock.js';
import { InvalidOptionError } from './errors/input.js';
import { DEFAULT_RETRY_SCHEDULE, type RetryPolicy } from './retry.js';
import { describe, isPlainObject, unknownKey } from './validate.js';

/** Options of `new WebhookSender()`. All durations are in milliseconds. */
export interface SenderOptions {
  /**
   * Where the outbox lives: a file path, `':memory:'`, or an open better-sqlite3
   * `Database` the application already uses (hookline then creates its tables
   * there and never closes it).
   * @default 'webhooks.db'
   */
  database?: string | Database;
  /**
   * Prefix of hookline's table names.
   * @default 'hookline_'
   */
  tablePrefix?: string;
  /**
   * Maximum HTTP requests in flight, all endpoints together.
   * @default 32
   */
  concurrency?: number;
  /**
   * Hard deadline of one attempt in ms, DNS lookup to the last byte of the response.
   * @default 15000
   */
  timeout?: number;
  /**
   * Deadline in ms for the TCP (and TLS) connection of an attempt.
   * @default 5000
   */
  connectTimeout?: number;
  /**
   * Delays in ms between attempts (each with ±20% jitter), or a function
   * `(context) => delayMs | null`. `[]` makes a single attempt.
   * @default [5000, 300000, 1800000, 7200000, 18000000, 36000000, 36000000] (8 attempts over about 27 h)
   */
  retry?: RetryPolicy;
  /**
   * Allow requests to loopback, private and other non-public addresses (tests, intranets).
   * @default false
   */
  allowPrivateNetworks?: boolean;
  /**
   * CIDR ranges opened despite the SSRF guard, e.g. `['10.0.0.0/8']`.
   * @default []
   */
  allowedNetworks?: readonly string[];
  /**
   * Start delivering in the background at once. With `false`, nothing is sent until `sender.start()`.
   * @default true
   */
  autoStart?: boolean;
  /**
   * How often in ms the dispatcher looks for rows written by other processes sharing the database.
   * @default 1000
   */
  pollInterval?: number;
  /**
   * Largest accepted payload, in bytes of its JSON.
   * @default 1048576 (1 MiB)
   */
  maxPayloadBytes?: number;
  /**
   * Bytes of each response body kept in the attempt log; reading stops there.
   * @default 16384
   */
  responseBodyLimit?: number;
  /**
   * The source of time. Inject one in tests to drive retries without sleeping.
   * @default the system clock
   */
  clock?: Clock;
}

export interface ResolvedOptions {
  database: string | Database;
  tablePrefix: string;
  concurrency: number;
  timeout: number;
  connectTimeout: number;
  retry: RetryPolicy;
  allowPrivateNetworks: boolean;
  allowedNetworks: readonly string[];
  autoStart: boolean;
  pollInterval: number;
  maxPayloadBytes: number;
  responseBodyLimit: number;
  clock: Clock;
}

export const DEFAULT_OPTIONS: Readonly<ResolvedOptions> = Object.freeze({
  database: 'webhooks.db',
  tablePrefix: 'hookline_',
  concurrency: 32,
  timeout: 15_000,
  connectTimeout: 5_000,
  retry: DEFAULT_RETRY_SCHEDULE,
  allowPrivateNetworks: false,
  allowedNetworks: Object.freeze([]) as readonly string[],
  autoStart: true,
  pollInterval: 1_000,
  maxPayloadBytes: 1024 * 1024,
  responseBodyLimit: 16 * 1024,
  clock: systemClock,
});

const KNOWN = new Set(Object.keys(DEFAULT_OPTIONS));

function fail(option: string, expected: string, value: unknown): never {
  throw new InvalidOptionError(option, `Expected \`${option}\` to be ${expected}, got ${describe(value)}`);
}

function integerIn(option: string, value: unknown, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
    fail(option, `an integer from ${min} to ${max}`, value);
  }
}

function isDatabaseHandle(value: unknown): value is Database {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as Database).prepare === 'function' &&
    typeof (value as Database).transaction === 'function' &&
    typeof (value as Database).inTransaction === 'boolean'
  );
}

/** Spreads the defaults under the user's options and checks every one. */
export function resolveOptions(input: unknown): ResolvedOptions {
  if (input === undefined) return { ...DEFAULT_OPTIONS };
  if (!isPlainObject(input)) fail('options', 'an object', input);
  const extra = unknownKey(input, KNOWN);
  if (extra !== undefined) {
    throw new InvalidOptionError(
      extra,
      `Unknown option \`${extra}\`; known options are ${[...KNOWN].join(', ')}`,
    );
  }
  const defined = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
  const o = { ...DEFAULT_OPTIONS, ...defined } as ResolvedOptions;

  if (typeof o.database === 'string') {
    if (o.database.length === 0)
      fail('database', 'a file path, `:memory:` or a better-sqlite3 Database', o.database);
  } else if (!isDatabaseHandle(o.database)) {
    fail('database', 'a file path, `:memory:` or a better-sqlite3 Database', o.database);
  } else if (!o.database.open) {
    fail('database', 'an open better-sqlite3 Database', o.database);
  }
  if (typeof o.tablePrefix !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,30}$/.test(o.tablePrefix)) {
    fail('tablePrefix', 'a SQL identifier prefix (letters, digits, `_`, up to 31 characters)', o.tablePrefix);
  }
  integerIn('concurrency', o.concurrency, 1, 10_000);
  integerIn('timeout', o.timeout, 1, 24 * 60 * 60 * 1000);
  integerIn('connectTimeout', o.connectTimeout, 1, 24 * 60 * 60 * 1000);
  if (typeof o.retry === 'function') {
    // A function is checked each time it answers.
  } else if (!Array.isArray(o.retry)) {
    fail('retry', 'an array of delays in ms or a function', o.retry);
  } else {
    o.retry.forEach((delay, i) => {
      if (!Number.isSafeInteger(delay) || delay < 0)
        fail(`retry[${i}]`, 'a delay in ms (an integer >= 0)', delay);
    });
    o.retry = Object.freeze([...o.retry]);
  }
  if (typeof o.allowPrivateNetworks !== 'boolean')
    fail('allowPrivateNetworks', 'a boolean', o.allowPrivateNetworks);
  if (!Array.isArray(o.allowedNetworks) || !o.allowedNetworks.every((n) => typeof n === 'string')) {
    fail('allowedNetworks', 'an array of CIDR strings', o.allowedNetworks);
  }
  if (typeof o.autoStart !== 'boolean') fail('autoStart', 'a boolean', o.autoStart);
  integerIn('pollInterval', o.pollInterval, 10, 24 * 60 * 60 * 1000);
  integerIn('maxPayloadBytes', o.maxPayloadBytes, 2, 256 * 1024 * 1024);
  integerIn('responseBodyLimit', o.responseBodyLimit, 0, 16 * 1024 * 1024);
  const clock = o.clock as Partial<Clock> | null;
  if (
    clock === null ||
    typeof clock !== 'object' ||
    typeof clock.now !== 'function' ||
    typeof clock.setTimeout !== 'function' ||
    typeof clock.clearTimeout !== 'function'
  ) {
    fail('clock', 'an object with now(), setTimeout() and clearTimeout()', o.clock);
  }
  return o;
}
