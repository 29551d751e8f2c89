import { InvalidArgumentError } from '../shared/errors/input.js';
import { parseSecrets } from '../shared/secret.js';
import { checkBody, hmac, MAX_TIMESTAMP_SECONDS, type WebhookSignatureHeaders } from '../shared/signature.js';
import { describeType } from '../shared/validate.js';

// Visible ASCII only: the id travels in a header (no CR/LF injection) and is
// signed as text, so every receiver must see exactly the same characters.
const WEBHOOK_ID = /^[\x21-\x7e]+$/;

/**
 * Produces the `webhook-id`, `webhook-timestamp` and `webhook-signature`
 * headers for one request.
 *
 * @param options.id The message id, visible ASCII; the same on every retry.
 * @param options.timestamp When the request is sent: unix seconds (integer) or a
 *   `Date`; default now. Must be within the receiver's tolerance (default 5 min).
 * @param options.body The exact bytes or text that will be sent.
 * @param options.secret One `whsec_` secret, or several while rotating: one
 *   space-separated signature each, in the order given.
 * @throws InvalidArgumentError (`ERR_INVALID_ARGUMENT`) or InvalidSecretError (`ERR_INVALID_SECRET`).
 */
export function signWebhook(options: {
  id: string;
  timestamp?: number | Date;
  body: string | Buffer | Uint8Array;
  secret: string | string[];
}): WebhookSignatureHeaders {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('options', `\`options\` must be an object, got ${describeType(options)}`);
  }
  const { id, body } = options;
  if (typeof id !== 'string' || !WEBHOOK_ID.test(id)) {
    throw new InvalidArgumentError(
      'id',
      typeof id === 'string'
        ? '`id` must be a non-empty string of visible ASCII characters (no spaces or control characters)'
        : `\`id\` must be a string, got ${describeType(id)}`,
    );
  }
  checkBody(body);
  const timestamp = signingTimestamp(options.timestamp);
  const keys = parseSecrets(options.secret);
  const timestampText = String(timestamp);
  const signatures = keys.map((key) => `v1,${hmac(key, id, timestampText, body).toString('base64')}`);
  return { 'webhook-id': id, 'webhook-timestamp': timestampText, 'webhook-signature': signatures.join(' ') };
}

function signingTimestamp(timestamp: number | Date | undefined): number {
  if (timestamp === undefined) return Math.floor(Date.now() / 1000);
  if (timestamp instanceof Date) {
    const ms = timestamp.getTime();
    if (Number.isNaN(ms) || ms < 0)
      throw new InvalidArgumentError('timestamp', '`timestamp` is an invalid or negative Date');
    return Math.floor(ms / 1000);
  }
  if (typeof timestamp !== 'number' || !Number.isInteger(timestamp) || timestamp < 0) {
    throw new InvalidArgumentError(
      'timestamp',
      '`timestamp` must be a Date or a non-negative integer of unix seconds',
    );
  }
  if (timestamp > MAX_TIMESTAMP_SECONDS) {
    throw new InvalidArgumentError(
      'timestamp',
      '`timestamp` looks like milliseconds; pass unix seconds or a Date',
    );
  }
  return timestamp;
}
