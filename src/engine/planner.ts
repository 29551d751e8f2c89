import { circuitState, type HealthState } from '../shared/circuit.js';
import type { ClaimRequest } from './claims.js';
import type { LiveEndpoint } from './live-endpoints.js';

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Decides which endpoints to offer slots to on each turn, and how many: an
 * endpoint gets no more than its own concurrency, nothing while its circuit
 * is open, one probe while half-open, and no more than its rate limit allows.
 * Endpoints take turns going first. Holds only hints: the database decides
 * what is actually due.
 */
export class ClaimPlanner {
  /** When each endpoint's next row is due as far as this process knows (absent: unknown, ask). */
  private readonly dueHints = new Map<string, number>();
  private readonly inFlight = new Map<string, number>();
  private readonly health = new Map<string, HealthState>();
  private readonly buckets = new Map<string, Bucket>();
  private rotation = 0;
  /** The endpoint list the hints were last pruned against. */
  private pruned: readonly LiveEndpoint[] | null = null;
  /**
   * Endpoints with rows due that wait for a limit, each with when to look again: this
   * process's rate-limit bucket, or a limit shared by every sender (`hold`). Until then
   * they are left out of the plan, yet their rows are due: drain() waits for them.
   */
  readonly rateLimited = new Map<string, number>();
  /** Counts the hints that a row may be due sooner (see `mark`), and when each endpoint's last one came. */
  private hints = 0;
  private readonly hintedAt = new Map<string, number>();
  private hintedEverywhereAt = 0;

  constructor(private readonly endpointConcurrency: number) {}

  /** An endpoint has a row due at `at` (just emitted, retried, or its attempt ended). */
  due(endpointId: string, at: number): void {
    this.hintedAt.set(endpointId, ++this.hints);
    const known = this.dueHints.get(endpointId);
    if (known !== undefined && known > at) this.dueHints.set(endpointId, at);
  }

  dueEverywhere(at: number): void {
    this.hintedEverywhereAt = ++this.hints;
    for (const [endpointId, known] of this.dueHints) if (known > at) this.dueHints.set(endpointId, at);
  }

  /**
   * Taken before asking the database what is due. With an asynchronous store,
   * an emit or an attempt's end can come while the question is out: its hint
   * is newer than the answer, and `setDue` / `replaceDue` given this mark keep it.
   */
  mark(): number {
    return this.hints;
  }

  private hintedSince(endpointId: string, mark: number): boolean {
    return Math.max(this.hintedAt.get(endpointId) ?? 0, this.hintedEverywhereAt) > mark;
  }

  /** What the database said after a claim or on the poll: `null` means nothing pending. */
  setDue(endpointId: string, at: number | null, mark?: number): void {
    if (mark !== undefined && this.hintedSince(endpointId, mark)) return;
    this.dueHints.set(endpointId, at ?? Number.POSITIVE_INFINITY);
  }

  replaceDue(due: Map<string, number | null>, mark?: number): void {
    for (const endpointId of [...this.dueHints.keys()]) {
      if (mark === undefined || !this.hintedSince(endpointId, mark)) this.dueHints.delete(endpointId);
    }
    for (const [endpointId, at] of due) this.setDue(endpointId, at, mark);
  }

  setHealth(endpointId: string, health: HealthState): void {
    this.health.set(endpointId, health);
  }

  /** What this process last knew of the endpoint's health; `undefined`: nothing (healthy). */
  healthOf(endpointId: string): HealthState | undefined {
    return this.health.get(endpointId);
  }

  replaceHealth(all: Map<string, HealthState>): void {
    this.health.clear();
    for (const [endpointId, health] of all) this.health.set(endpointId, health);
  }

  started(endpointId: string): void {
    this.inFlight.set(endpointId, (this.inFlight.get(endpointId) ?? 0) + 1);
  }

  ended(endpointId: string, now: number): void {
    const left = (this.inFlight.get(endpointId) ?? 1) - 1;
    if (left > 0) this.inFlight.set(endpointId, left);
    else this.inFlight.delete(endpointId);
    // A slot of its own came free (or a FIFO head finished): look again.
    this.due(endpointId, now);
  }

