import type { Clock } from '../../shared/clock.js';
import type { PgEndpointCache } from '../../store/postgres/endpoint-cache.js';
import type { PgStore } from '../../store/postgres/store.js';
/** What the PostgreSQL APIs share with their sender. */
export interface PgContext {
  store: PgStore;
  cache: PgEndpointCache;
  clock: Clock;
  /** Refuses after close, waits for the migrations, and turns driver errors into `StoreError`. */
  call<T>(method: string, fn: () => Promise<T>): Promise<T>;
  checkUrl(url: string): void;
  /** Rows of this endpoint (all endpoints: `undefined`) are due at `at`. */
  scheduled(endpointId: string | undefined, at: number): void;
  /** Creates the deliveries of events still queued for fan-out (see `PgEmitter.settle`); call inside `call`. */
  settle(): Promise<void>;
  /** The endpoint's health was reset (enabled, new URL): the dispatcher drops its old circuit and looks now. */
  healthReset(endpointId: string): void;
}
