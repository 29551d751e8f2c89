import { requeueFailed } from './bulk-retry.js';
import type { Clock } from './clock.js';
import { ADD_KEYS, type EndpointInput, type EndpointPatch, UPDATE_KEYS } from './endpoint-input.js';
import {
  HEALTH_WINDOW_MS,
  newEndpointRow,
  patchedEndpointRow,
  rotatedEndpointRow,
  secretFrom,
  toEndpointHealth,
} from './endpoint-rows.js';
import { InvalidArgumentError, NotFoundError } from './errors/input.js';
import { type TimeInput, toMs } from './list-input.js';
import type { EndpointSql } from './store/endpoint-sql.js';
import { type EndpointRow, toEndpoint } from './store/rows.js';
import type { SqliteStore } from './store/sqlite.js';
import type { Endpoint, EndpointHealth } from './types.js';
import { describe, isNonNegativeInteger, isPlainObject, unknownKey } from './validate.js';

/** How long the old secret keeps signing after `rotateSecret`, in ms (24 h). */
export const DEFAULT_ROTATION_GRACE_MS = 24 * 60 * 60 * 1000;

/** `rotateSecret`'s options, checked: the new secret (generated when absent) and the grace in ms. */
export function parseRotateOptions(options: unknown): { secret: string; graceMs: number } {
  const o = checkObject(options, 'options', new Set(['secret', 'graceMs']));
  const graceMs = o.graceMs === undefined ? DEFAULT_ROTATION_GRACE_MS : o.graceMs;
  if (!isNonNegativeInteger(graceMs)) {
    throw new InvalidArgumentError(
      'graceMs',
      `Expected \`graceMs\` to be an integer >= 0, got ${describe(graceMs)}`,
    );
  }
  return { secret: secretFrom(o.secret), graceMs };
}

export interface RecoverOptions {
  /** Deliveries created at or after this moment. */
  since: TimeInput;
  /** Deliveries created before this moment. @default now */
  until?: TimeInput;
}

export interface RotateSecretOptions {
  /** A `whsec_` secret to switch to; generated when absent. */
  secret?: string;
  /** How long requests also carry the old signature, in ms. @default 86400000 (24 h) */
  graceMs?: number;
}

export function checkObject(
  value: unknown,
  name: string,
  known: ReadonlySet<string>,
): Record<string, unknown> {
  if (!isPlainObject(value))
    throw new InvalidArgumentError(name, `Expected \`${name}\` to be an object, got ${describe(value)}`);
  const extra = unknownKey(value, known);
  if (extra !== undefined) {
    throw new InvalidArgumentError(
      extra,
      `Unknown property \`${extra}\`; known ones are ${[...known].join(', ')}`,
      'ERR_UNKNOWN_OPTION',
    );
  }
  return value;
}

export function checkId(id: unknown): string {
  if (typeof id !== 'string' || id.length === 0) {
    throw new InvalidArgumentError('id', `Expected an endpoint id, got ${describe(id)}`);
  }
  return id;
}

/** `sender.endpoints`: receivers live in the database, so every process sharing it sees them. */
export class Endpoints {
  /** @internal */
  constructor(
    private readonly sql: EndpointSql,
    private readonly clock: Clock,
    private readonly checkUrl: (url: string) => void,
    private readonly guard: (method: string) => void,
    private readonly store: SqliteStore,
    private readonly scheduled: (endpointId: string | undefined, at: number) => void,
    /** Told when an endpoint's health was reset: the dispatcher drops the old circuit and looks at its rows now. */
    private readonly healthReset: (endpointId: string) => void = () => {},
  ) {}

  /** Adds an endpoint and returns it, with a generated `whsec_` secret unless one was given. */
  add(input: EndpointInput): Endpoint {
    this.guard('endpoints.add');
    const o = checkObject(input, 'endpoint', ADD_KEYS);
    const row = newEndpointRow(o, this.checkUrl, () => this.clock.now());
    this.sql.insert(row);
    return toEndpoint(row);
  }

  /** The endpoint, or throws `NotFoundError`. */
  get(id: string): Endpoint {
    this.guard('endpoints.get');
    return toEndpoint(this.row(id));
  }

  /** Every endpoint, oldest first. */
  list(): Endpoint[] {
    this.guard('endpoints.list');
    return this.sql.list().map(toEndpoint);
  }

