import type { AttemptResult, ClaimBatch, ClaimOutcome, Lease } from '../../engine/claims.js';
import {
  endedInSuccess,
  foldAttempts,
  loggedByEndpoint,
  type OutcomeTally,
  retriedEndpoints,
  tallyOutcomes,
} from '../../engine/fold-outcomes.js';
import { isDeadOwner } from '../../engine/lease-owner.js';
import type { LiveEndpoint } from '../../engine/live-endpoints.js';
import type { ClaimPlan, DispatchStore, RecordOutcome } from '../../engine/store-port.js';
import { type CircuitConfig, HEALTHY, type HealthState } from '../../shared/circuit.js';
import type { Expansion } from '../fanout.js';
import { type Queryable, transaction } from './db.js';
import type { PgStore } from './store.js';
import type { DeliveredBatch } from './turn-sql.js';
/** What the dispatcher reads of the endpoints (`PgEndpointCache`: the enabled ones, following every sender's changes). */
export interface PgEndpointSource {
  refresh(): Promise<void>;
  isAt(version: number): boolean;
  /** The version the cache holds (-1 before its first read). */
  readonly at: number;
  all(): readonly LiveEndpoint[];
  get(id: string): LiveEndpoint | undefined;
  matching(type: string, tenant: string | null): readonly LiveEndpoint[];
}

/**
 * The dispatcher's view of PostgreSQL. Every call goes through the pool, never
 * through a client of the application, so `busy()` is always false.
 */
export class PgDispatchStore implements DispatchStore {
  /** `endpoints_version` as this turn's record read it (see `endpoints`). */
  private versionThisTurn: number | undefined;

  constructor(
    private readonly store: PgStore,
    private readonly cache: PgEndpointSource,
    private readonly owner: string,
    private readonly circuit: CircuitConfig,
  ) {}

  busy(): boolean {
    return false;
  }

  /**
   * The endpoints, read again when they changed. A record by `record_delivered` earlier in this
   * turn read their version: when the cache is at it, the turn plans without a read of its own
   * (a round trip), and sees every change that committed before the record.
   */
  async endpoints(): Promise<readonly LiveEndpoint[]> {
    const seen = this.versionThisTurn;
    this.versionThisTurn = undefined;
    if (seen === undefined || !this.cache.isAt(seen)) await this.cache.refresh();
    return this.cache.all();
  }

  /** What an earlier turn's record read of the endpoints says nothing of this one. */
  turnStarted(): void {
    this.versionThisTurn = undefined;
  }

  endpoint(id: string): LiveEndpoint | undefined {
    return this.cache.get(id);
  }

  expand(now: number): Promise<Expansion> {
    return this.store.fanout.expand(this.cache, now);
  }

  claim(batch: ClaimBatch): Promise<ClaimOutcome> {
    return this.store.claims.claim(batch);
  }

  /**
   * Writes the attempts and the deliveries' new states, folds each outcome
   * into its endpoint's health (rows locked in id order, so senders recording
   * at once neither lose an update nor deadlock), and disables an endpoint
   * that must be, all in one transaction (as `SqliteDispatchStore.record`). A batch whose every
   * endpoint ended with a success sets their health whatever it was: one call to `record_delivered`.
   */
  async record(results: readonly AttemptResult[], owner: string, now: number): Promise<RecordOutcome> {
    const { store } = this;
    const delivered = deliveredBatch(results, owner, now);
    if (delivered !== null) return this.recordDelivered(delivered);
    const byEndpoint = loggedByEndpoint(results);
    const tally = tallyOutcomes(results);
    const retried = retriedEndpoints(results);
    return transaction(store.pool, async (client): Promise<RecordOutcome> => {
      await store.outbox.recordIn(client, results, owner);
      const outcome: RecordOutcome = { health: new Map(), disabled: [] };
      // The activity goes with the health and counts when no other write follows (see health-sql.ts's record).
      let counted = false;
      if (byEndpoint.size > 0)
        counted = await this.foldHealth(client, byEndpoint, now, outcome, retried.size === 0 ? tally : null);
      // An attempt that was in flight when its endpoint was disabled or removed comes back
      // with a retry scheduled: it must end as failed like the endpoint's other pending rows.
      for (const endpointId of retried) {
        const row = await store.endpoints.get(endpointId, client);
        if (row === undefined) {
          await store.endpoints.failPendingIn(client, endpointId, 'endpoint removed', now);
        } else if (row.enabled === 0) {
          const reason = `endpoint disabled: ${row.disabled_reason ?? 'disabled'}`;
          await store.endpoints.failPendingIn(client, endpointId, reason, now);
        }
      }
      if (!counted) await store.health.countActivityIn(client, now, tally);
      return outcome;
    });
  }

