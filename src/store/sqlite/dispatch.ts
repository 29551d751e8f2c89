import type { AttemptResult, ClaimBatch, ClaimOutcome, Lease } from '../../engine/claims.js';
import {
  foldAttempts,
  loggedByEndpoint,
  retriedEndpoints,
  tallyOutcomes,
} from '../../engine/fold-outcomes.js';
import { isDeadOwner } from '../../engine/lease-owner.js';
import type { LiveEndpoint } from '../../engine/live-endpoints.js';
import type { ClaimPlan, DispatchStore, RecordOutcome } from '../../engine/store-port.js';
import type { CircuitConfig, HealthState } from '../../shared/circuit.js';
import { type Expansion, NOTHING_QUEUED } from '../fanout.js';
import type { EndpointCache } from './endpoint-cache.js';
import { FANOUT_ROWS } from './fanout-sql.js';
import type { SqliteStore } from './store.js';

/** The dispatcher's view of a SQLite store: every call synchronous, each write one short transaction. */
export class SqliteDispatchStore implements DispatchStore {
  constructor(
    private readonly store: SqliteStore,
    private readonly cache: EndpointCache,
    private readonly owner: string,
    private readonly circuit: CircuitConfig,
  ) {}

  busy(): boolean {
    return this.store.db.inTransaction;
  }

  endpoints(): readonly LiveEndpoint[] {
    this.cache.refresh();
    return this.cache.all();
  }

  endpoint(id: string): LiveEndpoint | undefined {
    return this.cache.get(id);
  }

  /**
   * Fans out queued events, up to FANOUT_ROWS deliveries per transaction, with the endpoints as of
   * that transaction. Looks before it takes the write lock: usually nothing waits.
   */
  expand(now: number): Expansion {
    const { fanout } = this.store;
    if (!fanout.waiting()) return NOTHING_QUEUED;
    const expansion = this.store.write(() => {
      this.cache.refresh();
      return fanout.expand(this.cache, now, FANOUT_ROWS);
    });
    this.store.checkpointIfLarge();
    return expansion;
  }

  claim(batch: ClaimBatch): ClaimOutcome {
    const { claims } = this.store;
    return claims.withEvents(this.store.write(() => claims.leaseIn(batch)));
  }

  /**
   * Writes the attempts and the deliveries' new states, and folds each
   * outcome into its endpoint's health (circuit, failure streak, minute
   * counts), all in one transaction, so processes sharing the file agree.
   * An endpoint that must be disabled is disabled in the same transaction.
   */
  record(results: readonly AttemptResult[], owner: string, now: number): RecordOutcome {
    const outcome = this.store.write(() => this.recordIn(results, owner, now));
    this.store.checkpointIfLarge();
    return outcome;
  }

  /**
   * A fan-out pass (with `expand`), `record`, then a claim planned with what both changed, in one
   * transaction: one commit per turn, the pages they share written once, and no second write
   * right after the first (an emit woken between the two would meet the lock again and sleep in
   * SQLite's busy handler). The claimed rows' events are read after the commit.
   */
  recordAndClaim(
    results: readonly AttemptResult[],
    lease: Lease,
    plan: (recorded: RecordOutcome, expanded: Expansion, endpoints: readonly LiveEndpoint[]) => ClaimPlan,
    expand: boolean,
  ): { recorded: RecordOutcome; claim: ClaimOutcome; plan: ClaimPlan; expanded: Expansion } {
    const { claims, fanout } = this.store;
    const { recorded, leased, planned, expanded } = this.store.write(() => {
      // Once, for the pass and the plan: the endpoints as of this transaction.
      this.cache.refresh();
      const expanded =
        expand && fanout.waiting() ? fanout.expand(this.cache, lease.now, FANOUT_ROWS) : NOTHING_QUEUED;
      const recorded = this.recordIn(results, lease.owner, lease.now);
      const planned = plan(recorded, expanded, this.cache.all());
      return { recorded, leased: claims.leaseIn({ ...planned, lease }), planned, expanded };
    });
    const claim = claims.withEvents(leased);
    this.store.checkpointIfLarge();
    return { recorded, claim, plan: planned, expanded };
  }

  /** Writes a batch of results; call inside a write transaction. */
  private recordIn(results: readonly AttemptResult[], owner: string, now: number): RecordOutcome {
    const { outbox, health, endpoints } = this.store;
    outbox.record(results, owner);
    health.countActivity(now, tallyOutcomes(results));
    const byEndpoint = loggedByEndpoint(results);
    const healths = new Map<string, HealthState>();
    const disabled: RecordOutcome['disabled'] = [];
    for (const [endpointId, list] of byEndpoint) {
      const {
        health: state,
        succeeded: ok,
        disable: reason,
      } = foldAttempts(health.get(endpointId), list, this.circuit);
      health.put(endpointId, state);
      health.count(endpointId, now, ok, list.length - ok);
      healths.set(endpointId, state);
      if (reason !== null) {
        const row = endpoints.get(endpointId);
        if (row !== undefined && row.enabled === 1) {
          endpoints.update(
            { ...row, enabled: 0, disabled_reason: reason, updated_at: now },
            `endpoint disabled: ${reason}`,
          );
          disabled.push({ endpointId, reason });
        }
      }
    }
    // An attempt that was in flight when its endpoint was disabled or removed comes back
    // with a retry scheduled: it must end as failed like the endpoint's other pending rows.
    for (const endpointId of retriedEndpoints(results)) {
      const row = endpoints.get(endpointId);
      if (row === undefined) endpoints.failPending(endpointId, 'endpoint removed', now);
      else if (row.enabled === 0)
        endpoints.failPending(endpointId, `endpoint disabled: ${row.disabled_reason ?? 'disabled'}`, now);
    }
    return { health: healths, disabled };
  }

  dueTimes(endpointIds: readonly string[]): Map<string, number | null> {
    return new Map(endpointIds.map((id) => [id, this.store.claims.nextDueFor(id)]));
  }

  healths(): Map<string, HealthState> {
    return this.store.health.all();
  }

  expireLeases(now: number): number {
    const { outbox } = this.store;
    return this.store.gated(() => {
      let released = outbox.expireLeases(now);
      // A process on this machine that died (kill -9, a crash) gives its rows back now, not when
      // their leases run out: after a restart they would otherwise wait out the attempt timeout + 10 s.
      for (const holder of outbox.leaseOwners()) {
        if (holder !== this.owner && isDeadOwner(holder)) released += outbox.release(holder, now);
      }
      return released;
    });
  }

  release(owner: string, now: number): number {
    return this.store.gated(() => this.store.outbox.release(owner, now));
  }

  idle(): void {
    this.store.checkpoint();
  }
}
