export type { Clock } from './clock.js';
export type { CloseOptions } from './close-options.js';
export type { Deliveries, DeliveryListFilter, RetryManyFilter } from './deliveries-api.js';
export type {
  AttemptNotice,
  CircuitNotice,
  DeliveredNotice,
  DeliveryNotice,
  EndpointDisabledNotice,
  FailedNotice,
  RetryingNotice,
  SenderEvents,
} from './dispatch/notices.js';
export type { Duration } from './duration.js';
export type { EmitItem, EmitOptions } from './emit-input.js';
export type { EndpointInput, EndpointPatch } from './endpoint-input.js';
export type { Endpoints, RecoverOptions, RotateSecretOptions } from './endpoints.js';
export { WebhookError, type WebhookErrorContext } from './errors/base.js';
export type { ErrorCode, WebhookVerificationErrorCode } from './errors/codes.js';
export {
  InvalidArgumentError,
  InvalidOptionError,
  InvalidPayloadError,
  NotFoundError,
  SenderClosedError,
} from './errors/input.js';
export { InvalidSecretError } from './errors/secret.js';
export { NotStartedError } from './errors/state.js';
export { SchemaVersionError, StoreError } from './errors/store.js';
export { WebhookVerificationError } from './errors/verification.js';
export type { EventListFilter, Events, ReplayOptions } from './events-api.js';
export type { LookupFunction } from './http/guarded-lookup.js';
export type { TimeInput } from './list-input.js';
export type { PruneResult } from './maintenance.js';
export type { SenderOptions } from './options.js';
export {
  DEFAULT_RETRY_SCHEDULE,
  type RetryContext,
  type RetryFunction,
  type RetryPolicy,
} from './retry.js';
export { type EventMap, WebhookSender } from './sender.js';
export {
  generateSecret,
  signWebhook,
  verifyWebhook,
  type WebhookEvent,
  type WebhookHeadersInput,
  type WebhookSignatureHeaders,
} from './signing.js';
export type {
  Attempt,
  Delivery,
  DeliveryStatus,
  DeliveryWithAttempts,
  EmittedEvent,
  Endpoint,
  EndpointHealth,
  Page,
  SenderStats,
  Timestamp,
  WebhookEventRecord,
} from './types.js';
export { VERSION } from './version.js';
