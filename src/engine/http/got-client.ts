import http, { type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import https from 'node:https';
import { type ExtendOptions, type Got, got, type Options } from 'got';
import type { Agents } from './agents.js';

/**
 * got builds each request's `node:http` options as `{ ...cacheOptions, ...unixOptions, ` and some 35
 * keys `}`. On Node 20's V8 every key added after spreading an object that has keys takes the slow
 * path: about 55 µs per request on the bench machine, 8% of a delivery's CPU in the engine's worker
 * (`node bench/profile.mjs --concurrency 16`). got's default `cacheOptions` has four keys, all
 * undefined; hookline never caches (`cache: false`), so each request starts with none, and the same
 * options are built in about 6 µs. (`cacheOptions` is replaced, not merged, outside a merge: the
 * setter is got's public one. got's setter accepts only keys already present, so a later
 * `cacheOptions: { shared: … }` on this client would throw: this client never caches.)
 */
function withoutCacheOptions(_raw: unknown, options: Options): void {
  options.cacheOptions = {};
}

/**
 * The request function got calls (its `request` option). got passes the URL object and its ~37
 * native options, most of them undefined; `node:http` turns the URL into a null-prototype object
 * (`url.urlToHttpOptions`), copies every option onto it, and its agent copies them again. A
 * plain object of the defined options, with the URL's parts as `urlToHttpOptions` gives them,
 * makes the same request: 47 µs less CPU per delivery in a same-run A/B (`node bench/ab.mjs`).
 */
export function requestFunction(
  url: URL,
  options: RequestOptions,
  callback?: (response: IncomingMessage) => void,
): ClientRequest {
  const { hostname, port, username, password } = url;
  const native: Record<string, unknown> = {
    protocol: url.protocol,
    // `[::1]` in a URL, `::1` to connect to.
    hostname: hostname.startsWith('[') ? hostname.slice(1, -1) : hostname,
    path: url.pathname + url.search,
  };
  if (port !== '') native.port = Number(port);
  // As `urlToHttpOptions`. (got already sends the URL's credentials as an Authorization header, which
  // node:http prefers to `auth`; this keeps the function equal to node:http's own reading of a URL.)
  if (username !== '' || password !== '')
    native.auth = `${decodeURIComponent(username)}:${decodeURIComponent(password)}`;
  const given = options as Record<string, unknown>;
  for (const key in given) if (given[key] !== undefined) native[key] = given[key];
  return (url.protocol === 'https:' ? https : http).request(native as RequestOptions, callback);
}

/** got's settings for one attempt per call: no retries, no redirects, no decompression, through `agents`. */
export function attemptDefaults(agents: Agents, connectTimeout: number): ExtendOptions {
  return {
    method: 'POST',
    retry: { limit: 0 },
    throwHttpErrors: false,
    followRedirect: false,
    decompress: false,
    http2: false,
    cache: false,
    dnsCache: undefined,
    cookieJar: undefined,
    // got reads `http://unix:/path:/x` as a unix socket; with this off it refuses such a URL.
    enableUnixSockets: false,
    agent: { http: agents.http, https: agents.https },
    request: requestFunction as ExtendOptions['request'],
    // The whole attempt's deadline is `send`'s own timer; these name the phase that stalled.
    timeout: { lookup: connectTimeout, connect: connectTimeout, secureConnect: connectTimeout },
  };
}

/** hookline's got: `attemptDefaults`, each request built without cache options. */
export function createGotClient(agents: Agents, connectTimeout: number): Got {
  return got.extend(attemptDefaults(agents, connectTimeout), { hooks: { init: [withoutCacheOptions] } });
}
