import type { Got } from 'got';
import { BlockedAddressError } from '../../shared/errors/network.js';
import { isSecretHeader, REDACTED } from '../../shared/secret-headers.js';
import type { AddressPolicy } from './address-policy.js';
import { literalHostAddress } from './address-policy.js';
import type { Agents } from './agents.js';
import { createGotClient } from './got-client.js';
/** The host name got reads as "a unix socket path follows" (`http://unix:/run/x.sock:/path`). */
export const UNIX_SOCKET_HOST = 'unix';

/** One HTTP request to make. */
export interface AttemptRequest {
  url: string;
  headers: Record<string, string>;
  body: string | Buffer;
}

/** What happened. Never throws: every failure is an outcome with an error code. */
export interface AttemptOutcome {
  startedAt: number;
  durationMs: number;
  statusCode: number | null;
  responseHeaders: Record<string, string>;
  responseBody: string | null;
  errorCode: string | null;
  errorMessage: string | null;
}

export interface TransportOptions {
  timeout: number;
  connectTimeout: number;
  responseBodyLimit: number;
  agents: Agents;
  policy: AddressPolicy;
  now: () => number;
}

/** Response headers never kept in the log. */
const DROPPED_HEADERS = new Set(['set-cookie', 'set-cookie2']);
const MAX_HEADER_BYTES = 4096;
const MAX_ERROR_MESSAGE = 500;

function keepHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string> {
  const kept: Record<string, string> = {};
  let size = 0;
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined || DROPPED_HEADERS.has(name)) continue;
    const text = isSecretHeader(name) ? REDACTED : Array.isArray(value) ? value.join(', ') : value;
    size += name.length + text.length;
    if (size > MAX_HEADER_BYTES) break;
    kept[name] = text;
  }
  return kept;
}

/**
 * Decodes a body that was cut short. A cut inside a multi-byte UTF-8 character
 * would decode to U+FFFD (3 bytes) and push the kept text past the byte limit:
 * the partial character is dropped instead.
 */
function decodeCut(bytes: Buffer): string {
  let start = bytes.length - 1;
  while (start > 0 && start > bytes.length - 4 && (bytes[start]! & 0xc0) === 0x80) start--;
  const lead = bytes[start];
  if (lead === undefined) return '';
  const length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return bytes.toString('utf8', 0, bytes.length - start < length ? start : bytes.length);
}

/** Keeps at most `limit` bytes of text, cut on a character boundary. */
function capBytes(text: string, limit: number): string {
  return Buffer.byteLength(text) <= limit ? text : decodeCut(Buffer.from(text).subarray(0, limit));
}

/**
 * The pieces of a URL that may carry a secret (the whole URL, its query string
 * raw and decoded, its path), longest first, so that an error message quoting
 * any of them can be cleaned.
 */
function secretParts(url: string): string[] {
  const parts = new Set([url]);
  try {
    const parsed = new URL(url);
    parts.add(parsed.href);
    if (parsed.search.length > 1) {
      parts.add(parsed.search);
      parts.add(parsed.search.slice(1));
      parts.add(parsed.pathname + parsed.search);
      try {
        parts.add(decodeURIComponent(parsed.search.slice(1)));
      } catch {
        // Not percent-decodable: the raw form is removed above.
      }
    }
  } catch {
    // Not a URL: the raw string is removed above.
  }
  return [...parts].filter((part) => part.length > 0).sort((a, b) => b.length - a.length);
}

/** The code and message of a failed request, for the attempt log: no URL query string, at most 500 characters. */
export function describeError(error: unknown, url: string): { code: string; message: string } {
  const e = (error ?? {}) as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' && e.code.length > 0 ? e.code : 'ERR_REQUEST';
  let message = typeof e.message === 'string' ? e.message : String(error);
  // A URL can carry a token in its query string: never copy it into the log.
  for (const part of secretParts(url)) message = message.split(part).join('<url>');
  return { code, message: message.slice(0, MAX_ERROR_MESSAGE) };
}

/** Why a URL is refused before any socket exists, or `null`: it may be tried. */
type Refusal = { code: string; message: string } | null;

const ABORTED = { code: 'ERR_ABORTED', message: 'The attempt was aborted: the sender is closing' };

/** How many URLs' verdicts `Transport` remembers (a sender has few endpoints; this only bounds memory). */
const MAX_VERDICTS = 1024;

/** Makes one attempt with got: no retries, no redirects, no decompression, a hard deadline, a capped body. */
export class Transport {
  private readonly client: Got;
  /** Each URL's verdict, worked out once: parsing and checking a URL on every attempt is garbage. */
  private readonly verdicts = new Map<string, Refusal>();
  /** How to cut short each attempt in flight (`abortAll`). */
  private readonly active = new Set<() => void>();
  private aborted = false;

