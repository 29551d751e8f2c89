import { LiveEndpoints } from '../../engine/live-endpoints.js';
import type { EndpointRow } from '../../shared/rows.js';
import type { EndpointChange, EndpointSql } from './endpoint-sql.js';

/** Changes read again one by one, at most; past it the cache reloads every endpoint. */
const PATCH_MAX = 256;

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
    const seen = this.seen;
    if (seen !== undefined) {
      const log = this.sql.changesFrom(seen.seq, PATCH_MAX + 2);
      const first = log[0];
      // The row read last is still there, the same one: the rows after it are all that changed.
      if (first?.seq === seen.seq && first.token === seen.token && log.length <= PATCH_MAX + 1) {
        const changed = new Map<string, EndpointRow | undefined>();
        for (const change of log.slice(1)) changed.set(change.endpoint_id, undefined);
        for (const id of changed.keys()) changed.set(id, this.sql.get(id));
        this.patch(version, changed);
        this.seen = log[log.length - 1];
        return;
      }
    }
    // Read before the rows: a change committed in between is read again next time, never missed.
    this.seen = this.sql.lastChange();
    this.replace(version, this.sql.listEnabled());
  }
}
