import type pg from 'pg';
import type { EndpointRow } from '../../shared/rows.js';
import { PgBulkSql } from './bulk-sql.js';
import { PgClaimSql } from './claim-sql.js';
import { quoteIdent, transaction } from './db.js';
import { PgEndpointSql } from './endpoint-sql.js';
import { PgFanoutSql } from './fanout-sql.js';
import { PgHealthSql } from './health-sql.js';
import { PgLogSql } from './log-sql.js';
import { PgOutboxSql } from './outbox-sql.js';
import { PgRetentionSql } from './retention-sql.js';
import { PgTurnSql } from './turn-sql.js';
/**
 * The PostgreSQL store: one pool, one schema, and its statements grouped as on
 * SQLite (`src/store/sqlite/store.ts`). All values are bound; the only interpolated
 * text is the quoted, validated schema name. Statements are named, so each is
 * parsed once per connection.
 */
export class PgStore {
  /** The quoted schema name. */
  readonly s: string;
  /** The NOTIFY channel that tells every sender sharing the schema that rows are due. */
  readonly channel: string;
  readonly endpoints: PgEndpointSql;
  readonly outbox: PgOutboxSql;
  readonly fanout: PgFanoutSql;
  readonly claims: PgClaimSql;
  /** A turn's usual claim and record, each in one call (migration 6). */
  readonly turn: PgTurnSql;
  readonly health: PgHealthSql;
  readonly bulk: PgBulkSql;
  readonly retention: PgRetentionSql;
  readonly log: PgLogSql;

  constructor(
    readonly pool: pg.Pool,
    readonly schema: string,
  ) {
    this.s = quoteIdent(schema);
    this.channel = `${schema}_due`;
    this.fanout = new PgFanoutSql(pool, this.s, `hookline:${schema}`, this.channel);
    this.endpoints = new PgEndpointSql(pool, this.s, this.fanout);
    this.outbox = new PgOutboxSql(pool, this.s, this.channel, this.fanout.lockKey);
    this.turn = new PgTurnSql(pool, this.s);
    this.claims = new PgClaimSql(pool, this.s, this.turn);
    this.health = new PgHealthSql(pool, this.s);
    this.bulk = new PgBulkSql(pool, this.s);
    this.retention = new PgRetentionSql(pool, this.s);
    this.log = new PgLogSql(pool, this.s);
  }

  /**
   * Writes the whole endpoint row in a transaction of its own; with
   * `failPendingWith` its pending deliveries end as failed, with `resetHealth`
   * its circuit closes and its failure streak is forgotten.
   */
  updateEndpoint(row: EndpointRow, failPendingWith?: string, resetHealth = false): Promise<void> {
    return transaction(this.pool, async (client) => {
      await this.endpoints.updateIn(client, row, failPendingWith);
      if (resetHealth) await this.health.deleteIn(client, row.id);
    });
  }
}
