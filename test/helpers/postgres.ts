import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** Where the tests find PostgreSQL: `HOOKLINE_TEST_PG_URL`, else the CI service on 127.0.0.1. */
export const PG_URL = process.env.HOOKLINE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Whether PostgreSQL answers, and if not why (shown in the name of the skipped suite). */
export async function probePostgres(): Promise<{ available: boolean; reason: string }> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return { available: true, reason: `PostgreSQL at ${PG_URL}` };
  } catch (error) {
    return {
      available: false,
      reason: `skipped: PostgreSQL unreachable at ${PG_URL} (${(error as Error).message}); set HOOKLINE_TEST_PG_URL`,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A schema name no other test file uses. */
export const uniqueSchema = (label = 'test'): string => `hookline_${label}_${randomBytes(6).toString('hex')}`;

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}