  constructor(private readonly options: TransportOptions) {
    this.client = createGotClient(options.agents, options.connectTimeout);
  }

  /** Aborts every attempt in flight, and any started later (the sender is closing): each ends with `ERR_ABORTED`. */
  abortAll(): void {
    this.aborted = true;
    for (const abort of [...this.active]) abort();
  }

  /** Whether the URL is refused before connecting, remembered per URL. */
  private verdict(url: string): Refusal {
    let verdict = this.verdicts.get(url);
    if (verdict === undefined) {
      verdict = this.check(url);
      if (this.verdicts.size >= MAX_VERDICTS) this.verdicts.clear();
      this.verdicts.set(url, verdict);
    }
    return verdict;
  }

  private check(url: string): Refusal {
    let host: string;
    try {
      host = new URL(url).hostname;
    } catch (error) {
      return describeError(error, url);
    }
    // Endpoints are checked when added, but the row may have been written by another process or version.
    if (host === UNIX_SOCKET_HOST) return blocked(new BlockedAddressError(host, host, 'unix-socket'));
    // Node does not call `lookup` for an IP literal: check it here, before any socket exists.
    const literal = literalHostAddress(host);
    if (literal !== null) {
      const rule = this.options.policy.check(literal);
      if (rule !== null) return blocked(new BlockedAddressError(host, literal, rule));
    }
    return null;
  }

  send(request: AttemptRequest): Promise<AttemptOutcome> {
    const { timeout, responseBodyLimit, now } = this.options;
    const startedAt = now();
    const started = performance.now();
    const finish = (
      statusCode: number | null,
      headers: Record<string, string>,
      body: string | null,
      errorCode: string | null,
      errorMessage: string | null,
    ): AttemptOutcome => ({
      startedAt,
      durationMs: Math.round(performance.now() - started),
      statusCode,
      responseHeaders: headers,
      responseBody: body,
      errorCode,
      errorMessage,
    });

    const refused = this.aborted ? ABORTED : this.verdict(request.url);
    if (refused !== null) return Promise.resolve(finish(null, {}, null, refused.code, refused.message));

    return new Promise<AttemptOutcome>((resolve) => {
      let settled = false;
      let statusCode: number | null = null;
      let headers: Record<string, string> = {};
      const chunks: Buffer[] = [];
      let kept = 0;

      const settle = (outcome: AttemptOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.active.delete(abort);
        resolve(outcome);
      };
      // Every settle but 'end' cuts the body short. A body that is not UTF-8 (a gzip
      // bomb, say) decodes to U+FFFD, 3 bytes each: the text is capped again.
      const body = (complete = false) => {
        if (statusCode === null) return null;
        const bytes = Buffer.concat(chunks);
        return capBytes(complete ? bytes.toString('utf8') : decodeCut(bytes), responseBodyLimit);
      };

      let stream: ReturnType<Got['stream']>;
      try {
        stream = this.client.stream(request.url, { body: request.body, headers: request.headers });
      } catch (error) {
        const { code, message } = describeError(error, request.url);
        settled = true;
        resolve(finish(null, {}, null, code, message));
        return;
      }
      // The hard deadline covers everything, including a body dripped one byte at a time.
      // Destroying got's stream destroys its request and socket.
      const timer = setTimeout(() => {
        stream.destroy();
        settle(
          finish(statusCode, headers, body(), 'ETIMEDOUT', `The attempt exceeded its ${timeout} ms deadline`),
        );
      }, timeout);
      const abort = () => {
        stream.destroy();
        settle(finish(statusCode, headers, body(), ABORTED.code, ABORTED.message));
      };
      this.active.add(abort);

      stream.on(
        'response',
        (response: { statusCode: number; headers: Record<string, string | string[] | undefined> }) => {
          statusCode = response.statusCode;
          headers = keepHeaders(response.headers);
        },
      );
      stream.on('data', (chunk: Buffer) => {
        if (kept < responseBodyLimit) {
          const part =
            chunk.length > responseBodyLimit - kept ? chunk.subarray(0, responseBodyLimit - kept) : chunk;
          chunks.push(part);
          kept += part.length;
        }
        if (kept >= responseBodyLimit) {
          // Enough for the log: stop reading rather than pay for the rest.
          stream.destroy();
          settle(finish(statusCode, headers, body(), null, null));
        }
      });
      stream.on('end', () => settle(finish(statusCode, headers, body(true), null, null)));
      stream.on('error', (error: Error) => {
        const cause = (error as { cause?: unknown }).cause;
        const root = error.name === 'RequestError' && cause instanceof BlockedAddressError ? cause : error;
        const { code, message } = describeError(root, request.url);
        settle(finish(statusCode, headers, body(), code, message));
      });
    });
  }
}

function blocked(error: BlockedAddressError): Refusal {
  return { code: error.code, message: error.message };
}
