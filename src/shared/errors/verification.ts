import { WebhookError } from './base.js';
import type { WebhookVerificationErrorCode } from './codes.js';
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
