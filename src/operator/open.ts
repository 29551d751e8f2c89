import fs from 'node:fs';
import { InvalidArgumentError } from '../shared/errors/input.js';
import type { SenderOptions } from '../shared/options.js';
import type { OperatorApi } from './api.js';

/** Where the operator tools find the outbox: a SQLite file or a PostgreSQL URL. */
export interface OpenTarget {
  /** A SQLite file path, or `postgres://…` / `postgresql://…`. */
  db: string;
  /** PostgreSQL: the schema (default `hookline`). */
  schema?: string;
  /** SQLite: the table prefix (default `hookline_`). */
  tablePrefix?: string;
}

/** The options an operator tool adds: never a dispatcher, a sweep or a schema change of its own. */
export type ToolOptions = Pick<SenderOptions, 'allowPrivateNetworks' | 'allowedNetworks' | 'retention'>;

export interface OpenedDatabase {
  api: OperatorApi;
  kind: 'sqlite' | 'postgres';
}

const POSTGRES_URL = /^postgres(?:ql)?:\/\//i;

/**
 * Opens the outbox for an operator: `migrate: false` (a database hookline has not set up, or
 * set up at another version, is refused and left as it is), `autoStart: false` (nothing is
 * delivered from here: the application's senders pick up what is retried at their next poll),
 * no retention sweep unless asked for.
 */
export async function openDatabase(target: OpenTarget, options: ToolOptions = {}): Promise<OpenedDatabase> {
  const shared = { autoStart: false, migrate: false, retention: false as const, ...options };
  if (POSTGRES_URL.test(target.db)) {
    if (target.tablePrefix !== undefined) {
      throw new InvalidArgumentError('--table-prefix', '--table-prefix is for SQLite files; use --schema');
    }
    const { PgWebhookSender } = await import('../postgres.js');
    const sender = new PgWebhookSender({ ...shared, connectionString: target.db, schema: target.schema });
    try {
      await sender.ready;
    } catch (error) {
      await sender.close();
      throw error;
    }
    return { api: sender, kind: 'postgres' };
  }
  if (target.schema !== undefined) {
    throw new InvalidArgumentError(
      '--schema',
      '--schema is for PostgreSQL; a SQLite file takes --table-prefix',
    );
  }
  if (!fs.existsSync(target.db)) {
    throw new InvalidArgumentError('--db', `No database at ${target.db} (the CLI never creates one)`);
  }
  const { WebhookSender } = await import('../index.js');
  const sender = new WebhookSender({
    ...shared,
    database: target.db,
    tablePrefix: target.tablePrefix,
    engine: 'inline',
  });
  return { api: sender, kind: 'sqlite' };
}
