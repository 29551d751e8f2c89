import { createHash } from 'node:crypto';
import pg from 'pg';
import { InvalidOptionError } from '../../shared/errors/input.js';
import { describe } from '../../shared/validate.js';
/** Anything that runs queries: a `pg.Pool`, a `pg.Client`, or a client checked out of a pool. */
export interface Queryable {
  query: pg.ClientBase['query'];
}

/**
 * Schema names are interpolated into SQL, so they are checked (letters, digits,
 * `_`, at most 40 characters: room for the `_due` channel suffix) and quoted.
 */
const SCHEMA = /^[A-Za-z_][A-Za-z0-9_]{0,39}$/;

export function validateSchema(value: unknown): string {
  if (typeof value !== 'string' || !SCHEMA.test(value)) {
    throw new InvalidOptionError(
      'schema',
      `Expected \`schema\` to be a PostgreSQL identifier (letters, digits, \`_\`, up to 40 characters, not starting with a digit), got ${describe(value)}`,
    );
  }
  return value;
}

/** `"name"`, doubling any quote (none can pass `validateSchema`, but quoting never relies on that). */
export const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;

// Times are integer ms since the epoch in BIGINT columns; counts are BIGINT too.
// Every hookline query parses them as numbers (exact up to 2^53) through its own
// type parsers, so the application's global `pg.types` settings are never touched.
const INT8 = 20;
const NUMERIC = 1700;
const toNumber = (value: string): number => Number(value);
const TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8 || oid === NUMERIC) return toNumber;
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

/** Statement names: a hash of the text, so the same text is prepared once per connection, under one name. */
const names = new Map<string, string>();
function statementName(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `hookline_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    names.set(text, name);
  }
  return name;
}

/** Runs a named (prepared once per connection) statement with every value bound. */
export async function run<R extends object = Record<string, unknown>>(
  db: Queryable,
  text: string,
  values: readonly unknown[] = [],
): Promise<R[]> {
  const result = await db.query<R>({
    name: statementName(text),
    text,
    values: values as unknown[],
    types: TYPES,
  });
  return result.rows;
}

/** The values of `keys` in `rows`, one array per key in order: the arrays a statement `unnest`s. */
export function columns<R, K extends keyof R>(rows: readonly R[], keys: readonly K[]): R[K][][] {
  return keys.map((key) => rows.map((row) => row[key]));
}

/** Runs a statement and returns how many rows it changed. */
export async function change(db: Queryable, text: string, values: readonly unknown[] = []): Promise<number> {
  const result = await db.query({
    name: statementName(text),
    text,
    values: values as unknown[],
    types: TYPES,
  });
  return result.rowCount ?? 0;
}

/**
 * Runs `fn` in a transaction on a client of the pool; `begin` may name an
 * isolation level (`BEGIN ISOLATION LEVEL READ COMMITTED`) rather than take the server's default.
 */
export async function transaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
  /** The statement that opens it; a function of the connection, to escape values with the driver. */
  begin: string | ((client: pg.PoolClient) => string) = 'BEGIN',
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(typeof begin === 'string' ? begin : begin(client));
    const value = await fn(client);
    await client.query('COMMIT');
    return value;
  } catch (error) {
    // A connection that cannot even roll back is dropped, not handed back to the pool.
    await client.query('ROLLBACK').catch((rollback: Error) => {
      broken = rollback;
    });
    throw error;
  } finally {
    client.release(broken);
  }
}

/**
 * The pool hookline opens when the application passes a connection string.
 * Idle connections do not keep the process alive: a script that forgets close() still exits.
 */
export function openPool(settings: pg.PoolConfig): pg.Pool {
  return new pg.Pool({ ...settings, allowExitOnIdle: true });
}
