import { LiveEndpoints } from '../../engine/live-endpoints.js';
import { changedSince, type EndpointChange, type EndpointPatch, PATCH_READ } from '../endpoint-log.js';
import type { EndpointSql } from './endpoint-sql.js';

/**
 * The enabled endpoints, kept in memory and brought up to date whenever
 * `endpoints_version` moves: any process sharing the database bumps it when it
 * changes an endpoint, so one cheap read per use keeps every process current.
 * What changed is read from the change log after the last row this cache read
 * (a thousand endpoints cost a change what one does); the first load, a gap in
 * the log, or many changes at once reload every endpoint.
 */
export class EndpointCache extends LiveEndpoints {
  /** The last row of the change log this cache has applied. */
  private seen: EndpointChange | undefined;

  constructor(private readonly sql: EndpointSql) {
    super();
  }

  refresh(): void {
    const version = this.sql.version();
    if (version === this.version) return;
    if (this.seen !== undefined) {
      const log = this.sql.changesFrom(this.seen.seq, PATCH_READ);
      const ids = changedSince(this.seen, log, version);
      if (ids !== undefined) {
        const changed: EndpointPatch = new Map(ids.map((id) => [id, this.sql.get(id)]));
        this.patch(version, changed);
        this.seen = log[log.length - 1];
        return;
      }
    }
    // Read before the rows: a change committed in between is read again next time, never missed;
    // kept only once the rows are in, so that a reload that failed is made again.
    const seen = this.sql.lastChange();
    this.replace(version, this.sql.listEnabled());
    this.seen = seen;
  }
}
