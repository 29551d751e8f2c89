import { LoggedEndpoints, PATCH_READ } from '../endpoint-log.js';
import type { PgEndpointSql } from './endpoint-sql.js';
/**
 * The enabled endpoints in memory, brought up to date when `endpoints_version`
 * moves (every change by any sender bumps it): as on SQLite (EndpointCache), it
 * reads again only the endpoints named in the change log after the last row it
 * read, or every endpoint on its first load, after a gap, or after many changes.
 * Concurrent refreshes share reads.
 */
export class PgEndpointCache extends LoggedEndpoints {
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

  /** The version the cache holds (-1 before its first read). */
  get at(): number {
    return this.version;
  }

  /** Whether the cache holds the endpoints as of `version` (as `endpoints_version` was read elsewhere). */
  isAt(version: number): boolean {
    return this.version === version;
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
    const from = this.logFrom();
    if (from !== undefined) {
      const log = await this.endpoints.changesFrom(from, PATCH_READ);
      const ids = this.changedIn(version, log);
      if (ids !== undefined) {
        this.applyChanges(version, log, ids, await this.endpoints.getMany(ids));
        return;
      }
    }
    const seen = await this.endpoints.lastChange();
    this.reload(version, await this.endpoints.listEnabled(), seen);
  }
}
