import type { Database } from 'better-sqlite3';
import { SchemaVersionError } from '../../shared/errors/store.js';
import { MIGRATIONS } from './schema.js';
/**
 * Brings the schema up to date in one `BEGIN IMMEDIATE` transaction. The write
 * lock is taken before the version is read, so two processes opening a new
 * file at once serialize: the second finds the work done.
 */
export function migrate(db: Database, prefix: string): void {
  const latest = MIGRATIONS.length;
  const table = `${prefix}migrations`;
  const run = db.transaction(() => {
    db.exec(`CREATE TABLE IF NOT EXISTS ${table} (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`);
    const row = db.prepare(`SELECT max(version) AS version FROM ${table}`).get() as {
      version: number | null;
    };
    const current = row.version ?? 0;
    if (current > latest) throw new SchemaVersionError(current, latest);
    const record = db.prepare(`INSERT INTO ${table} (version, applied_at) VALUES (?, ?)`);
    for (let version = current + 1; version <= latest; version++) {
      db.exec(MIGRATIONS[version - 1]!.replaceAll('{p}', prefix));
      record.run(version, Date.now());
    }
  });
  // Already up to date is the common case: check without taking the write lock.
  if (!db.inTransaction && isCurrent(db, table, latest)) return;
  if (db.inTransaction) run();
  else run.immediate();
}

/** The version recorded in `table` (0: no table, a database hookline never set up). */
function recordedVersion(db: Database, table: string): number {
  const exists = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(table);
  if (!exists) return 0;
  const row = db.prepare(`SELECT max(version) AS version FROM ${table}`).get() as { version: number | null };
  return row.version ?? 0;
}

function isCurrent(db: Database, table: string, latest: number): boolean {
  const current = recordedVersion(db, table);
  if (current > latest) throw new SchemaVersionError(current, latest);
  return current === latest;
}

/** With `migrate: false`: the schema must be there, at this version; nothing is written. */
export function checkSchema(db: Database, prefix: string): void {
  const current = recordedVersion(db, `${prefix}migrations`);
  if (current !== MIGRATIONS.length) throw new SchemaVersionError(current, MIGRATIONS.length);
}
