import type { AttemptResult, ClaimBatch, ClaimOutcome } from '../../engine/claims.js';
import {
  foldAttempts,
  loggedByEndpoint,
  retriedEndpoints,
  tallyOutcomes,
} from '../../engine/fold-outcomes.js';
import { isDeadOwner } from '../../engine/lease-owner.js';
import type { LiveEndpoint } from '../../engine/live-endpoints.js';
import type { DispatchStore, RecordOutcome } from '../../engine/store-port.js';
import type { CircuitConfig, HealthState } from '../../shared/circuit.js';
import type { Expansion } from '../fanout.js';
import { type Queryable, transaction } from './db.js';
import type { PgStore } from './store.js';
/** What the dispatcher reads of the endpoints (`PgEndpointCache`: the enabled ones, following every sender's changes). */
export interface PgEndpointSource {
  refresh(): Promise<void>;
  all(): readonly LiveEndpoint[];
  get(id: string): LiveEndpoint | undefined;
  matching(type: string, tenant: string | null): readonly LiveEndpoint[];
}

/**
 * The dispatcher's view of PostgreSQL. Every call goes through the pool, never
 * through a client of the application, so `busy()` is always false.
 */
export class PgDispatchStore implements DispatchStore {
  constructor(
    private readonly store: PgStore,
    private readonly cache: PgEndpointSource,
    private readonly owner: string,
    private readonly circuit: CircuitConfig,
  ) {}

  busy(): boolean {
    return false;
  }

  async endpoints(): Promise<readonly LiveEndpoint[]> {
    await this.cache.refresh();
    return this.cache.all();
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
   * that must be, all in one transaction (as `SqliteDispatchStore.record`).
   */
  record(results: readonly AttemptResult[], owner: string, now: number): Promise<RecordOutcome> {
    const { store } = this;
    return transaction(store.pool, async (client): Promise<RecordOutcome> => {
      await store.outbox.recordIn(client, results, owner);
      const byEndpoint = loggedByEndpoint(results);
      const outcome: RecordOutcome = { health: new Map(), disabled: [] };
      if (byEndpoint.size > 0) await this.foldHealth(client, byEndpoint, now, outcome);
      // An attempt that was in flight when its endpoint was disabled or removed comes back
      // with a retry scheduled: it must end as failed like the endpoint's other pending rows.
      for (const endpointId of retriedEndpoints(results)) {
        const row = await store.endpoints.get(endpointId, client);
        if (row === undefined) {
          await store.endpoints.failPendingIn(client, endpointId, 'endpoint removed', now);
        } else if (row.enabled === 0) {
          const reason = `endpoint disabled: ${row.disabled_reason ?? 'disabled'}`;
          await store.endpoints.failPendingIn(client, endpointId, reason, now);
        }
      }
      await store.health.countActivityIn(client, now, tallyOutcomes(results));
      return outcome;
    });
  }

  /** Folds each endpoint's outcomes into its health, and disables the endpoints that must be. */
  private async foldHealth(
    client: Queryable,
    byEndpoint: Map<string, AttemptResult[]>,
    now: number,
    outcome: RecordOutcome,
  ): Promise<void> {
    const { store } = this;
    const current = await store.health.lockIn(client, [...byEndpoint.keys()]);
    for (const [endpointId, list] of [...byEndpoint].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const {
        health: state,
        succeeded: ok,
        disable: reason,
      } = foldAttempts(current.get(endpointId)!, list, this.circuit);
      await store.health.putIn(client, endpointId, state);
      await store.health.countIn(client, endpointId, now, ok, list.length - ok);
      outcome.health.set(endpointId, state);
      if (reason !== null) {
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
    }
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
