import { circuitState } from '../circuit.js';
import {
  ADD_KEYS,
  type EndpointInput,
  type EndpointPatch,
  UPDATE_KEYS,
  validateConcurrency,
  validateDescription,
  validateEvents,
  validateHeaders,
  validateMetadata,
  validateOrdering,
  validateRateLimit,
  validateTenant,
  validateUrl,
} from '../endpoint-input.js';
import {
  checkId,
  checkObject,
  DEFAULT_ROTATION_GRACE_MS,
  type RecoverOptions,
  type RotateSecretOptions,
} from '../endpoints.js';
import { InvalidArgumentError, NotFoundError } from '../errors/input.js';
import { newEndpointId } from '../ids.js';
import { toMs } from '../list-input.js';
import { generateSecret, parseSecret } from '../signing.js';
import { type EndpointRow, iso, toEndpoint } from '../store/rows.js';
import type { Endpoint, EndpointHealth } from '../types.js';
import { describe, isNonNegativeInteger } from '../validate.js';
import { requeueFailed } from './bulk-retry.js';
import type { PgContext } from './context.js';

function secretFrom(value: unknown): string {
  if (value === undefined) return generateSecret();
  if (typeof value !== 'string')
    throw new InvalidArgumentError(
      'secret',
      'Expected `secret` to be a `whsec_` string',
      'ERR_INVALID_SECRET',
    );
  parseSecret(value);
  return value;
}

/** `sender.endpoints` on PostgreSQL: the same methods as on SQLite, each returning a Promise. */
export class PgEndpoints {
  /** @internal */
  constructor(private readonly ctx: PgContext) {}

  /** Adds an endpoint and returns it, with a generated `whsec_` secret unless one was given. */
  add(input: EndpointInput): Promise<Endpoint> {
    return this.ctx.call('endpoints.add', async () => {
      const o = checkObject(input, 'endpoint', ADD_KEYS);
      const url = validateUrl(o.url);
      this.ctx.checkUrl(url);
      const secret = secretFrom(o.secret);
      const now = this.ctx.clock.now();
      const row: EndpointRow = {
        id: newEndpointId(),
        url,
        events: JSON.stringify(o.events === undefined ? ['*'] : validateEvents(o.events)),
        tenant: validateTenant(o.tenant),
        secret,
        previous_secret: null,
        previous_secret_until: null,
        headers: JSON.stringify(validateHeaders(o.headers)),
        description: validateDescription(o.description),
        metadata: JSON.stringify(validateMetadata(o.metadata)),
        concurrency: validateConcurrency(o.concurrency),
        rate_limit_per_second: validateRateLimit(o.rateLimit),
        ordering: validateOrdering(o.ordering),
        enabled: 1,
        disabled_reason: null,
        created_at: now,
        updated_at: now,
      };
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
      const row = { ...(await this.row(id)) };
      const o = checkObject(patch, 'patch', UPDATE_KEYS);
      if ('url' in o) {
        row.url = validateUrl(o.url);
        this.ctx.checkUrl(row.url);
      }
      if ('events' in o) row.events = JSON.stringify(validateEvents(o.events));
      if ('tenant' in o) row.tenant = validateTenant(o.tenant);
      if ('headers' in o) row.headers = JSON.stringify(validateHeaders(o.headers));
      if ('description' in o) row.description = validateDescription(o.description);
      if ('metadata' in o) row.metadata = JSON.stringify(validateMetadata(o.metadata));
      if ('concurrency' in o) row.concurrency = validateConcurrency(o.concurrency);
      if ('rateLimit' in o) row.rate_limit_per_second = validateRateLimit(o.rateLimit);
      if ('ordering' in o) row.ordering = validateOrdering(o.ordering);
      row.updated_at = this.ctx.clock.now();
      await this.ctx.store.updateEndpoint(row);
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
      return toEndpoint(row);
    });
  }

  /** Stops deliveries to the endpoint: emit skips it and its pending deliveries end as failed with `reason`. */
  disable(id: string, reason?: string): Promise<Endpoint> {
    return this.ctx.call('endpoints.disable', async () => {
      if (reason !== undefined && (typeof reason !== 'string' || reason.length > 1000)) {
        throw new InvalidArgumentError(
          'reason',
          `Expected \`reason\` to be a string of at most 1000 characters, got ${describe(reason)}`,
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
      const o = checkObject(options, 'options', new Set(['secret', 'graceMs']));
      const graceMs = o.graceMs ?? DEFAULT_ROTATION_GRACE_MS;
      if (!isNonNegativeInteger(graceMs)) {
        throw new InvalidArgumentError(
          'graceMs',
          `Expected \`graceMs\` to be an integer >= 0, got ${describe(graceMs)}`,
        );
      }
      const secret = secretFrom(o.secret);
      const current = await this.row(id);
      const now = this.ctx.clock.now();
      const row = {
        ...current,
        secret,
        previous_secret: graceMs > 0 ? current.secret : null,
        previous_secret_until: graceMs > 0 ? now + graceMs : null,
        updated_at: now,
      };
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
      const { succeeded, failed } = await this.ctx.store.health.outcomes(row.id, now, 60 * 60 * 1000);
      const at = (ms: number | null) => (ms === null ? null : iso(ms));
      return {
        endpointId: row.id,
        circuit: circuitState(h, now),
        consecutiveFailures: h.consecutiveFailures,
        failingSince: at(h.failingSince),
        lastSuccessAt: at(h.lastSuccessAt),
        lastFailureAt: at(h.lastFailureAt),
        circuitOpenUntil: at(h.circuitOpenUntil),
        attemptsLastHour: succeeded + failed,
        successRateLastHour: succeeded + failed === 0 ? null : succeeded / (succeeded + failed),
      };
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
