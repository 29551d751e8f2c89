import { got, Options } from 'got';
import { afterEach, describe, expect, it } from 'vitest';
import { createAddressPolicy } from '../src/engine/http/address-policy.js';
import { createAgents } from '../src/engine/http/agents.js';
import { attemptDefaults, createGotClient } from '../src/engine/http/got-client.js';
import { guardedLookup } from '../src/engine/http/guarded-lookup.js';

const agents = createAgents(guardedLookup(createAddressPolicy({ allowPrivateNetworks: true })), 4);
afterEach(() => agents.destroy());

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
