import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { got, Options } from 'got';
import { afterEach, describe, expect, it } from 'vitest';
import { createAddressPolicy } from '../src/engine/http/address-policy.js';
import { createAgents } from '../src/engine/http/agents.js';
import { Transport } from '../src/engine/http/attempt.js';
import { attemptDefaults, createGotClient, requestFunction } from '../src/engine/http/got-client.js';
import { guardedLookup } from '../src/engine/http/guarded-lookup.js';
import { hasIpv6Loopback } from './helpers/listener.js';

const agents = createAgents(guardedLookup(createAddressPolicy({ allowPrivateNetworks: true })), 4);
const closers: (() => unknown)[] = [];
afterEach(async () => {
  agents.destroy();
  for (const close of closers.splice(0).reverse()) await close();
});

const request = { body: '{"a":1}', headers: { 'content-type': 'application/json', 'webhook-id': 'msg_1' } };
const url = 'http://127.0.0.1:9/hook';

describe('createGotClient', () => {
  it("builds each request's node:http options without got's cache options, and every other option as got does", () => {
    const ours = new Options(url, request, createGotClient(agents, 1_000).defaults.options);
    const plain = new Options(url, request, got.extend(attemptDefaults(agents, 1_000)).defaults.options);
    expect(ours.cacheOptions).toEqual({});
    const built = ours.createNativeRequestOptions() as Record<string, unknown>;
    const reference = plain.createNativeRequestOptions() as Record<string, unknown>;
    // got's default cache options: four keys, all undefined (hookline never caches).
    expect(Object.keys(plain.cacheOptions).length).toBeGreaterThan(0);
    for (const key of Object.keys(plain.cacheOptions)) {
      expect(key in built).toBe(false);
      delete reference[key];
    }
    expect(built).toEqual(reference);
    expect(built.agent).toBe(agents.http);
    expect(built.method).toBe('POST');
    expect(built.headers).toMatchObject(request.headers);
  });

  it('keeps the cache options empty on every request of the same client', () => {
    const client = createGotClient(agents, 1_000);
    for (let i = 0; i < 3; i++) {
      const options = new Options(url, { ...request, body: `{"i":${i}}` }, client.defaults.options);
      expect(options.cacheOptions).toEqual({});
      expect('shared' in options.createNativeRequestOptions()).toBe(false);
    }
  });
});

/** A server on `address` that keeps each request's method, target, headers and body. */
async function recorder(address: string) {
  const seen: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  closers.push(() => new Promise((resolve) => server.close(resolve)));
  return { seen, port: (server.address() as AddressInfo).port };
}

function transport() {
  const policy = createAddressPolicy({ allowPrivateNetworks: true });
  return new Transport({
    timeout: 5_000,
    connectTimeout: 5_000,
    responseBodyLimit: 1024,
    agents,
    policy,
    now: () => Date.now(),
  });
}

const ipv6 = await hasIpv6Loopback();
const noV6 = ipv6 ? '' : ' [SKIPPED: no IPv6 loopback on this machine]';

describe("hookline's request function", () => {
  it("sends the URL's path and query, its credentials as basic auth, and the host with its port", async () => {
    const { seen, port } = await recorder('127.0.0.1');
    const url = `http://hook%20user:p%40ss@127.0.0.1:${port}/in/hook?x=1&y=%2F`;
    const outcome = await transport().send({ url, ...request });
    expect(outcome.statusCode).toBe(204);
    expect(seen).toHaveLength(1);
    const [got] = seen;
    expect(got!.method).toBe('POST');
    expect(got!.url).toBe('/in/hook?x=1&y=%2F');
    expect(got!.headers.host).toBe(`127.0.0.1:${port}`);
    expect(got!.headers.authorization).toBe(`Basic ${Buffer.from('hook user:p@ss').toString('base64')}`);
    expect(got!.headers['webhook-id']).toBe('msg_1');
    expect(got!.body).toBe(request.body);
  });

  it('sends no authorization without credentials, and / for a URL without a path', async () => {
    const { seen, port } = await recorder('127.0.0.1');
    expect((await transport().send({ url: `http://127.0.0.1:${port}`, ...request })).statusCode).toBe(204);
    expect(seen[0]!.url).toBe('/');
    expect(seen[0]!.headers.authorization).toBeUndefined();
  });

  it.skipIf(!ipv6)(`connects to an IPv6 literal without its brackets${noV6}`, async () => {
    const { seen, port } = await recorder('::1');
    expect((await transport().send({ url: `http://[::1]:${port}/hook`, ...request })).statusCode).toBe(204);
    expect(seen[0]!.headers.host).toBe(`[::1]:${port}`);
  });
});

