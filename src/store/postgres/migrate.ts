import type pg from 'pg';
import { SchemaVersionError } from '../../shared/errors/store.js';
import { type Queryable, quoteIdent, transaction } from './db.js';
import { PG_MIGRATIONS } from './schema.js';
/**
 * Brings the schema up to date in one transaction. A transaction-scoped
 * advisory lock keyed by the schema name is taken first, so several processes
 * starting at once serialize: the later ones find the work done. A schema
 * newer than this code is refused with `SchemaVersionError`.
 */
export async function migratePg(pool: pg.Pool, schema: string, migrations = PG_MIGRATIONS): Promise<void> {
  const s = quoteIdent(schema);
  const latest = migrations.length;
  await transaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`hookline:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`,
    );
    const current = await currentVersion(client, s);
    if (current > latest) throw new SchemaVersionError(current, latest);
    for (let version = current + 1; version <= latest; version++) {
      await client.query(migrations[version - 1]!.replaceAll('{s}', s));
      await client.query(`INSERT INTO ${s}.migrations (version, applied_at) VALUES ($1, $2)`, [
        version,
        Date.now(),
      ]);
    }
  });
}

async function currentVersion(db: Queryable, s: string): Promise<number> {
  const result = await db.query<{ version: number | null }>(
    `SELECT max(version) AS version FROM ${s}.migrations`,
  );
  return result.rows[0]?.version ?? 0;
}

/** With `migrate: false`: the schema must be there, at this version; nothing is written. */
export async function checkSchemaPg(
  pool: pg.Pool,
  schema: string,
  migrations = PG_MIGRATIONS,
): Promise<void> {
  const found = await pool.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [
    `${quoteIdent(schema)}.migrations`,
  ]);
  const current = found.rows[0]?.t ? await currentVersion(pool, quoteIdent(schema)) : 0;
  if (current !== migrations.length) {
    throw new SchemaVersionError(current, migrations.length, `The schema \`${schema}\``);
  }
}
