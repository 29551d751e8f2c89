import { afterEach, describe, expect, it } from 'vitest';
import { createAddressPolicy } from '../src/engine/http/address-policy.js';
import { createAgents } from '../src/engine/http/agents.js';
import { Transport } from '../src/engine/http/attempt.js';
import { guardedLookup } from '../src/engine/http/guarded-lookup.js';
import { type Listener, listen } from './helpers/listener.js';

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function transport(options: { allowPrivateNetworks?: boolean; timeout?: number } = {}) {
  const policy = createAddressPolicy({ allowPrivateNetworks: options.allowPrivateNetworks ?? true });
  const agents = createAgents(guardedLookup(policy), 4);
  closers.push(() => agents.destroy());
  return new Transport({
    timeout: options.timeout ?? 10_000,
    connectTimeout: 5_000,
    responseBodyLimit: 1024,
    agents,
    policy,
    now: () => Date.now(),
  });
}

async function server(respond?: Parameters<typeof listen>[1]): Promise<Listener> {
  const listener = await listen('127.0.0.1', respond);
  closers.push(() => listener.close());
  return listener;
}

const request = (url: string) => ({ url, headers: { 'content-type': 'application/json' }, body: '{}' });

describe('Transport', () => {
  it('abortAll cuts short the attempts in flight with ERR_ABORTED', async () => {
    const hanging = await server(() => {});
    const t = transport();
    const pending = [t.send(request(hanging.url())), t.send(request(hanging.url()))];
    while (hanging.requests.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    t.abortAll();
    for (const outcome of await Promise.all(pending)) {
      expect(outcome.errorCode).toBe('ERR_ABORTED');
      expect(outcome.statusCode).toBeNull();
    }
  });

  it('an attempt started after abortAll ends at once, without connecting', async () => {
    const listener = await server();
    const t = transport();
    t.abortAll();
    const outcome = await t.send(request(listener.url()));
    expect(outcome.errorCode).toBe('ERR_ABORTED');
    expect(listener.connections).toBe(0);
  });

  it('remembers a refused URL and refuses it every time, before connecting', async () => {
    const listener = await server();
    const t = transport({ allowPrivateNetworks: false });
    for (let i = 0; i < 3; i++) {
      const outcome = await t.send(request(listener.url()));
      expect(outcome.errorCode).toBe('ERR_SSRF_BLOCKED');
    }
    expect(listener.connections).toBe(0);
    // The same transport still sends to a URL it may reach.
    const allowed = transport();
    expect((await allowed.send(request(listener.url()))).statusCode).toBe(200);
  });

  it('the hard deadline ends an attempt whose receiver never answers', async () => {
    const hanging = await server(() => {});
    const outcome = await transport({ timeout: 200 }).send(request(hanging.url()));
    expect(outcome.errorCode).toBe('ETIMEDOUT');
    expect(outcome.durationMs).toBeGreaterThanOrEqual(150);
  });
});
