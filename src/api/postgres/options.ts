import type pg from 'pg';
import { systemClock } from '../../shared/clock.js';
import { InvalidArgumentError, InvalidOptionError } from '../../shared/errors/input.js';
import { type ResolvedOptions, resolveOptions, type SenderOptions } from '../../shared/options.js';
import { describe, isPlainObject } from '../../shared/validate.js';
import { type Queryable, validateSchema } from '../../store/postgres/db.js';
import type { CloseOptions } from '../close-options.js';
import type { EmitOptions } from '../emit-input.js';
/** Options of `new PgWebhookSender()`: those of `WebhookSender` but `database` and `tablePrefix`, plus where PostgreSQL is. */
export interface PgSenderOptions extends Omit<SenderOptions, 'database' | 'tablePrefix'> {
  /** A `pg.Pool` the application already has. hookline borrows clients and never ends it. */
  pool?: pg.Pool;
  /** Or a connection string: hookline then owns a pool of its own and ends it on `close()`. */
  connectionString?: string;
  /**
   * The PostgreSQL schema holding hookline's tables, created when missing.
   * @default 'hookline'
   */
  schema?: string;
}

/** Options of one PostgreSQL `emit`. */
export interface PgEmitOptions extends EmitOptions {
  /**
   * A `pg` client inside the application's own `BEGIN`: the event is written
   * through it, so it commits or rolls back with the business data.
   */
  client?: Queryable;
}

export interface PgEmitManyOptions {
  /** As for `emit`: write every event through the application's client (inside its transaction). */
  client?: Queryable;
}

/** The same as `CloseOptions`. */
export type PgCloseOptions = CloseOptions;

/** Event types mapped to their payload types; the default accepts any type and any JSON value. */
export type PgEventMap = Record<string, unknown>;

/** The checked options: the shared ones resolved, the schema validated, and where PostgreSQL is. */
export interface ResolvedPgOptions {
  options: ResolvedOptions;
  schema: string;
  /** Exactly one of `pool` (the application's) and `connectionString` (a pool hookline owns). */
  pool: pg.Pool | undefined;
  connectionString: string | undefined;
  /** With `engine: 'worker'`: what the worker's own pool connects with. */
  connection: Record<string, unknown> | null;
}

function isQueryable(value: unknown): value is Queryable {
  return value !== null && typeof value === 'object' && typeof (value as Queryable).query === 'function';
}

function isPool(value: unknown): value is pg.Pool {
  return isQueryable(value) && typeof (value as pg.Pool).connect === 'function';
}

/** Checks every option as `WebhookSender` does, then the PostgreSQL ones; throws `InvalidOptionError`. */
export function resolvePgOptions(options: unknown): ResolvedPgOptions {
  if (!isPlainObject(options)) {
    throw new InvalidOptionError('options', `Expected \`options\` to be an object, got ${describe(options)}`);
  }
  const { pool, connectionString, schema, ...rest } = options as PgSenderOptions & Record<string, unknown>;
  for (const key of ['database', 'tablePrefix']) {
    if (key in rest) {
      throw new InvalidOptionError(
        key,
        `\`${key}\` is an option of the SQLite sender; PgWebhookSender takes \`pool\` or \`connectionString\`, and \`schema\``,
      );
    }
  }
  // As on SQLite, the engine leaves the application's thread unless a clock is injected.
  const explicit = rest.engine !== undefined;
  const engine =
    rest.engine ?? (rest.clock === undefined || rest.clock === systemClock ? 'worker' : 'inline');
  const resolved = resolveOptions({ ...rest, engine });
  const schemaName = validateSchema(schema ?? 'hookline');
  if ((pool === undefined) === (connectionString === undefined)) {
    throw new InvalidOptionError('pool', 'Expected exactly one of `pool` (a pg.Pool) and `connectionString`');
  }
  if (pool !== undefined && !isPool(pool)) {
    throw new InvalidOptionError('pool', `Expected \`pool\` to be a pg.Pool, got ${describe(pool)}`);
  }
  if (pool === undefined && (typeof connectionString !== 'string' || connectionString.length === 0)) {
    throw new InvalidOptionError(
      'connectionString',
      `Expected \`connectionString\` to be a PostgreSQL URL, got ${describe(connectionString)}`,
    );
  }
  const connection = resolved.engine === 'worker' ? workerConnection(pool, connectionString) : null;
  if (resolved.engine === 'worker' && connection === null) {
    if (explicit) {
      throw new InvalidOptionError(
        'engine',
        "`engine: 'worker'` opens a pool of its own with the pool's settings, and this pool's cannot be copied to a worker thread (a function, a custom `Client`): pass `connectionString`, or `engine: 'inline'`",
      );
    }
    resolved.engine = 'inline';
  }
  return { options: resolved, schema: schemaName, pool, connectionString, connection };
}

/** The settings a worker thread's own pool connects with, or `null` when they cannot be copied there. */
function workerConnection(pool: pg.Pool | undefined, connectionString: string | undefined) {
  if (pool === undefined) return { connectionString };
  const settings = Object.fromEntries(
    Object.entries((pool as pg.Pool & { options: Record<string, unknown> }).options).filter(
      ([, value]) => value !== undefined,
    ),
  );
  try {
    return structuredClone(settings);
  } catch {
    return null;
  }
}

/** Splits `client` off emit options, so the rest is checked as on SQLite. */
export function takeClient(
  options: unknown,
  argument: string,
): { client: Queryable | undefined; rest: unknown } {
  if (!isPlainObject(options) || !('client' in options)) return { client: undefined, rest: options };
  const { client, ...rest } = options;
  if (client !== undefined && !isQueryable(client)) {
    throw new InvalidArgumentError(
      `${argument}client`,
      `Expected \`client\` to be a pg client (with a \`query\` method), got ${describe(client)}`,
    );
  }
  return { client: client as Queryable | undefined, rest };
}