  /** Changes the given fields and returns the endpoint. */
  update(id: string, patch: EndpointPatch): Endpoint {
    this.guard('endpoints.update');
    const current = this.row(id);
    const o = checkObject(patch, 'patch', UPDATE_KEYS);
    // `undefined` means "not given", as everywhere else: it changes nothing (null clears).
    const row = patchedEndpointRow(
      current,
      o,
      (key) => o[key] !== undefined,
      this.checkUrl,
      () => this.clock.now(),
    );
    // A new URL is a new receiver: the old one's failures and open circuit are not its own.
    const newReceiver = row.url !== current.url;
    this.store.db.transaction(() => {
      this.sql.update(row);
      if (newReceiver) this.store.health.reset(row.id);
    })();
    if (newReceiver) this.healthReset(row.id);
    return toEndpoint(row);
  }

  /** Deletes the endpoint. Its delivery log stays; its pending deliveries end as failed. */
  remove(id: string): void {
    this.guard('endpoints.remove');
    if (!this.sql.remove(checkId(id), this.clock.now())) throw new NotFoundError('endpoint', id);
  }

  /**
   * Turns deliveries to the endpoint back on, with a closed circuit and a
   * clean failure streak. New events reach it again; `recover` re-sends what
   * it missed.
   */
  enable(id: string): Endpoint {
    this.guard('endpoints.enable');
    const row = { ...this.row(id), enabled: 1, disabled_reason: null, updated_at: this.clock.now() };
    this.store.db.transaction(() => {
      this.sql.update(row);
      this.store.health.reset(row.id);
    })();
    this.healthReset(row.id);
    return toEndpoint(row);
  }

  /** Circuit state, failure streak, last success and failure, and the success rate over the last hour. */
  health(id: string): EndpointHealth {
    this.guard('endpoints.health');
    const row = this.row(id);
    const now = this.clock.now();
    const h = this.store.health.get(row.id);
    return toEndpointHealth(row.id, h, this.store.health.outcomes(row.id, now, HEALTH_WINDOW_MS), now);
  }

  /**
   * Re-sends, oldest first, every delivery to the endpoint that failed and was
   * created in `[since, until)`, each with a fresh retry schedule. Batched:
   * a million rows do not block the event loop. Resolves to how many.
   */
  async recover(id: string, options: RecoverOptions): Promise<number> {
    this.guard('endpoints.recover');
    const row = this.row(id);
    const o = checkObject(options, 'options', new Set(['since', 'until']));
    if (o.since === undefined)
      throw new InvalidArgumentError('since', 'Expected `since`: recover needs the start of the window');
    const filter = { endpointId: row.id, since: toMs(o.since, 'since'), until: toMs(o.until, 'until') };
    this.store.claims.resetFifo(row.id);
    return requeueFailed(this.store, filter, () => this.clock.now(), this.scheduled);
  }

  /** Stops deliveries to the endpoint: emit skips it and its pending deliveries end as failed with `reason`. */
  disable(id: string, reason?: string): Endpoint {
    this.guard('endpoints.disable');
    if (reason !== undefined && (typeof reason !== 'string' || reason.length === 0 || reason.length > 1000)) {
      throw new InvalidArgumentError(
        'reason',
        `Expected \`reason\` to be a string of 1 to 1000 characters, got ${describe(reason)}`,
      );
    }
    const why = reason ?? 'disabled';
    const row = { ...this.row(id), enabled: 0, disabled_reason: why, updated_at: this.clock.now() };
    this.sql.update(row, `endpoint disabled: ${why}`);
    return toEndpoint(row);
  }

  /**
   * Switches to a new secret. For `graceMs` requests carry both signatures, so
   * receivers still on the old secret keep accepting.
   */
  rotateSecret(id: string, options: RotateSecretOptions = {}): Endpoint {
    this.guard('endpoints.rotateSecret');
    const { secret, graceMs } = parseRotateOptions(options);
    const current = this.row(id);
    const row = rotatedEndpointRow(current, secret, graceMs, this.clock.now());
    this.sql.update(row);
    return toEndpoint(row);
  }

  private row(id: unknown): EndpointRow {
    const row = this.sql.get(checkId(id));
    if (row === undefined) throw new NotFoundError('endpoint', id as string);
    return row;
  }
}