  plan(endpoints: readonly LiveEndpoint[], now: number, free: number): ClaimRequest[] {
    // The caches hand out the same list until the endpoints change: forget the gone ones then.
    if (endpoints !== this.pruned) {
      this.pruned = endpoints;
      const known = new Set(endpoints.map((e) => e.id));
      for (const id of this.dueHints.keys()) if (!known.has(id)) this.dueHints.delete(id);
      for (const id of this.hintedAt.keys()) if (!known.has(id)) this.hintedAt.delete(id);
      for (const id of this.rateLimited.keys()) if (!known.has(id)) this.rateLimited.delete(id);
    }
    const plan: ClaimRequest[] = [];
    const start = endpoints.length === 0 ? 0 : this.rotation++ % endpoints.length;
    for (let i = 0; i < endpoints.length; i++) {
      const endpoint = endpoints[(start + i) % endpoints.length]!;
      const due = this.dueHints.get(endpoint.id);
      // Not looked at before its hint: one still waiting for a token stays rate-limited
      // (a timer may fire a millisecond early; its rows are due all the same).
      if (due !== undefined && due > now) continue;
      this.rateLimited.delete(endpoint.id);
      const inFlight = this.inFlight.get(endpoint.id) ?? 0;
      let max = (endpoint.concurrency ?? this.endpointConcurrency) - inFlight;
      const health = this.health.get(endpoint.id);
      const circuit = health === undefined ? 'closed' : circuitState(health, now);
      if (circuit === 'open') {
        // Its rows stay pending, attempts unspent, until the cool-off ends.
        this.dueHints.set(endpoint.id, Math.max(due ?? now, health!.circuitOpenUntil!));
        continue;
      }
      if (circuit === 'half-open') max = inFlight === 0 ? 1 : 0;
      if (endpoint.ratePerSecond !== null) {
        const tokens = this.tokens(endpoint.id, endpoint.ratePerSecond, now);
        if (tokens < 1) {
          const at = now + Math.ceil(((1 - tokens) * 1000) / endpoint.ratePerSecond);
          this.rateLimited.set(endpoint.id, at);
          this.dueHints.set(endpoint.id, at);
          continue;
        }
        max = Math.min(max, Math.floor(tokens));
      }
      if (max > 0) {
        plan.push({
          endpointId: endpoint.id,
          max: Math.min(max, free),
          fifo: endpoint.fifo,
          cap: endpoint.concurrency ?? this.endpointConcurrency,
          ratePerSecond: endpoint.ratePerSecond,
        });
      }
    }
    return plan;
  }

  /**
   * What the database says of the endpoints left out for their rate limit
   * (`dueTimes`): returns the earliest moment one with a row due now gets a
   * token (infinity: none has a row due, they only looked due). An endpoint
   * with nothing due keeps its real next due time as its hint.
   */
  settleRateLimited(due: Map<string, number | null>, now: number): number {
    let earliest = Number.POSITIVE_INFINITY;
    for (const [endpointId, tokenAt] of this.rateLimited) {
      const at = due.get(endpointId) ?? null;
      if (at !== null && at <= now) earliest = Math.min(earliest, Math.max(tokenAt, now + 1));
      else {
        this.rateLimited.delete(endpointId);
        this.setDue(endpointId, at === null ? null : Math.max(at, tokenAt));
      }
    }
    return earliest;
  }

  /**
   * The database held the endpoint's due rows back for a limit shared by every sender
   * (its concurrency taken by other senders' leases, or the shared rate): look again at `at`.
   */
  hold(endpointId: string, at: number, mark?: number): void {
    // A slot of its own came free while the claim was out (an asynchronous store): look again now.
    if (mark !== undefined && this.hintedSince(endpointId, mark)) return;
    this.rateLimited.set(endpointId, at);
    this.dueHints.set(endpointId, at);
  }

  /** Spends rate-limit tokens for what was claimed. */
  claimed(endpointId: string, count: number): void {
    const bucket = this.buckets.get(endpointId);
    if (bucket !== undefined) bucket.tokens -= count;
  }

  /** The earliest hint, or infinity. */
  earliest(): number {
    let earliest = Number.POSITIVE_INFINITY;
    for (const at of this.dueHints.values()) if (at < earliest) earliest = at;
    return earliest;
  }

  /** A token bucket refilled at `perSecond`, holding at most one second's worth (at least one token). */
  private tokens(endpointId: string, perSecond: number, now: number): number {
    const capacity = Math.max(1, perSecond);
    let bucket = this.buckets.get(endpointId);
    if (bucket === undefined) {
      bucket = { tokens: capacity, at: now };
      this.buckets.set(endpointId, bucket);
    }
    bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) * perSecond) / 1000);
    bucket.at = now;
    return bucket.tokens;
  }
}
