import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

// Action forms carry a token bound to a random cookie of the browser (HttpOnly, SameSite=Strict):
// a page of another site can neither read the token nor send the cookie with its POST.

export const CSRF_COOKIE = 'hookline_csrf';

export class Csrf {
  readonly #key: Buffer;

  constructor(secret: string | Buffer | undefined) {
    this.#key = secret === undefined ? randomBytes(32) : Buffer.from(secret);
  }

  /** The browser's cookie value, or a new one to set. */
  cookieOf(request: IncomingMessage): { value: string; fresh: boolean } {
    const value = readCookie(request, CSRF_COOKIE);
    if (value !== undefined && /^[A-Za-z0-9_-]{43}$/.test(value)) return { value, fresh: false };
    return { value: randomBytes(32).toString('base64url'), fresh: true };
  }

  token(cookie: string): string {
    return createHmac('sha256', this.#key).update(cookie).digest('base64url');
  }

  /** Whether a POST's token matches the cookie it came with. */
  check(request: IncomingMessage, token: unknown): boolean {
    const cookie = readCookie(request, CSRF_COOKIE);
    if (cookie === undefined || typeof token !== 'string') return false;
    const expected = Buffer.from(this.token(cookie));
    const given = Buffer.from(token);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

function readCookie(request: IncomingMessage, name: string): string | undefined {
  const header = request.headers.cookie;
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
