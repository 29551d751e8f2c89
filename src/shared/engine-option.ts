import type { Database } from 'better-sqlite3';
import { type Clock, systemClock } from './clock.js';
import { InvalidOptionError } from './errors/input.js';
import { fail } from './option-checks.js';

/** `engine: 'worker'` needs what a second thread can share: a database file, the system clock. */
export function engineFor(engine: unknown, database: string | Database, clock: Clock): 'inline' | 'worker' {
  // By default, the engine leaves the application's thread wherever a second thread can share the database.
  if (engine === undefined)
    return databaseFile(database) !== null && clock === systemClock ? 'worker' : 'inline';
  if (engine !== 'inline' && engine !== 'worker') fail('engine', "`'inline'` or `'worker'`", engine);
  if (engine === 'inline') return engine;
  if (databaseFile(database) === null) {
    throw new InvalidOptionError(
      'engine',
      "`engine: 'worker'` needs a database file (in WAL mode, when the application passes its connection): a worker thread cannot share a `:memory:` or temporary database",
    );
  }
  if (clock !== systemClock) {
    throw new InvalidOptionError(
      'engine',
      "`engine: 'worker'` runs on the system clock: an injected `clock` needs `engine: 'inline'`",
    );
  }
  return engine;
}

/**
 * The file behind the database, or `null` for an in-memory or temporary one, or
 * the application's connection to a file not in WAL mode (a second connection
 * would contend with it for every write; hookline does not change its journal mode).
 */
export function databaseFile(database: string | Database): string | null {
  if (typeof database !== 'string') {
    if (database.memory || database.name === '') return null;
    return database.pragma('journal_mode', { simple: true }) === 'wal' ? database.name : null;
  }
  return database === '' || database === ':memory:' ? null : database;
}
