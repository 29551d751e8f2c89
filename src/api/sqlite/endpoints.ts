import { NotFoundError } from '../../shared/errors/input.js';
import { type EndpointRow, toEndpoint } from '../../shared/rows.js';
import type { Endpoint, EndpointHealth } from '../../shared/types.js';
import {
  addedRow,
  checkId,
  disabledRow,
  disableReason,
  enabledRow,
  parseRotateOptions,
  type RecoverOptions,
  type RotateSecretOptions,
  recoverFilter,
  updatedRow,
} from '../endpoint-changes.js';
import type { EndpointInput, EndpointPatch } from '../endpoint-input.js';
import { HEALTH_WINDOW_MS, rotatedEndpointRow, toEndpointHealth } from '../endpoint-rows.js';
import { requeueFailed } from './bulk-retry.js';
import type { SqliteContext } from './context.js';
/** `sender.endpoints`: receivers live in the database, so every process sharing it sees them. */
export class Endpoints {
  /** @internal */
  constructor(private readonly ctx: SqliteContext) {}

  /** Adds an endpoint and returns it, with a generated `whsec_` secret unless one was given. */
  add(input: EndpointInput): Endpoint {
    this.ctx.guard('endpoints.add');
    const row = addedRow(input, this.ctx.checkUrl, () => this.ctx.clock.now());
    this.ctx.store.endpoints.insert(row);
    return toEndpoint(row);
  }

  /** The endpoint, or throws `NotFoundError`. */
  get(id: string): Endpoint {
    this.ctx.guard('endpoints.get');
    return toEndpoint(this.row(id));
  }

  /** Every endpoint, oldest first. */
  list(): Endpoint[] {
    this.ctx.guard('endpoints.list');
    return this.ctx.store.endpoints.list().map(toEndpoint);
  }

  /** Changes the given fields and returns the endpoint. */
  update(id: string, patch: EndpointPatch): Endpoint {
    this.ctx.guard('endpoints.update');
    const { row, newReceiver } = updatedRow(this.row(id), patch, this.ctx.checkUrl, () =>
      this.ctx.clock.now(),
    );
    this.ctx.store.updateEndpoint(row, undefined, newReceiver);
    if (newReceiver) this.ctx.healthReset(row.id);
    return toEndpoint(row);
  }

  /** Deletes the endpoint. Its delivery log stays; its pending deliveries end as failed. */
  remove(id: string): void {
    this.ctx.guard('endpoints.remove');
    if (!this.ctx.store.endpoints.remove(checkId(id), this.ctx.clock.now()))
      throw new NotFoundError('endpoint', id);
  }

  /**
   * Turns deliveries to the endpoint back on, with a closed circuit and a
   * clean failure streak. New events reach it again; `recover` re-sends what
   * it missed.
   */
  enable(id: string): Endpoint {
    this.ctx.guard('endpoints.enable');
    const row = enabledRow(this.row(id), this.ctx.clock.now());
    this.ctx.store.updateEndpoint(row, undefined, true);
    this.ctx.healthReset(row.id);
    return toEndpoint(row);
  }

  /** Circuit state, failure streak, last success and failure, and the success rate over the last hour. */
  health(id: string): EndpointHealth {
    this.ctx.guard('endpoints.health');
    const row = this.row(id);
    const now = this.ctx.clock.now();
    const h = this.ctx.store.health.get(row.id);
    return toEndpointHealth(row.id, h, this.ctx.store.health.outcomes(row.id, now, HEALTH_WINDOW_MS), now);
  }

  /**
   * Re-sends, oldest first, every delivery to the endpoint that failed and was
   * created in `[since, until)`, each with a fresh retry schedule. Batched:
   * a million rows do not block the event loop. Resolves to how many.
   */
  async recover(id: string, options: RecoverOptions): Promise<number> {
    this.ctx.guard('endpoints.recover');
    const row = this.row(id);
    const { filter, onProgress } = recoverFilter(row.id, options);
    this.ctx.store.claims.resetFifo(row.id);
    return requeueFailed(this.ctx.store, filter, () => this.ctx.clock.now(), this.ctx.scheduled, onProgress);
  }

  /** Stops deliveries to the endpoint: emit skips it and its pending deliveries end as failed with `reason`. */
  disable(id: string, reason?: string): Endpoint {
    this.ctx.guard('endpoints.disable');
    const why = disableReason(reason);
    const { row, pendingError } = disabledRow(this.row(id), why, this.ctx.clock.now());
    this.ctx.store.updateEndpoint(row, pendingError);
    return toEndpoint(row);
  }

  /**
   * Switches to a new secret. For `graceMs` requests carry both signatures, so
   * receivers still on the old secret keep accepting.
   */
  rotateSecret(id: string, options: RotateSecretOptions = {}): Endpoint {
    this.ctx.guard('endpoints.rotateSecret');
    const { secret, graceMs } = parseRotateOptions(options);
    const current = this.row(id);
    const row = rotatedEndpointRow(current, secret, graceMs, this.ctx.clock.now());
    this.ctx.store.updateEndpoint(row);
    return toEndpoint(row);
  }

  private row(id: unknown): EndpointRow {
    const row = this.ctx.store.endpoints.get(checkId(id));
    if (row === undefined) throw new NotFoundError('endpoint', id as string);
    return row;
  }
}
