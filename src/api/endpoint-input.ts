import type { ErrorCode } from '../shared/errors/codes.js';
import { InvalidArgumentError } from '../shared/errors/input.js';
import { isValidPattern } from '../shared/match.js';
import { describe, isPlainObject } from '../shared/validate.js';
/** What `endpoints.add` takes. */
export interface EndpointInput {
  /** Absolute `http:` or `https:` URL that receives the POSTs. */
  url: string;
  /** Event types or patterns (`order.*`, `*`). @default ['*'] */
  events?: string[];
  /** The tenant whose events this endpoint receives. @default null (events emitted without a tenant) */
  tenant?: string | null;
  /** A `whsec_` secret to sign with; generated when absent. */
  secret?: string;
  /** Extra request headers sent with every delivery. @default {} */
  headers?: Record<string, string>;
  description?: string | null;
  /** Free-form JSON data kept with the endpoint. @default {} */
  metadata?: Record<string, unknown>;
  /** Requests in flight to this endpoint at most. @default null (the sender's `endpointConcurrency`) */
  concurrency?: number | null;
  /** Requests per second at most; beyond it deliveries wait without holding a slot. @default null (no limit) */
  rateLimit?: { perSecond: number } | null;
  /**
   * `'fifo'`: deliveries are attempted one at a time in emit order (per `orderingKey` when events carry one);
   * delivery n+1 waits until n succeeded or failed for good. @default 'none'
   */
  ordering?: 'none' | 'fifo';
}

/** What `endpoints.update` takes: any subset of the input, secret excluded (use `rotateSecret`). */
export type EndpointPatch = Partial<Omit<EndpointInput, 'secret'>>;

const SHARED_KEYS = [
  'url',
  'events',
  'tenant',
  'headers',
  'description',
  'metadata',
  'concurrency',
  'rateLimit',
  'ordering',
];
export const ADD_KEYS = new Set([...SHARED_KEYS, 'secret']);
export const UPDATE_KEYS = new Set(SHARED_KEYS);

const MAX_URL_LENGTH = 2048;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** What Node's http client accepts in a header value (`checkInvalidHeaderChar`). */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** Headers hookline sets itself; an endpoint may not override them. */
const RESERVED_HEADERS = new Set([
  'content-type',
  'content-length',
  'host',
  'connection',
  'transfer-encoding',
  'user-agent',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
]);

function bad(
  argument: string,
  expected: string,
  value: unknown,
  code: ErrorCode = 'ERR_INVALID_ARGUMENT',
): never {
  throw new InvalidArgumentError(
    argument,
    `Expected \`${argument}\` to be ${expected}, got ${describe(value)}`,
    code,
  );
}

export function validateUrl(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_URL_LENGTH) {
    bad('url', `an absolute http(s) URL of at most ${MAX_URL_LENGTH} characters`, value, 'ERR_INVALID_URL');
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    bad('url', 'an absolute http(s) URL', value, 'ERR_INVALID_URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError(
      'url',
      `Expected \`url\` to use http: or https:, got \`${url.protocol}\``,
      'ERR_INVALID_URL',
    );
  }
  if (url.username !== '' || url.password !== '') {
    // Credentials in a URL end up in logs; the value is not echoed for the same reason.
    throw new InvalidArgumentError(
      'url',
      'The `url` must not contain a user name or password: use `headers` instead',
      'ERR_INVALID_URL',
    );
  }
  if (url.hostname === 'unix') {
    // got reads `http://unix:/run/app.sock:/path` as a unix socket: a way around the SSRF guard.
    throw new InvalidArgumentError(
      'url',
      'The `url` host `unix` names a unix socket (`http://unix:/path:/...`); webhooks go over TCP only',
      'ERR_INVALID_URL',
    );
  }
  if (url.hash !== '') url.hash = '';
  return url.href;
}

const PATTERN = 'an event type or pattern (`order.created`, `order.*`, `*`)';

export function validateEvents(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > 1000) {
    bad('events', 'a non-empty array (at most 1000) of event types or patterns (`order.*`, `*`)', value);
  }
  // Name the one that is wrong, not the whole list.
  const at = value.findIndex((p) => typeof p !== 'string' || !isValidPattern(p));
  if (at !== -1) bad(`events[${at}]`, PATTERN, value[at]);
  return [...new Set(value as string[])];
}

export function validateTenant(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length === 0 || value.length > 255)
    bad('tenant', 'a string of 1 to 255 characters or null', value);
  return value;
}

export function validateHeaders(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (!isPlainObject(value)) bad('headers', 'an object of header names to string values', value);
  const headers: Record<string, string> = {};
  for (const [name, v] of Object.entries(value)) {
    const lower = name.toLowerCase();
    if (!HEADER_NAME.test(name)) bad(`headers`, 'valid HTTP header names', name);
    if (RESERVED_HEADERS.has(lower)) {
      throw new InvalidArgumentError(
        'headers',
        `The header \`${lower}\` is set by hookline and cannot be overridden`,
      );
    }
    // The value is not echoed: custom headers often carry tokens. Node refuses to send control
    // characters and anything above U+00FF, so such a value would fail every attempt.
    if (typeof v !== 'string' || !HEADER_VALUE.test(v)) {
      throw new InvalidArgumentError(
        'headers',
        `The value of header \`${lower}\` must be a string without CR, LF, NUL, other control characters or characters above U+00FF`,
      );
    }
    headers[lower] = v;
  }
  return headers;
}

export function validateDescription(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length > 1000)
    bad('description', 'a string of at most 1000 characters or null', value);
  return value;
}

export function validateMetadata(value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (!isPlainObject(value)) bad('metadata', 'a plain object', value);
  try {
    JSON.stringify(value);
  } catch {
    bad('metadata', 'a JSON-serializable object', value);
  }
  return value;
}

export function validateConcurrency(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  if (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > 10_000) {
    bad('concurrency', 'an integer from 1 to 10000 or null', value);
  }
  return value as number;
}

export function validateRateLimit(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  const perSecond = isPlainObject(value) && Object.keys(value).length === 1 ? value.perSecond : undefined;
  if (typeof perSecond !== 'number' || !Number.isFinite(perSecond) || perSecond <= 0 || perSecond > 100_000) {
    bad('rateLimit', '`{ perSecond }` with a number above 0 and at most 100000, or null', value);
  }
  return perSecond;
}

export function validateOrdering(value: unknown): 'none' | 'fifo' {
  if (value === undefined) return 'none';
  if (value !== 'none' && value !== 'fifo') bad('ordering', "`'none'` or `'fifo'`", value);
  return value;
}
