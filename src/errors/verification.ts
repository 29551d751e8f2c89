import { WebhookError } from './base.js';

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
 * A received webhook request failed verification. Branch on `code`; answer the
 * sender with a 4xx, except for `ERR_VERIFY_BAD_SECRET`, which is the receiver's
 * own misconfiguration.
 */
export class WebhookVerificationError extends WebhookError {
  override name = 'WebhookVerificationError';
  declare readonly code: WebhookVerificationErrorCode;

  constructor(code: WebhookVerificationErrorCode, message: string, cause?: unknown) {
    super(code, message, { cause });
  }
}
