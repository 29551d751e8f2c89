import type { Clock } from '../../shared/clock.js';
import type { EndpointCache } from '../../store/sqlite/endpoint-cache.js';
import type { SqliteStore } from '../../store/sqlite/store.js';

/** What the SQLite APIs share with their sender (the PostgreSQL side's `PgContext`). */
export interface SqliteContext {
  store: SqliteStore;
  cache: EndpointCache;
  clock: Clock;
  /** Refuses after close: an owned connection is gone then. */
  guard(method: string): void;
  checkUrl(url: string): void;
  /** Rows of this endpoint (all endpoints: `undefined`) are due at `at`. */
  scheduled(endpointId: string | undefined, at: number): void;
  /**
   * Creates the deliveries of events still queued for fan-out: called before reading or adding
   * deliveries, so the log shows every delivery of every emit made before (see `Emitter.settle`).
   */
  settle(): void;
  /** The endpoint's health was reset (enabled, new URL): the dispatcher drops its old circuit and looks now. */
  healthReset(endpointId: string): void;
}
