/** Why `verifyWebhook()` refused a request. Stable across releases. */
export type WebhookVerificationErrorCode =
  /** `webhook-id`, `webhook-timestamp` or `webhook-signature` is absent or empty. */
  | 'ERR_VERIFY_MISSING_HEADER'
  /** `webhook-timestamp` is not an integer of unix seconds (for example milliseconds). */
  | 'ERR_VERIFY_BAD_TIMESTAMP'
  /** `webhook-timestamp` is further in the past than the tolerance. */
  | 'ERR_VERIFY_TOO_OLD'
  /** `webhook-timestamp` is further in the future than the tolerance. */
  | 'ERR_VERIFY_TOO_NEW'
  /** No `v1` signature matches the body for any of the secrets. */
  | 'ERR_VERIFY_NO_MATCH'
  /** The receiver's own secret is not a valid `whsec_` secret. */
  | 'ERR_VERIFY_BAD_SECRET'
  /** The signature matches but the body is not a JSON object. */
  | 'ERR_VERIFY_BAD_BODY';

/**
 * Every `code` of an error hookline throws or emits. Stable across releases:
 * branch on it, not on the message. (An attempt's `errorCode` in the delivery
 * log is another thing: the transport's code for why one request failed.)
 */
export type ErrorCode =
  /** A constructor option is unknown or has a bad value. */
  | 'ERR_INVALID_OPTION'
  /** A method argument is missing, of the wrong type or out of range. */
  | 'ERR_INVALID_ARGUMENT'
  /** A method was given an option or property it does not know. */
  | 'ERR_UNKNOWN_OPTION'
  /** An event type is empty, too long or has characters outside `A-Za-z0-9_:/-.`. */
  | 'ERR_INVALID_EVENT_TYPE'
  /** An endpoint URL is not absolute http(s), carries credentials, or names a unix socket. */
  | 'ERR_INVALID_URL'
  /** An endpoint URL or a resolved address is in a refused range. */
  | 'ERR_SSRF_BLOCKED'
  /** A secret is not `whsec_` + base64 of 24 to 64 bytes. */
  | 'ERR_INVALID_SECRET'
  /** A `cursor` that is not a `nextCursor` of the same list. */
  | 'ERR_INVALID_CURSOR'
  /** `deliveries.retry` on a delivery that is being sent or has succeeded. */
  | 'ERR_INVALID_STATE'
  /** The payload has no JSON form. */
  | 'ERR_PAYLOAD_NOT_SERIALIZABLE'
  /** The payload's JSON is larger than `maxPayloadBytes`. */
  | 'ERR_PAYLOAD_TOO_LARGE'
  /** No endpoint, event or delivery with that id. */
  | 'ERR_NOT_FOUND'
  /** A method was called after `close()`. */
  | 'ERR_SENDER_CLOSED'
  /** `drain()` on a sender never started. */
  | 'ERR_NOT_STARTED'
  /** The database was migrated by a newer hookline. */
  | 'ERR_SCHEMA_TOO_NEW'
  /** With `migrate: false`: the database holds no hookline schema. */
  | 'ERR_SCHEMA_MISSING'
  /** With `migrate: false`: the database's hookline schema is older than this version's. */
  | 'ERR_SCHEMA_TOO_OLD'
  /** The database could not be opened or answered with an error. */
  | 'ERR_STORE'
  /** Emitted as `'error'`: a listener threw. */
  | 'ERR_LISTENER'
  /** Emitted as `'error'`: recording a span or a metric threw; the emit or attempt went on without it. */
  | 'ERR_TELEMETRY'
  /** Emitted as `'error'`: the dispatcher could not reach the database, or an attempt failed unexpectedly. */
  | 'ERR_DISPATCH'
  /** Emitted as `'error'`: a `retry` function returned something that is not a delay in ms or `null`. */
  | 'ERR_INVALID_RETRY_DELAY'
  | WebhookVerificationErrorCode;
