import { timingSafeEqual } from 'node:crypto';
import { InvalidArgumentError } from '../shared/errors/input.js';
import { InvalidSecretError } from '../shared/errors/secret.js';
import { WebhookVerificationError } from '../shared/errors/verification.js';
import { parseSecrets } from '../shared/secret.js';
import { checkBody, hmac, MAX_TIMESTAMP_SECONDS } from '../shared/signature.js';
import { describeType } from '../shared/validate.js';
import { readSignatureHeaders, type WebhookHeadersInput } from './headers.js';
/** The body of a hookline webhook request, as returned by `verifyWebhook()`. */
export interface WebhookEvent<T = unknown> {
  /** The event id; the same as the `webhook-id` header and stable across retries. */
  id: string;
  /** The event type, for example `order.created`. */
  type: string;
  /** When the event was emitted, an ISO 8601 string. */
  timestamp: string;
  /** The payload given to `emit()`. */
  data: T;
}

const DEFAULT_TOLERANCE_SECONDS = 300;
const DIGITS = /^[0-9]+$/;

/**
 * Verifies a received Standard Webhooks request and returns its parsed body.
 *
 * Reads `webhook-id`, `webhook-timestamp` and `webhook-signature` (any case;
 * `svix-*` names are accepted when no `webhook-*` header is present), checks
 * the timestamp is within `toleranceSeconds` of `now` in both directions, then
 * accepts if any `v1` signature matches for any secret. Other signature
 * versions are ignored.
 *
 * @param options.secret The endpoint's `whsec_` secret, or several while rotating.
 * @param options.headers The request headers.
 * @param options.body The raw body exactly as received: a parsed and
 *   re-serialized body no longer matches the signature.
 * @param options.toleranceSeconds Accepted clock difference, seconds, default 300.
 * @param options.now The current time as a `Date` or unix seconds; default now.
 * @returns The body parsed as JSON.
 * @throws WebhookVerificationError with one of the `ERR_VERIFY_*` codes; or
 *   InvalidArgumentError if an argument has the wrong type.
 */
export function verifyWebhook<T = unknown>(options: {
  secret: string | string[];
  headers: WebhookHeadersInput;
  body: string | Buffer | Uint8Array;
  toleranceSeconds?: number;
  now?: Date | number;
}): WebhookEvent<T> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('options', `\`options\` must be an object, got ${describeType(options)}`);
  }
  const { headers, body, toleranceSeconds = DEFAULT_TOLERANCE_SECONDS } = options;
  if (typeof headers !== 'object' || headers === null) {
    throw new InvalidArgumentError(
      'headers',
      `\`headers\` must be a Headers or a plain object, got ${describeType(headers)}`,
    );
  }
  checkBody(body);
  if (typeof toleranceSeconds !== 'number' || Number.isNaN(toleranceSeconds) || toleranceSeconds < 0) {
    throw new InvalidArgumentError('toleranceSeconds', '`toleranceSeconds` must be a number >= 0');
  }
  const nowSeconds = currentSeconds(options.now);

  // The receiver's own configuration is checked first, so a bad secret is
  // reported on every request rather than hidden behind the sender's mistakes.
  let keys: Buffer[];
  try {
    keys = parseSecrets(options.secret);
  } catch (error) {
    if (!(error instanceof InvalidSecretError || error instanceof InvalidArgumentError)) throw error;
    throw new WebhookVerificationError('ERR_VERIFY_BAD_SECRET', error.message, error);
  }

  const { id, timestamp: timestampText, signature } = readSignatureHeaders(headers);

  if (!DIGITS.test(timestampText)) {
    throw new WebhookVerificationError(
      'ERR_VERIFY_BAD_TIMESTAMP',
      'The webhook timestamp header must be an integer of unix seconds',
    );
  }
  const timestamp = Number(timestampText);
  if (timestamp > MAX_TIMESTAMP_SECONDS) {
    throw new WebhookVerificationError(
      'ERR_VERIFY_BAD_TIMESTAMP',
      'The webhook timestamp header is too large for unix seconds (milliseconds?); it must be unix seconds',
    );
  }
  if (nowSeconds - timestamp > toleranceSeconds) {
    throw new WebhookVerificationError(
      'ERR_VERIFY_TOO_OLD',
      `The webhook timestamp is ${nowSeconds - timestamp} s in the past; the tolerance is ${toleranceSeconds} s`,
    );
  }
  if (timestamp - nowSeconds > toleranceSeconds) {
    throw new WebhookVerificationError(
      'ERR_VERIFY_TOO_NEW',
      `The webhook timestamp is ${timestamp - nowSeconds} s in the future; the tolerance is ${toleranceSeconds} s`,
    );
  }

  // Compared as base64 text: a signature is accepted only in its canonical
  // encoding, and the length (always 44) is not a secret, so it is checked first.
  const expected = keys.map((key) =>
    Buffer.from(hmac(key, id, timestampText, body).toString('base64'), 'latin1'),
  );
  let matched = false;
  for (const entry of signature.split(/\s+/)) {
    const comma = entry.indexOf(',');
    if (comma === -1 || entry.slice(0, comma) !== 'v1') continue;
    // Headers.get() and Node join repeated headers with ', ', leaving a trailing comma.
    const received = Buffer.from(entry.slice(comma + 1).replace(/,$/, ''), 'latin1');
    for (const candidate of expected) {
      if (received.length === candidate.length && timingSafeEqual(received, candidate)) matched = true;
    }
    if (matched) break;
  }
  if (!matched) {
    throw new WebhookVerificationError(
      'ERR_VERIFY_NO_MATCH',
      'No v1 signature matches the body for the given secret',
    );
  }

  const text =
    typeof body === 'string'
      ? body
      : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new WebhookVerificationError(
      'ERR_VERIFY_BAD_BODY',
      'The signature matches but the body is not valid JSON',
      error,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new WebhookVerificationError(
      'ERR_VERIFY_BAD_BODY',
      'The signature matches but the body is not a JSON object',
    );
  }
  return parsed as WebhookEvent<T>;
}

function currentSeconds(now: Date | number | undefined): number {
  if (now === undefined) return Math.floor(Date.now() / 1000);
  if (now instanceof Date) {
    const ms = now.getTime();
    if (Number.isNaN(ms)) throw new InvalidArgumentError('now', '`now` is an invalid Date');
    return Math.floor(ms / 1000);
  }
  if (typeof now !== 'number' || !Number.isFinite(now)) {
    throw new InvalidArgumentError('now', '`now` must be a Date or a number of unix seconds');
  }
  // Date.now() is the easy mistake here; reading it as seconds would reject every request.
  if (now > MAX_TIMESTAMP_SECONDS) {
    throw new InvalidArgumentError('now', '`now` looks like milliseconds; pass unix seconds or a Date');
  }
  return Math.floor(now);
}
