import { circuitState, HEALTHY, type HealthState } from '../shared/circuit.js';
import { iso } from '../shared/clock.js';
import type { CircuitNotice, Notify, SenderEvents } from './notices.js';

/**
 * The `endpoint.circuit` events this process announces: `open` and `closed`
 * from the health its own results recorded, `half-open` when it sends the
 * probe (once per cool-off), `closed` when an endpoint's health is reset.
 */
export class CircuitWatch {
  /** Circuit changes seen while recording, announced with the batch's notices. */
  private pending: CircuitNotice[] = [];
  /** Per endpoint, the cool-off end whose half-open probe was announced. */
  private readonly probing = new Map<string, number>();

  constructor(
    private readonly listening: (name: keyof SenderEvents) => boolean,
    private readonly notify: Notify,
  ) {}

  /** A batch just written changed `endpointId`'s health from `before` to `after`. */
  recorded(endpointId: string, before: HealthState | undefined, after: HealthState): void {
    // Opened (again, or for longer after a failed probe) or closed by this batch.
    if (after.circuitOpenUntil === (before?.circuitOpenUntil ?? null)) return;
    if (after.circuitOpenUntil === null) this.probing.delete(endpointId);
    if (this.listening('endpoint.circuit')) this.pending.push(circuitNotice(endpointId, after));
  }

  /** Announces what `recorded` saw, once the batch's own notices are out. */
  flush(): void {
    for (const notice of this.pending.splice(0)) this.notify('endpoint.circuit', notice);
  }

  /** An attempt is launched: on a half-open endpoint (the planner offers it one slot) it is the probe. */
  launching(endpointId: string, health: HealthState | undefined, now: number): void {
    if (health === undefined || !this.listening('endpoint.circuit')) return;
    if (circuitState(health, now) !== 'half-open') return;
    const until = health.circuitOpenUntil!;
    if (this.probing.get(endpointId) === until) return;
    this.probing.set(endpointId, until);
    this.notify('endpoint.circuit', {
      endpointId,
      state: 'half-open',
      consecutiveFailures: health.consecutiveFailures,
      openUntil: iso(until),
    });
  }

  /** The endpoint was enabled again or given a new URL: a circuit that was open is closed. */
  reset(endpointId: string, before: HealthState | undefined): void {
    this.probing.delete(endpointId);
    if (before !== undefined && before.circuitOpenUntil !== null)
      this.notify('endpoint.circuit', circuitNotice(endpointId, HEALTHY));
  }
}

function circuitNotice(endpointId: string, health: HealthState): CircuitNotice {
  const until = health.circuitOpenUntil;
  return {
    endpointId,
    state: until === null ? 'closed' : 'open',
    consecutiveFailures: health.consecutiveFailures,
    openUntil: until === null ? null : iso(until),
  };
}
