// `hookline/postgres`: the sender on PostgreSQL. Only this entry loads `pg` (an optional peer dependency).

export type { ActivityMinute, ActivityOptions } from './api/activity.js';
export type { EmitItem, EmitOptions } from './api/emit-input.js';
export type { RecoverOptions, RotateSecretOptions } from './api/endpoint-changes.js';
export type { EndpointInput, EndpointPatch } from './api/endpoint-input.js';
export type {
  AttemptFeedOptions,
  BulkOptions,
  DeliveryListFilter,
  EventListFilter,
  ReplayOptions,
  RetryManyFilter,
} from './api/list-input.js';
export type { PgDeliveries } from './api/postgres/deliveries.js';
export type { PgEndpoints } from './api/postgres/endpoints.js';
export type { PgEvents } from './api/postgres/events.js';
export type {
  PgCloseOptions,
  PgEmitManyOptions,
  PgEmitOptions,
  PgEventMap,
  PgSenderOptions,
} from './api/postgres/options.js';
export { PgWebhookSender } from './api/postgres/sender.js';
export type { PruneResult } from './api/retention.js';
export { WebhookError } from './shared/errors/base.js';
export type { ErrorCode } from './shared/errors/codes.js';
export {
  InvalidArgumentError,
  InvalidOptionError,
  InvalidPayloadError,
  NotFoundError,
  SenderClosedError,
} from './shared/errors/input.js';
export { InvalidSecretError } from './shared/errors/secret.js';
export { NotStartedError } from './shared/errors/state.js';
export { SchemaVersionError, StoreError } from './shared/errors/store.js';
export type { Queryable } from './store/postgres/db.js';
export { PG_MIGRATIONS } from './store/postgres/schema.js';
