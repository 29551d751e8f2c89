import { LiveEndpoints } from '../../engine/live-endpoints.js';
import { changedSince, type EndpointChange, PATCH_READ } from '../endpoint-log.js';
import type { PgEndpointSql } from './endpoint-sql.js';
/**
 * The enabled endpoints in memory, brought up to date when `endpoints_version`
 * moves (every change by any sender bumps it): as on SQLite (EndpointCache), it
 * reads again only the endpoints named in the change log after the last row it
 * read, or every endpoint on its first load, after a gap, or after many changes.
 * Concurrent refreshes share reads.
 */
export class PgEndpointCache extends LiveEndpoints {
  /** The last row of the change log this cache has applied. */
  private seen: EndpointChange | undefined;
  private refreshing: Promise<void> | null = null;
  private queued: Promise<void> | null = null;

  constructor(private readonly endpoints: PgEndpointSql) {
    super();
  }

  /**
   * Resolves once a read that began after this call is in. A read already
   * under way may have started before the caller's own change (an endpoint
   * just added): the caller then waits for the next one, which callers share.
   */
  refresh(): Promise<void> {
    if (this.refreshing === null) return this.start();
    // After the read under way, whether it worked or not: its failure is its own callers' to see.
    this.queued ??= this.refreshing
      .catch(() => undefined)
      .then(() => {
        this.queued = null;
        return this.start();
      });
    return this.queued;
  }

  private start(): Promise<void> {
    const refreshing = this.load().finally(() => {
      this.refreshing = null;
    });
    this.refreshing = refreshing;
    return refreshing;
  }

  private async load(): Promise<void> {
    const version = await this.endpoints.version();
    if (version === this.version) return;
    if (this.seen !== undefined) {
      const log = await this.endpoints.changesFrom(this.seen.seq, PATCH_READ);
      const ids = changedSince(this.seen, log, version);
      if (ids !== undefined) {
        const rows = await this.endpoints.getMany(ids);
        this.patch(version, new Map(ids.map((id) => [id, rows.get(id)])));
        this.seen = log[log.length - 1];
        return;
      }
    }
    // Read before the rows: a change committed in between is read again next time, never missed.
    const seen = await this.endpoints.lastChange();
    this.replace(version, await this.endpoints.listEnabled());
    this.seen = seen;
  }
}
