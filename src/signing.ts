import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { InvalidArgumentError } from './errors/input.js';
import { InvalidSecretError } from './errors/secret.js';
import { WebhookVerificationError } from './errors/verification.js';

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

const SECRET_PREFIX = 'whsec_';
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;
const GENERATED_SECRET_BYTES = 32;
/** Anything larger cannot be seconds before year 5138, so it is a millisecond timestamp. */
const MAX_TIMESTAMP_SECONDS = 1e11;
const DEFAULT_TOLERANCE_SECONDS = 300;
const STANDARD_BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
// Visible ASCII only: the id travels in a header (no CR/LF injection) and is
// signed as text, so every receiver must see exactly the same characters.
const WEBHOOK_ID = /^[\x21-\x7e]+$/;
const DIGITS = /^[0-9]+$/;

/**
 * Creates a new signing secret: `whsec_` followed by the standard base64 of 32
 * random bytes, the format Standard Webhooks and Svix use.
 */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(GENERATED_SECRET_BYTES).toString('base64');
}

/**
 * Decodes a `whsec_` secret into the HMAC key bytes.
 *
 * Accepts only `whsec_` + canonical standard base64 (padding included) of 24 to
 * 64 bytes; base64url, whitespace and other junk are refused rather than
 * silently skipped, because a lenient decoder would sign with a different key
 * than the receiver's.
 *
 * @param secret The secret, for example from `generateSecret()`.
 * @param argument Name used in the error message, default `secret`.
 * @returns The key bytes.
 * @throws InvalidSecretError (`ERR_INVALID_SECRET`); its message never contains the secret.
 */
export function parseSecret(secret: string, argument = 'secret'): Buffer {
  if (typeof secret !== 'string') {
    throw new InvalidSecretError(argument, `\`${argument}\` must be a string, got ${describeType(secret)}`);
  }
  if (!secret.startsWith(SECRET_PREFIX)) {
    throw new InvalidSecretError(argument, `\`${argument}\` must start with \`${SECRET_PREFIX}\``);
  }
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (encoded.length === 0) {
    throw new InvalidSecretError(argument, `\`${argument}\` has nothing after \`${SECRET_PREFIX}\``);
  }
  if (!STANDARD_BASE64.test(encoded)) {
    throw new InvalidSecretError(
      argument,
      `\`${argument}\` is not standard base64 after \`${SECRET_PREFIX}\`: ${describeBadBase64(encoded)}`,
    );
  }
  const key = Buffer.from(encoded, 'base64');
  // Buffer.from() accepts missing padding and stray trailing bits; only the
  // canonical form is guaranteed to decode the same way everywhere.
  if (key.toString('base64') !== encoded) {
    throw new InvalidSecretError(
      argument,
      `\`${argument}\` is not canonical base64 after \`${SECRET_PREFIX}\` (wrong length or padding)`,
    );
  }
  if (key.length < MIN_SECRET_BYTES || key.length > MAX_SECRET_BYTES) {
    throw new InvalidSecretError(
      argument,
      `\`${argument}\` decodes to ${key.length} bytes; a secret must be ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes`,
    );
  }
  return key;
}

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

/** A `Headers` instance or a plain object such as Node's `IncomingMessage.headers`. */
export type WebhookHeadersInput = Headers | Record<string, string | string[] | undefined>;

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

function hmac(key: Buffer, id: string, timestamp: string, body: string | Uint8Array): Buffer {
  // A string body joins the prefix in one update (one UTF-8 encode); a binary
  // body is fed as-is, never copied into a concatenated string.
  if (typeof body === 'string')
    return createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
  return createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest();
}

function parseSecrets(secret: string | string[]): Buffer[] {
  if (Array.isArray(secret)) {
    if (secret.length === 0) {
      throw new InvalidArgumentError(
        'secret',
        '`secret` must be a secret string or a non-empty array of them',
      );
    }
    return secret.map((one, index) => parseSecret(one, `secret[${index}]`));
  }
  return [parseSecret(secret)];
}

function checkBody(body: unknown): asserts body is string | Uint8Array {
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

interface SignatureHeaders {
  id: string;
  timestamp: string;
  signature: string;
}

function readSignatureHeaders(headers: WebhookHeadersInput): SignatureHeaders {
  const get = headerReader(headers);
  const standard = {
    id: get('webhook-id'),
    timestamp: get('webhook-timestamp'),
    signature: get('webhook-signature'),
  };
  const svix = { id: get('svix-id'), timestamp: get('svix-timestamp'), signature: get('svix-signature') };
  const none = (set: Record<string, string | undefined>) => Object.values(set).every((v) => v === undefined);
  // Svix names are only a fallback for a request that has no Standard Webhooks
  // header at all, so one request is never read from two different sets.
  const useSvix = none(standard) && !none(svix);
  const prefix = useSvix ? 'svix' : 'webhook';
  const values = useSvix ? svix : standard;
  for (const name of ['id', 'timestamp', 'signature'] as const) {
    const value = values[name];
    if (value === undefined || value.trim() === '') {
      // With no signature header of either set, name the standard one (what hookline sends).
      const fallback = !useSvix && none(standard) ? ` (nor is there a \`svix-${name}\` header)` : '';
      throw new WebhookVerificationError(
        'ERR_VERIFY_MISSING_HEADER',
        `The \`${prefix}-${name}\` header is missing${fallback}`,
      );
    }
  }
  return {
    id: values.id!,
    timestamp: values.timestamp!.trim(),
    signature: values.signature!.trim(),
  };
}

function headerReader(headers: WebhookHeadersInput): (name: string) => string | undefined {
  if (typeof (headers as Headers).get === 'function' && typeof (headers as Headers).has === 'function') {
    const fetchHeaders = headers as Headers;
    return (name) => fetchHeaders.get(name) ?? undefined;
  }
  const record = headers as Record<string, string | string[] | undefined>;
  return (name) => {
    let value = Object.hasOwn(record, name) ? record[name] : undefined;
    if (value === undefined) {
      const key = Object.keys(record).find((candidate) => candidate.toLowerCase() === name);
      if (key !== undefined) value = record[key];
    }
    if (Array.isArray(value)) {
      // A repeated signature header carries more candidates; a repeated id or
      // timestamp is signed content, so whichever is read, a forgery still fails.
      return name.endsWith('-signature') ? value.join(' ') : value[0];
    }
    return typeof value === 'string' ? value : undefined;
  };
}

function describeBadBase64(encoded: string): string {
  if (/\s/.test(encoded)) return 'it contains whitespace';
  if (/[-_]/.test(encoded)) return 'it uses base64url characters (- or _)';
  if (/=[^=]/.test(encoded)) return 'padding (=) appears before the end';
  return 'it contains characters outside A-Z a-z 0-9 + / =';
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