/** What a request asked of its agent: the pool key, and the options the connection would be opened with. */
interface Asked {
  name: string;
  connect: Record<string, unknown>;
}

/** Agents that record what each request asks and open no connection. */
function recordingAgents(asked: Asked[]) {
  const record = (agent: http.Agent, options: Record<string, unknown>) => {
    const { host, hostname, port, servername, path, localAddress, family } = options;
    asked.push({
      name: agent.getName(options as http.ClientRequestArgs),
      connect: { host, hostname, port, servername, path, localAddress, family },
    });
    return new net.Socket();
  };
  class HttpRecorder extends http.Agent {
    override createConnection(options: Record<string, unknown>) {
      return record(this, options);
    }
  }
  class HttpsRecorder extends https.Agent {
    override createConnection(options: Record<string, unknown>) {
      return record(this, options);
    }
  }
  return { http: new HttpRecorder(), https: new HttpsRecorder() };
}

/** The request a function makes for `url`, as node:http builds it, without sending it. */
function requestFor(
  request: typeof requestFunction,
  url: string,
  agents: { http: http.Agent; https: https.Agent },
): { path: string; host: string; authorization: unknown; method: string } {
  const parsed = new URL(url);
  const agent = parsed.protocol === 'https:' ? agents.https : agents.http;
  const req = request(parsed, { method: 'POST', headers: { 'content-type': 'application/json' }, agent });
  req.on('error', () => {});
  const made = {
    path: req.path,
    host: String(req.getHeader('host')),
    authorization: req.getHeader('authorization'),
    method: req.method,
  };
  req.destroy();
  return made;
}

describe('requestFunction', () => {
  it.each([
    'http://127.0.0.1:8080/hook?x=1&y=%2F#frag',
    'http://127.0.0.1/hook',
    'http://hooks.example.com/',
    'http://hooks.example.com:80/a/b',
    'https://hooks.example.com/in?token=t',
    'https://hooks.example.com:8443/in',
    'https://127.0.0.1:9443/in',
    'http://[::1]:8080/hook',
    'https://[2001:db8::1]/hook',
    'http://xn--bcher-kva.example/hook',
    'http://u%40x:p%3Ass@hooks.example.com/hook',
    'https://:secret@hooks.example.com/hook',
    'http://user@hooks.example.com/hook',
  ])('makes the request node:http makes from the URL itself: %s', (url) => {
    const mineAsked: Asked[] = [];
    const nodeAsked: Asked[] = [];
    const mine = requestFor(requestFunction, url, recordingAgents(mineAsked));
    const node = requestFor(
      (parsed, options, callback) =>
        (parsed.protocol === 'https:' ? https : http).request(parsed, options, callback),
      url,
      recordingAgents(nodeAsked),
    );
    expect(mine).toEqual(node);
    expect(mineAsked).toEqual(nodeAsked);
    // It asked for a connection (the recording agents saw it), and the URL's fragment is not sent.
    expect(mineAsked).toHaveLength(1);
    expect(mine.path).not.toContain('#');
  });

  it("sends the URL's credentials as basic auth itself, when no Authorization header is given", async () => {
    const { seen, port } = await recorder('127.0.0.1');
    const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = requestFunction(
        new URL(`http://hook%20user:p%40ss@127.0.0.1:${port}/in?x=1#frag`),
        { method: 'POST', headers: {} },
        resolve,
      );
      req.on('error', reject);
      req.end('{}');
    });
    response.resume();
    expect(response.statusCode).toBe(204);
    expect(seen[0]!.url).toBe('/in?x=1');
    expect(seen[0]!.headers.authorization).toBe(`Basic ${Buffer.from('hook user:p@ss').toString('base64')}`);
  });
});
