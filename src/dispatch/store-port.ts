import type { LiveEndpoint } from '../endpoint-cache.js';
import type { AttemptResult, ClaimedDelivery } from '../store/outbox-sql.js';

type MaybePromise<T> = T | Promise<T>;

/**
 * What the dispatcher needs of a store. Every call may be synchronous
 * (SQLite) or asynchronous (a networked database): the dispatcher awaits each.
 */
export interface DispatchStore {
  /** True while the connection is inside an application transaction: the dispatcher must not touch it then. */
  busy(): boolean;
  claimDue(now: number, limit: number, owner: string, leaseUntil: number): MaybePromise<ClaimedDelivery[]>;
  record(results: readonly AttemptResult[], owner: string): MaybePromise<void>;
  nextDueAt(): MaybePromise<number | null>;
  expireLeases(now: number): MaybePromise<number>;
  release(owner: string, now: number): MaybePromise<number>;
  /** The enabled endpoint, from a cache that follows changes made by any process. */
  endpoint(id: string): MaybePromise<LiveEndpoint | undefined>;
  /** Called when the dispatcher has a quiet moment (WAL checkpoint). */
  idle(): MaybePromise<void>;
}
