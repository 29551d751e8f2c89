import { ADD_KEYS, type EndpointInput, type EndpointPatch, UPDATE_KEYS } from '../endpoint-input.js';
import {
  HEALTH_WINDOW_MS,
  newEndpointRow,
  patchedEndpointRow,
  rotatedEndpointRow,
  toEndpointHealth,
} from '../endpoint-rows.js';
import {
  checkId,
  checkObject,
  parseRotateOptions,
  type RecoverOptions,
  type RotateSecretOptions,
} from '../endpoints.js';
import { InvalidArgumentError, NotFoundError } from '../errors/input.js';
import { toMs } from '../list-input.js';
import { type EndpointRow, toEndpoint } from '../store/rows.js';
import type { Endpoint, EndpointHealth } from '../types.js';
import { describe } from '../validate.js';
import { requeueFailed } from './bulk-retry.js';
import type { PgContext } from './context.js';

/** `sender.endpoints` on PostgreSQL: the same methods as on SQLite, each returning a Promise. */
export class PgEndpoints {
  /** @internal */
  constructor(private readonly ctx: PgContext) {}

  /** Adds an endpoint and returns it, with a generated `whsec_` secret unless one was given. */
  add(input: EndpointInput): Promise<Endpoint> {
    return this.ctx.call('endpoints.add', async () => {
      const o = checkObject(input, 'endpoint', ADD_KEYS);
      const row = newEndpointRow(o, this.ctx.checkUrl, () => this.ctx.clock.now());
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
      const current = await this.row(id);
      const o = checkObject(patch, 'patch', UPDATE_KEYS);
      // `undefined` means "not given", as everywhere else: it changes nothing (null clears).
      const row = patchedEndpointRow(
        current,
        o,
        (key) => o[key] !== undefined,
        this.ctx.checkUrl,
        () => this.ctx.clock.now(),
      );
      // A new URL is a new receiver: the old one's failures and open circuit are not its own.
      const newReceiver = row.url !== current.url;
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
      const row = {
        ...(await this.row(id)),
        enabled: 1,
        disabled_reason: null,
        updated_at: this.ctx.clock.now(),
      };
      await this.ctx.store.updateEndpoint(row, undefined, true);
      this.ctx.healthReset(row.id);
      return toEndpoint(row);
    });
  }

  /** Stops deliveries to the endpoint: emit skips it and its pending deliveries end as failed with `reason`. */
  disable(id: string, reason?: string): Promise<Endpoint> {
    return this.ctx.call('endpoints.disable', async () => {
      if (
        reason !== undefined &&
        (typeof reason !== 'string' || reason.length === 0 || reason.length > 1000)
      ) {
        throw new InvalidArgumentError(
          'reason',
          `Expected \`reason\` to be a string of 1 to 1000 characters, got ${describe(reason)}`,
        );
      }
      const why = reason ?? 'disabled';
      const row = {
        ...(await this.row(id)),
        enabled: 0,
        disabled_reason: why,
        updated_at: this.ctx.clock.now(),
      };
      await this.ctx.store.updateEndpoint(row, `endpoint disabled: ${why}`);
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
      const o = checkObject(options, 'options', new Set(['since', 'until']));
      if (o.since === undefined)
        throw new InvalidArgumentError('since', 'Expected `since`: recover needs the start of the window');
      return requeueFailed(this.ctx, {
        endpointId: row.id,
        since: toMs(o.since, 'since'),
        until: toMs(o.until, 'until'),
      });
    });
  }

  private async row(id: unknown): Promise<EndpointRow> {
    const row = await this.ctx.store.endpoints.get(checkId(id));
    if (row === undefined) throw new NotFoundError('endpoint', id as string);
    return row;
  }
}
