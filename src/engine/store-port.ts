import type { HealthState } from '../shared/circuit.js';
import type { AttemptResult, ClaimBatch, ClaimOutcome, ClaimRequest, Lease } from './claims.js';
import type { LiveEndpoint } from './live-endpoints.js';

type MaybePromise<T> = T | Promise<T>;

/** What recording a batch of attempts changed beyond the deliveries. */
export interface RecordOutcome {
  /** The new health of every endpoint that had attempts in the batch. */
  health: Map<string, HealthState>;
  /** Endpoints disabled by this batch (410 Gone, or failing for `disableAfter`). */
  disabled: { endpointId: string; reason: string }[];
}

/** What one fan-out pass did. */
export interface Expansion {
  /** Endpoints that were given deliveries: due now. */
  endpoints: Set<string>;
  /** Events may still wait: call again. */
  more: boolean;
}

/** What to claim: the requests, endpoint by endpoint, and how many rows in all. */
export interface ClaimPlan {
  requests: readonly ClaimRequest[];
  budget: number;
}

/**
 * What the dispatcher needs of a store. Every call may be synchronous
 * (SQLite) or asynchronous (a networked database): the dispatcher awaits each.
 */
export interface DispatchStore {
  /** True while the connection is inside an application transaction: the dispatcher must not touch it then. */
  busy(): boolean;
  /** The enabled endpoints, following changes made by any process. */
  endpoints(): MaybePromise<readonly LiveEndpoint[]>;
  /** Leases due rows endpoint by endpoint (see `OutboxSql.claim`). */
  claim(batch: ClaimBatch): MaybePromise<ClaimOutcome>;
  record(results: readonly AttemptResult[], owner: string, now: number): MaybePromise<RecordOutcome>;
  /**
   * Optional, for a store whose calls are synchronous: a whole turn's writes in one transaction.
   * With `expand`, a fan-out pass first (as `expand`); then `record`; then `plan` with what both
   * changed and the endpoints as of the transaction; then `claim` what it planned.
   */
  recordAndClaim?(
    results: readonly AttemptResult[],
    lease: Lease,
    plan: (recorded: RecordOutcome, expanded: Expansion, endpoints: readonly LiveEndpoint[]) => ClaimPlan,
    expand: boolean,
  ): { recorded: RecordOutcome; claim: ClaimOutcome; plan: ClaimPlan; expanded: Expansion };
  /**
   * Optional, for an asynchronous store: a turn's record and claim in one call when it can. Before
   * writing anything it calls `plan` with the endpoints as it holds them, then records the batch
   * and answers for the plan: `claim` is what it claimed in the same call; `'separately'`, the
   * endpoints are current and the caller claims the plan itself; `'moved'`, they changed, and the
   * caller plans again. `undefined`: it cannot for this batch, `plan` was not called and nothing
   * was written (record, then claim).
   */
  recordThenClaim?(
    results: readonly AttemptResult[],
    lease: Lease,
    plan: (endpoints: readonly LiveEndpoint[]) => ClaimPlan,
  ): Promise<
    { recorded: RecordOutcome; plan: ClaimPlan; claim: ClaimOutcome | 'separately' | 'moved' } | undefined
  >;
  /** Creates the deliveries of a batch of events waiting for fan-out, in one transaction. */
  expand(now: number): MaybePromise<Expansion>;
  /** Every endpoint's health, as recorded by any process. */
  healths(): MaybePromise<Map<string, HealthState>>;
  /** When each endpoint's earliest pending row is due (`null`: none). */
  dueTimes(endpointIds: readonly string[]): MaybePromise<Map<string, number | null>>;
  expireLeases(now: number): MaybePromise<number>;
  release(owner: string, now: number): MaybePromise<number>;
  /** The enabled endpoint, from a cache that follows changes made by any process. */
  endpoint(id: string): MaybePromise<LiveEndpoint | undefined>;
  /** Optional: a turn begins (what the store read in an earlier one may be stale now). */
  turnStarted?(): void;
  /** Called when the dispatcher has a quiet moment (WAL checkpoint). */
  idle(): MaybePromise<void>;
}
