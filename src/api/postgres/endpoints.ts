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
import type { PgContext } from './context.js';
/** `sender.endpoints` on PostgreSQL: the same methods as on SQLite, each returning a Promise. */
export class PgEndpoints {
  /** @internal */
  constructor(private readonly ctx: PgContext) {}

  /** Adds an endpoint and returns it, with a generated `whsec_` secret unless one was given. */
  add(input: EndpointInput): Promise<Endpoint> {
    return this.ctx.call('endpoints.add', async () => {
      const row = addedRow(input, this.ctx.checkUrl, () => this.ctx.clock.now());
      await this.ctx.store.endpoints.insert(row);
      return toEndpoint(row);
    });
  }

  /** The endpoint, or rejects with `NotFoundError`. */
  get(id: string): Promise<Endpoint> {
    return this.ctx.call('endpoints.get', async () => toEndpoint(await this.row(id)));
  }

  /** Every endpoint, oldest first. */
  list(): Promise<Endpoint[]> {
    return this.ctx.call('endpoints.list', async () =>
      (await this.ctx.store.endpoints.list()).map(toEndpoint),
    );
  }

  /** Changes the given fields and returns the endpoint. */
  update(id: string, patch: EndpointPatch): Promise<Endpoint> {
    return this.ctx.call('endpoints.update', async () => {
      const { row, newReceiver } = updatedRow(await this.row(id), patch, this.ctx.checkUrl, () =>
        this.ctx.clock.now(),
      );
      await this.ctx.store.updateEndpoint(row, undefined, newReceiver);
      if (newReceiver) this.ctx.healthReset(row.id);
      return toEndpoint(row);
    });
  }

  /** Deletes the endpoint. Its delivery log stays; its pending deliveries end as failed. */
  remove(id: string): Promise<void> {
    return this.ctx.call('endpoints.remove', async () => {
      if (!(await this.ctx.store.endpoints.remove(checkId(id), this.ctx.clock.now())))
        throw new NotFoundError('endpoint', id);
    });
  }

  /** Turns deliveries to the endpoint back on, with a closed circuit and a clean failure streak. */
  enable(id: string): Promise<Endpoint> {
    return this.ctx.call('endpoints.enable', async () => {
      const row = enabledRow(await this.row(id), this.ctx.clock.now());
      await this.ctx.store.updateEndpoint(row, undefined, true);
      this.ctx.healthReset(row.id);
      return toEndpoint(row);
    });
  }

  /** Stops deliveries to the endpoint: emit skips it and its pending deliveries end as failed with `reason`. */
  disable(id: string, reason?: string): Promise<Endpoint> {
    return this.ctx.call('endpoints.disable', async () => {
      const why = disableReason(reason);
      const { row, pendingError } = disabledRow(await this.row(id), why, this.ctx.clock.now());
      await this.ctx.store.updateEndpoint(row, pendingError);
      return toEndpoint(row);
    });
  }

  /** Switches to a new secret; for `graceMs` requests carry both signatures. */
  rotateSecret(id: string, options: RotateSecretOptions = {}): Promise<Endpoint> {
    return this.ctx.call('endpoints.rotateSecret', async () => {
      const { secret, graceMs } = parseRotateOptions(options);
      const current = await this.row(id);
      const row = rotatedEndpointRow(current, secret, graceMs, this.ctx.clock.now());
      await this.ctx.store.updateEndpoint(row);
      return toEndpoint(row);
    });
  }

  /** Circuit state, failure streak, last success and failure, and the success rate over the last hour. */
  health(id: string): Promise<EndpointHealth> {
    return this.ctx.call('endpoints.health', async () => {
      const row = await this.row(id);
      const now = this.ctx.clock.now();
      const h = await this.ctx.store.health.get(row.id);
      const outcomes = await this.ctx.store.health.outcomes(row.id, now, HEALTH_WINDOW_MS);
      return toEndpointHealth(row.id, h, outcomes, now);
    });
  }

  /** Re-sends every failed delivery to the endpoint created in `[since, until)`. Resolves to how many. */
  recover(id: string, options: RecoverOptions): Promise<number> {
    return this.ctx.call('endpoints.recover', async () => {
      const row = await this.row(id);
      const { filter, onProgress } = recoverFilter(row.id, options);
      return requeueFailed(this.ctx, filter, onProgress);
    });
  }

  private async row(id: unknown): Promise<EndpointRow> {
    const row = await this.ctx.store.endpoints.get(checkId(id));
    if (row === undefined) throw new NotFoundError('endpoint', id as string);
    return row;
  }
}
