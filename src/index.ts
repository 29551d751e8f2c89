export type { ActivityMinute, ActivityOptions } from './api/activity.js';
export type { CloseOptions } from './api/close-options.js';
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
  TimeInput,
} from './api/list-input.js';
export type { PruneResult } from './api/retention.js';
export type { Deliveries } from './api/sqlite/deliveries.js';
export type { Endpoints } from './api/sqlite/endpoints.js';
export type { Events } from './api/sqlite/events.js';
export { type EventMap, WebhookSender } from './api/sqlite/sender.js';
export type {
  AttemptNotice,
  CircuitNotice,
  DeliveredNotice,
  DeliveryNotice,
  EndpointDisabledNotice,
  FailedNotice,
  RetryingNotice,
  SenderEvents,
} from './engine/notices.js';
export type { WebhookHeadersInput } from './receiver/headers.js';
export { signWebhook } from './receiver/sign.js';
export { verifyWebhook, type WebhookEvent } from './receiver/verify.js';
export type { Clock } from './shared/clock.js';
export type { Duration } from './shared/duration.js';
export { WebhookError, type WebhookErrorContext } from './shared/errors/base.js';
export type { ErrorCode, WebhookVerificationErrorCode } from './shared/errors/codes.js';
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
export { WebhookVerificationError } from './shared/errors/verification.js';
export type { LookupFunction } from './shared/lookup.js';
export type { SenderOptions } from './shared/options.js';
export {
  DEFAULT_RETRY_SCHEDULE,
  type RetryContext,
  type RetryFunction,
  type RetryPolicy,
} from './shared/retry.js';
export { generateSecret } from './shared/secret.js';
export type { WebhookSignatureHeaders } from './shared/signature.js';
export type {
  Attempt,
  AttemptRecord,
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
} from './shared/types.js';
export { VERSION } from './shared/version.js';