  /**
   * A batch that `record` writes in one call, and a plan of one request that `claim_due` can
   * claim: both in one call, `record_then_claim`, which claims only if the endpoints are still at
   * the cache's version. A plan of several requests is claimed by the caller, as `claim` does.
   */
  async recordThenClaim(
    results: readonly AttemptResult[],
    lease: Lease,
    plan: (endpoints: readonly LiveEndpoint[]) => ClaimPlan,
  ): Promise<
    { recorded: RecordOutcome; plan: ClaimPlan; claim: ClaimOutcome | 'separately' | 'moved' } | undefined
  > {
    const { store, cache } = this;
    const batch = deliveredBatch(results, lease.owner, lease.now);
    if (batch === null) return undefined;
    const version = cache.at;
    const planned = plan(cache.all());
    const [first] = planned.requests;
    if (planned.requests.length === 1 && store.turn.canClaim(first!)) {
      const asked = Math.min(first!.max, planned.budget);
      const written = await store.claims.recordThenClaim(batch, version, first!, asked, lease);
      this.versionThisTurn = written.endpointsVersion;
      const recorded = { health: written.health, disabled: [] };
      return { recorded, plan: planned, claim: written.claim ?? 'moved' };
    }
    const recorded = await this.recordDelivered(batch);
    // The version the plan was made with, not the cache's now: an emit or the poll may have read it meanwhile.
    return { recorded, plan: planned, claim: this.versionThisTurn === version ? 'separately' : 'moved' };
  }

  /** A batch that ended in success, in one call (`record_delivered`), which also reads the endpoints' version. */
  private async recordDelivered(batch: DeliveredBatch): Promise<RecordOutcome> {
    const written = await this.store.turn.recordDelivered(batch);
    this.versionThisTurn = written.endpointsVersion;
    return { health: written.health, disabled: [] };
  }

  /**
   * Folds each endpoint's outcomes into its health, writes them in one statement (with the batch's
   * activity when `tally` is given and no endpoint is disabled after it), and disables the endpoints
   * that must be. Says whether the activity was written.
   */
  private async foldHealth(
    client: Queryable,
    byEndpoint: Map<string, AttemptResult[]>,
    now: number,
    outcome: RecordOutcome,
    tally: OutcomeTally | null,
  ): Promise<boolean> {
    const { store } = this;
    const current = await store.health.lockIn(client, [...byEndpoint.keys()]);
    const folded = [...byEndpoint]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([endpointId, list]) => {
        // No row: it was deleted (a reset by an endpoint update) between its creation and its lock.
        const was = current.get(endpointId) ?? HEALTHY;
        const { health, succeeded: ok, disable } = foldAttempts(was, list, this.circuit);
        outcome.health.set(endpointId, health);
        return { endpointId, health, ok, failed: list.length - ok, disable };
      });
    const disabling = folded.flatMap(({ endpointId, disable: reason }) =>
      reason === null ? [] : [{ endpointId, reason }],
    );
    const counted = tally !== null && disabling.length === 0;
    await store.health.recordIn(client, folded, now, counted ? tally : null);
    for (const { endpointId, reason } of disabling) {
      const row = await store.endpoints.get(endpointId, client);
      if (row !== undefined && row.enabled === 1) {
        await store.endpoints.updateIn(
          client,
          { ...row, enabled: 0, disabled_reason: reason, updated_at: now },
          `endpoint disabled: ${reason}`,
        );
        outcome.disabled.push({ endpointId, reason });
      }
    }
    return counted;
  }

  dueTimes(endpointIds: readonly string[]): Promise<Map<string, number | null>> {
    return this.store.claims.dueTimes(endpointIds);
  }

  healths(): Promise<Map<string, HealthState>> {
    return this.store.health.all();
  }

  /**
   * Returns rows whose lease ran out (their sender died, on any machine) to
   * pending, and at once those of a dead process on this machine.
   */
  async expireLeases(now: number): Promise<number> {
    let released = await this.store.outbox.expireLeases(now);
    for (const holder of await this.store.outbox.leaseOwners()) {
      if (holder !== this.owner && isDeadOwner(holder))
        released += await this.store.outbox.release(holder, now);
    }
    return released;
  }

  release(owner: string, now: number): Promise<number> {
    return this.store.outbox.release(owner, now);
  }

  idle(): void {}
}

/** The usual batch (no retry to check, every endpoint's last attempt a success), for one call; else `null`. */
function deliveredBatch(results: readonly AttemptResult[], owner: string, at: number): DeliveredBatch | null {
  if (retriedEndpoints(results).size > 0) return null;
  const endpoints = endedInSuccess(loggedByEndpoint(results));
  return endpoints === null ? null : { results, owner, endpoints, at, tally: tallyOutcomes(results) };
}
