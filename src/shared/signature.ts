import { createHmac } from 'node:crypto';
import { InvalidArgumentError } from './errors/input.js';
import { describeType } from './validate.js';
// The Standard Webhooks signature scheme, shared by the sender and `verifyWebhook()`.

/**
 * The three Standard Webhooks headers that authenticate one request. A type
 * alias, not an interface, so it is assignable to `Record<string, string>`
 * (fetch `HeadersInit`, `verifyWebhook()`'s `headers`).
 */
export type WebhookSignatureHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

/** Anything larger cannot be seconds before year 5138, so it is a millisecond timestamp. */
export const MAX_TIMESTAMP_SECONDS = 1e11;

/**
 * Computes one Standard Webhooks signature: `v1,` + base64 HMAC-SHA256 of
 * `${id}.${timestampSeconds}.${body}` (a string body is UTF-8 encoded).
 * Does not validate its arguments: `signWebhook()` does.
 *
 * @param key Key bytes from `parseSecret()`.
 * @param id The `webhook-id` header value.
 * @param timestampSeconds The `webhook-timestamp` value, unix seconds.
 * @param body The exact request body bytes or text.
 */
export function signPayload(
  key: Buffer,
  id: string,
  timestampSeconds: number,
  body: string | Uint8Array,
): string {
  return `v1,${hmac(key, id, String(timestampSeconds), body).toString('base64')}`;
}

/** HMAC-SHA256 of `${id}.${timestamp}.${body}`. */
export function hmac(key: Buffer, id: string, timestamp: string, body: string | Uint8Array): Buffer {
  // A string body joins the prefix in one update (one UTF-8 encode); a binary
  // body is fed as-is, never copied into a concatenated string.
  if (typeof body === 'string')
    return createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
  return createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest();
}

/** The body a signature covers: the exact bytes or text, never a parsed object. */
export function checkBody(body: unknown): asserts body is string | Uint8Array {
  if (typeof body !== 'string' && !(body instanceof Uint8Array)) {
    throw new InvalidArgumentError(
      'body',
      `\`body\` must be the raw body as a string, Buffer or Uint8Array, got ${describeType(body)}` +
        (typeof body === 'object' && body !== null
          ? ' (pass the raw request body, not a parsed object)'
          : ''),
    );
  }
}
