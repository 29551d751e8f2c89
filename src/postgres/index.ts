// `hookline/postgres`: the sender on PostgreSQL. Only this entry loads `pg` (an optional peer dependency).

export type { DeliveryListFilter, RetryManyFilter } from '../deliveries-api.js';
export type { EmitItem, EmitOptions } from '../emit-input.js';
export type { EndpointInput, EndpointPatch } from '../endpoint-input.js';
export type { RecoverOptions, RotateSecretOptions } from '../endpoints.js';
export { WebhookError } from '../errors/base.js';
export type { ErrorCode } from '../errors/codes.js';
export {
  InvalidArgumentError,
  InvalidOptionError,
  InvalidPayloadError,
  NotFoundError,
  SenderClosedError,
} from '../errors/input.js';
export { InvalidSecretError } from '../errors/secret.js';
export { NotStartedError } from '../errors/state.js';
export { SchemaVersionError, StoreError } from '../errors/store.js';
export type { EventListFilter, ReplayOptions } from '../events-api.js';
export type { PruneResult } from '../maintenance.js';
export type { Queryable } from '../store/postgres/db.js';
export { PG_MIGRATIONS } from '../store/postgres/schema.js';
export type { PgDeliveries } from './deliveries-api.js';
export type { PgEndpoints } from './endpoints-api.js';
export type { PgEvents } from './events-api.js';
export type {
  PgCloseOptions,
  PgEmitManyOptions,
  PgEmitOptions,
  PgEventMap,
  PgSenderOptions,
} from './options.js';
export { PgWebhookSender } from './sender.js';
