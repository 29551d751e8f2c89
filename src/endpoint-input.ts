import { InvalidArgumentError } from './errors/input.js';
import { isValidPattern } from './match.js';
import { describe, isPlainObject } from './validate.js';

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
}

/** What `endpoints.update` takes: any subset of the input, secret excluded (use `rotateSecret`). */
export type EndpointPatch = Partial<Omit<EndpointInput, 'secret'>>;

export const ADD_KEYS = new Set(['url', 'events', 'tenant', 'secret', 'headers', 'description', 'metadata']);
export const UPDATE_KEYS = new Set(['url', 'events', 'tenant', 'headers', 'description', 'metadata']);

const MAX_URL_LENGTH = 2048;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
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

function bad(argument: string, expected: string, value: unknown, code = 'ERR_INVALID_ARGUMENT'): never {
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
  if (url.hash !== '') url.hash = '';
  return url.href;
}

export function validateEvents(value: unknown): string[] {
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    value.length > 1000 ||
    !value.every((p) => typeof p === 'string' && isValidPattern(p))
  ) {
    bad('events', 'a non-empty array of event types or patterns (`order.*`, `*`)', value);
  }
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
    // The value is not echoed: custom headers often carry tokens.
    if (typeof v !== 'string' || /[\r\n\0]/.test(v)) {
      throw new InvalidArgumentError(
        'headers',
        `The value of header \`${lower}\` must be a string without CR, LF or NUL`,
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
