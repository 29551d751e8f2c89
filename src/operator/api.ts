import type { ActivityMinute, ActivityOptions } from '../api/activity.js';
import type { RecoverOptions, RotateSecretOptions } from '../api/endpoint-changes.js';
import type { EndpointInput, EndpointPatch } from '../api/endpoint-input.js';
import type {
  AttemptFeedOptions,
  BulkOptions,
  DeliveryListFilter,
  EventListFilter,
  ReplayOptions,
  RetryManyFilter,
} from '../api/list-input.js';
import type { PruneResult } from '../api/retention.js';
import type {
  AttemptRecord,
  Delivery,
  DeliveryWithAttempts,
  Endpoint,
  EndpointHealth,
  Page,
  SenderStats,
  WebhookEventRecord,
} from '../shared/types.js';

type Maybe<T> = T | Promise<T>;

/**
 * What the operator tools (the CLI, the dashboard) use of a sender: the public API that
 * `WebhookSender` answers synchronously and `PgWebhookSender` with Promises, so every call is awaited.
 */
export interface OperatorApi {
  endpoints: {
    add(input: EndpointInput): Maybe<Endpoint>;
    get(id: string): Maybe<Endpoint>;
    list(): Maybe<Endpoint[]>;
    update(id: string, patch: EndpointPatch): Maybe<Endpoint>;
    remove(id: string): Maybe<void>;
    enable(id: string): Maybe<Endpoint>;
    disable(id: string, reason?: string): Maybe<Endpoint>;
    rotateSecret(id: string, options?: RotateSecretOptions): Maybe<Endpoint>;
    health(id: string): Maybe<EndpointHealth>;
    recover(id: string, options: RecoverOptions): Maybe<number>;
  };
  events: {
    get(id: string): Maybe<WebhookEventRecord>;
    list(filter?: EventListFilter): Maybe<Page<WebhookEventRecord>>;
    replay(id: string, options?: ReplayOptions): Maybe<number>;
  };
  deliveries: {
    get(id: string): Maybe<DeliveryWithAttempts>;
    list(filter?: DeliveryListFilter): Maybe<Page<Delivery>>;
    retry(id: string): Maybe<Delivery>;
    retryMany(filter: RetryManyFilter, options?: BulkOptions): Maybe<number>;
    attempts(options?: AttemptFeedOptions): Maybe<AttemptRecord[]>;
  };
  stats(): Maybe<SenderStats>;
  activity(options?: ActivityOptions): Maybe<ActivityMinute[]>;
  prune(): Promise<PruneResult>;
  close(): Promise<void>;
}
