import { LoggedEndpoints, PATCH_READ } from '../endpoint-log.js';
import type { EndpointSql } from './endpoint-sql.js';

/**
 * The enabled endpoints, kept in memory and brought up to date whenever
 * `endpoints_version` moves: any process sharing the database bumps it when it
 * changes an endpoint, so one cheap read per use keeps every process current.
 * What changed is read from the change log after the last row this cache read
 * (a thousand endpoints cost a change what one does); the first load, a gap in
 * the log, or many changes at once reload every endpoint (LoggedEndpoints).
 */
export class EndpointCache extends LoggedEndpoints {
  constructor(private readonly sql: EndpointSql) {
    super();
  }

  refresh(): void {
    const version = this.sql.version();
    if (version === this.version) return;
    const from = this.logFrom();
    if (from !== undefined) {
      const log = this.sql.changesFrom(from, PATCH_READ);
      const ids = this.changedIn(version, log);
      if (ids !== undefined) {
        this.applyChanges(version, log, ids, this.sql.getMany(ids));
        return;
      }
    }
    const seen = this.sql.lastChange();
    this.reload(version, this.sql.listEnabled(), seen);
  }
}
