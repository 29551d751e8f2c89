import { announce, type Finished } from './announce.js';
import type { CircuitWatch } from './circuit-watch.js';
import type { Notify, SenderEvents } from './notices.js';
import type { ClaimPlanner } from './planner.js';
import type { DispatchStore, RecordOutcome } from './store-port.js';

/**
 * Finished attempts on their way to the store: kept until a turn writes them
 * in one transaction, then taught to the planner and announced. A batch whose
 * write failed goes back, ahead of what finished since, for the next turn.
 */
export class Results {
  private finished: Finished[] = [];

  constructor(
    private readonly planner: ClaimPlanner,
    private readonly circuits: CircuitWatch,
    private readonly listening: (name: keyof SenderEvents) => boolean,
    private readonly notify: Notify,
  ) {}

  get pending(): number {
    return this.finished.length;
  }

  add(finished: Finished): void {
    this.finished.push(finished);
  }

  /** Takes every result for a write; `restore` gives them back if it fails. */
  take(): Finished[] {
    const batch = this.finished;
    this.finished = [];
    return batch;
  }

  restore(batch: Finished[]): void {
    this.finished = batch.concat(this.finished);
  }

  /** Writes every finished attempt in one transaction, then announces them. */
  async flush(store: DispatchStore, owner: string, now: () => number): Promise<void> {
    if (this.finished.length === 0) return;
    const batch = this.take();
    let outcome: RecordOutcome;
    try {
      outcome = await store.record(
        batch.map((f) => f.result),
        owner,
        now(),
      );
    } catch (error) {
      this.restore(batch);
      throw error;
    }
    this.recorded(batch, outcome, now());
    this.announce(batch, outcome.disabled);
  }

  /** What the planner learns from a batch just written. */
  recorded(batch: readonly Finished[], outcome: RecordOutcome, recordedAt: number): void {
    for (const [endpointId, health] of outcome.health) {
      this.circuits.recorded(endpointId, this.planner.healthOf(endpointId), health);
      this.planner.setHealth(endpointId, health);
    }
    for (const { notice, result } of batch) {
      // Written now: a retry is due when scheduled; otherwise the next row of a FIFO key may go
      // (a claim that ran while this result was unwritten, on an asynchronous store, saw it blocked).
      this.planner.due(notice.endpointId, result.status === 'pending' ? result.nextAttemptAt! : recordedAt);
    }
  }

  /** The events of a written batch: its attempts, then circuit changes, then disabled endpoints. */
  announce(batch: readonly Finished[], disabled: RecordOutcome['disabled']): void {
    for (const f of batch) announce(f, this.listening, this.notify);
    this.circuits.flush();
    for (const notice of disabled) this.notify('endpoint.disabled', notice);
  }
}
