import type { Database } from 'better-sqlite3';
import type { CircuitConfig } from './circuit.js';
import { type Clock, systemClock } from './clock.js';
import type { Duration } from './duration.js';
import { engineFor } from './engine-option.js';
import { InvalidOptionError } from './errors/input.js';
import type { LookupFunction } from './lookup.js';
import { definedOnly, duration, fail, integerIn, isDatabaseHandle } from './option-checks.js';
import { DEFAULT_RETRY_SCHEDULE, type RetryPolicy } from './retry.js';
import { checkTelemetry, type TelemetryOptions } from './telemetry-option.js';
import { isPlainObject, unknownKey } from './validate.js';
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
   * Resolves endpoint host names, with the signature of `dns.lookup(hostname, options, callback)`: a custom
   * resolver, or a fake one in tests. Every address it answers goes through the SSRF guard before a socket
   * connects to it, so it cannot open what `allowPrivateNetworks` and `allowedNetworks` keep closed. It is
   * called with `{ all: true }`; answering a single address is accepted too.
   * @default dns.lookup
   */
  lookup?: LookupFunction;
  /**
   * Start delivering in the background at once. With `false`, nothing is sent until `sender.start()`.
   * @default true
   */
  autoStart?: boolean;
  /**
   * Create the tables, or bring them up to date, when the sender opens the database. With `false`
   * the sender never creates or changes a schema (nor, on SQLite, a file): a database hookline has not
   * set up at this version is refused with `SchemaVersionError`. What the operator tools use.
   * @default true
   */
  migrate?: boolean;
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
  /**
   * Requests in flight to one endpoint at most (of the `concurrency` slots), unless the endpoint sets its own.
   * @default 8
   */
  endpointConcurrency?: number;
  /**
   * After `threshold` consecutive failures an endpoint's circuit opens: its deliveries wait (pending, attempts
   * not spent) for `cooloff` ms, doubling while it keeps failing up to `maxCooloff`; then one probe decides.
   * `false` turns it off.
   * @default { threshold: 5, cooloff: 30000, maxCooloff: 600000 }
   */
  circuitBreaker?: { threshold?: number; cooloff?: number; maxCooloff?: number } | false;
  /**
   * Disable an endpoint that has answered nothing but failures for this long (ms or `'5d'`); `0` never.
   * An endpoint that answers `410 Gone` is disabled at once.
   * @default '5d'
   */
  disableAfter?: Duration;
  /**
   * How long finished deliveries (with their attempts) are kept, as ms or `'7d'`; an event goes with its
   * last delivery. Applied by a background sweep and by `sender.prune()`. `false` keeps everything.
   * @default { succeeded: '30d', failed: '90d' }
   */
  retention?: { succeeded?: Duration; failed?: Duration } | false;
  /**
   * Where the delivery engine runs. `'worker'`: in a worker thread with its own connection to the database
   * file, so the application's thread pays only for `emit`; a `retry` function and a `lookup` are still
   * called on the application's thread. Needs a database file and the system clock. `'inline'`: on the
   * application's thread.
   * @default 'worker' on a database file with the system clock, else 'inline'
   */
  engine?: 'inline' | 'worker';
  /**
   * OpenTelemetry: spans and metrics go to the providers the application registered globally, or
   * to these; `false` records nothing. See the README's "Traces and metrics".
   */
  telemetry?: TelemetryOptions | false;
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
  /** `undefined`: `dns.lookup`, which src/engine/http/ supplies (only it touches the network). */
  lookup: LookupFunction | undefined;
  autoStart: boolean;
  migrate: boolean;
  pollInterval: number;
  maxPayloadBytes: number;
  responseBodyLimit: number;
  clock: Clock;
  endpointConcurrency: number;
  circuitBreaker: { threshold?: number; cooloff?: number; maxCooloff?: number } | false;
  disableAfter: Duration;
  retention: { succeeded?: Duration; failed?: Duration } | false;
  engine: 'inline' | 'worker';
  telemetry: TelemetryOptions | false | undefined;
  /** Resolved forms of the options above. */
  resolved: {
    circuit: CircuitConfig;
    retention: { succeeded: number | null; failed: number | null };
  };
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
  lookup: undefined,
  autoStart: true,
  migrate: true,
  pollInterval: 1_000,
  maxPayloadBytes: 1024 * 1024,
  responseBodyLimit: 16 * 1024,
  clock: systemClock,
  endpointConcurrency: 8,
  circuitBreaker: Object.freeze({ threshold: 5, cooloff: 30_000, maxCooloff: 600_000 }),
  disableAfter: '5d',
  retention: Object.freeze({ succeeded: '30d', failed: '90d' }),
  engine: undefined as unknown as 'inline',
  telemetry: undefined,
  resolved: undefined as unknown as ResolvedOptions['resolved'],
});

const KNOWN = new Set(Object.keys(DEFAULT_OPTIONS).filter((key) => key !== 'resolved'));

/** Spreads the defaults under the user's options and checks every one. */
export function resolveOptions(input: unknown): ResolvedOptions {
  if (input === undefined) input = {};
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
  if (o.lookup !== undefined && typeof o.lookup !== 'function') {
    fail('lookup', 'a function like `dns.lookup(hostname, options, callback)`', o.lookup);
  }
  if (typeof o.autoStart !== 'boolean') fail('autoStart', 'a boolean', o.autoStart);
  if (typeof o.migrate !== 'boolean') fail('migrate', 'a boolean', o.migrate);
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
  integerIn('endpointConcurrency', o.endpointConcurrency, 1, 10_000);
  const disableAfter = duration('disableAfter', o.disableAfter);
  let circuit: CircuitConfig = { threshold: 0, cooloff: 30_000, maxCooloff: 600_000, disableAfter };
  if (o.circuitBreaker !== false) {
    if (!isPlainObject(o.circuitBreaker))
      fail('circuitBreaker', '`false` or `{ threshold?, cooloff?, maxCooloff? }`', o.circuitBreaker);
    const extra = unknownKey(o.circuitBreaker, new Set(['threshold', 'cooloff', 'maxCooloff']));
    if (extra !== undefined)
      throw new InvalidOptionError(`circuitBreaker.${extra}`, `Unknown option \`circuitBreaker.${extra}\``);
    const c = { threshold: 5, cooloff: 30_000, maxCooloff: 600_000, ...definedOnly(o.circuitBreaker) };
    integerIn('circuitBreaker.threshold', c.threshold, 1, 1_000_000);
    integerIn('circuitBreaker.cooloff', c.cooloff, 1, 24 * 60 * 60 * 1000);
    integerIn('circuitBreaker.maxCooloff', c.maxCooloff, c.cooloff as number, 7 * 24 * 60 * 60 * 1000);
    circuit = {
      threshold: c.threshold as number,
      cooloff: c.cooloff as number,
      maxCooloff: c.maxCooloff as number,
      disableAfter,
    };
  }
  let retention: { succeeded: number | null; failed: number | null } = { succeeded: null, failed: null };
  if (o.retention !== false) {
    if (!isPlainObject(o.retention))
      fail('retention', '`false` or `{ succeeded?, failed? }` durations', o.retention);
    const extra = unknownKey(o.retention, new Set(['succeeded', 'failed']));
    if (extra !== undefined)
      throw new InvalidOptionError(`retention.${extra}`, `Unknown option \`retention.${extra}\``);
    const r = o.retention;
    retention = {
      succeeded: r.succeeded === undefined ? null : duration('retention.succeeded', r.succeeded),
      failed: r.failed === undefined ? null : duration('retention.failed', r.failed),
    };
  }
  o.engine = engineFor(o.engine, o.database, o.clock);
  o.telemetry = checkTelemetry(o.telemetry);
  o.resolved = { circuit, retention };
  return o;
}
