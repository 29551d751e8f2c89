import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type Endpoint,
  generateSecret,
  InvalidArgumentError,
  InvalidSecretError,
  NotFoundError,
  SenderClosedError,
  type WebhookSender,
} from '../src/index.js';
import { expectCode, open, twoSendersOnOneFile, URL_A, URL_B } from './helpers/sender.js';

const whsec = (bytes: number) => `whsec_${randomBytes(bytes).toString('base64')}`;

describe('endpoints.add', () => {
  it('returns the stored endpoint with defaults and a generated whsec_ secret', () => {
    const { sender } = open();
    const ep = sender.endpoints.add({ url: URL_A });
    expect(ep).toEqual({
      id: expect.stringMatching(/^ep_[0-9A-Za-z]{22}$/),
      url: URL_A,
      events: ['*'],
      tenant: null,
      headers: {},
      description: null,
      metadata: {},
      enabled: true,
      disabledReason: null,
      concurrency: null,
      rateLimit: null,
      ordering: 'none',
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    });
    // 32 random bytes, standard base64.
    expect(ep.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(ep.secret.slice(6), 'base64')).toHaveLength(32);
  });

  it('keeps every field it was given', () => {
    const { sender } = open();
    const secret = generateSecret();
    const ep = sender.endpoints.add({
      url: 'https://a.example.com/hook?x=1#fragment',
      events: ['order.*', 'user.created', 'order.*'],
      tenant: 'acme',
      secret,
      headers: { 'X-Api-Key': 'k1', authorization: 'Bearer t' },
      description: 'orders to the ERP',
      metadata: { team: 'billing', n: [1, 2] },
      concurrency: 3,
      rateLimit: { perSecond: 2.5 },
      ordering: 'fifo',
    });
    expect(ep).toMatchObject({
      url: 'https://a.example.com/hook?x=1', // the fragment is never sent
      events: ['order.*', 'user.created'], // duplicates dropped
      tenant: 'acme',
      headers: { 'x-api-key': 'k1', authorization: 'Bearer t' }, // names lower-cased
      description: 'orders to the ERP',
      metadata: { team: 'billing', n: [1, 2] },
      concurrency: 3,
      rateLimit: { perSecond: 2.5 },
      ordering: 'fifo',
    });
    expect(ep.secret).toBe(secret);
    expect(sender.endpoints.get(ep.id)).toEqual(ep);
    expect(sender.endpoints.get(ep.id).secret).toBe(secret);
  });

  it('the secret is not enumerable: JSON and logs do not show it, .secret still works', () => {
    const { sender } = open();
    const ep = sender.endpoints.add({ url: URL_A });
    for (const shown of [ep, sender.endpoints.get(ep.id), sender.endpoints.list()[0]!]) {
      expect(Object.keys(shown)).not.toContain('secret');
      expect(JSON.stringify(shown)).not.toContain(ep.secret);
      expect(JSON.stringify(shown)).not.toContain('whsec_');
      expect({ ...shown }).not.toHaveProperty('secret');
      expect(shown.secret).toBe(ep.secret);
    }
  });

  it('generates a different secret for every endpoint', () => {
    const { sender } = open();
    const secrets = new Set(Array.from({ length: 20 }, () => sender.endpoints.add({ url: URL_A }).secret));
    expect(secrets.size).toBe(20);
  });

  it.each([24, 32, 64])('accepts a given secret of %i bytes', (bytes) => {
    const { sender } = open();
    const secret = whsec(bytes);
    expect(sender.endpoints.add({ url: URL_A, secret }).secret).toBe(secret);
  });

  it.each([
    ['without the prefix', () => randomBytes(32).toString('base64')],
    ['with nothing after the prefix', () => 'whsec_'],
    ['with base64url characters', () => `whsec_${randomBytes(32).toString('base64url')}-_`],
    ['with whitespace', () => `whsec_ ${randomBytes(32).toString('base64')}`],
    ['too short (16 bytes)', () => whsec(16)],
    ['too long (65 bytes)', () => whsec(65)],
    ['without its padding', () => whsec(32).replace(/=+$/, '')],
  ])('refuses a secret %s, without echoing it', (_label, make) => {
    const { sender } = open();
    const secret = make();
    const error = expectCode(
      () => sender.endpoints.add({ url: URL_A, secret }),
      InvalidSecretError,
      'ERR_INVALID_SECRET',
    );
    expect(error.message).not.toContain(secret.slice(6) || 'whsec_x');
    expect(sender.endpoints.list()).toEqual([]);
  });

  it('refuses a secret that is not a string', () => {
    const { sender } = open();
    expectCode(
      () => sender.endpoints.add({ url: URL_A, secret: 42 as never }),
      InvalidArgumentError,
      'ERR_INVALID_SECRET',
    );
  });

  it.each([
    ['ftp:', 'ftp://example.com/hook'],
    ['file:', 'file:///etc/passwd'],
    ['javascript:', 'javascript:alert(1)'],
    ['mailto:', 'mailto:ops@example.com'],
    ['ws:', 'ws://example.com/socket'],
    ['a relative path', 'hooks/orders'],
    ['an absolute path', '/hooks/orders'],
    ['a scheme-relative URL', '//example.com/hook'],
    ['garbage', 'not a url at all'],
    ['an empty string', ''],
    ['a host without a scheme', 'example.com/hook'],
    ['an over-long URL', `https://example.com/${'x'.repeat(2048)}`],
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
  ])('refuses a url that is %s', (_label, url) => {
    const { sender } = open();
    const error = expectCode(
      () => sender.endpoints.add({ url } as never),
      InvalidArgumentError,
      'ERR_INVALID_URL',
    );
    expect((error as InvalidArgumentError).argument).toBe('url');
    expect(sender.endpoints.list()).toEqual([]);
  });

  it.each([
    'https://user:hunter2@example.com/hook',
    'https://user@example.com/hook',
    'http://:hunter2@example.com/hook',
  ])('refuses a url with credentials, without echoing them: %s', (url) => {
    const { sender } = open();
    const error = expectCode(() => sender.endpoints.add({ url }), InvalidArgumentError, 'ERR_INVALID_URL');
    expect(error.message).not.toContain('hunter2');
    expect(error.message).not.toContain('user@');
  });

  it('accepts http and https on any port', () => {
    const { sender } = open();
    expect(sender.endpoints.add({ url: 'http://example.com:8080/a' }).url).toBe('http://example.com:8080/a');
    expect(sender.endpoints.add({ url: 'HTTPS://Example.COM/b' }).url).toBe('https://example.com/b');
  });

  it('refuses loopback and private literal addresses unless allowed', () => {
    const { sender } = open();
    for (const url of [
      'http://127.0.0.1:9/h',
      'http://10.1.2.3/h',
      'http://[::1]/h',
      'http://169.254.169.254/',
    ]) {
      expectCode(() => sender.endpoints.add({ url }), InvalidArgumentError, 'ERR_SSRF_BLOCKED');
    }
    const { sender: open2 } = open({ allowPrivateNetworks: true });
    expect(open2.endpoints.add({ url: 'http://127.0.0.1:9/h' }).url).toBe('http://127.0.0.1:9/h');
  });

  it.each([
    'content-type',
    'Content-Length',
    'Host',
    'connection',
    'Transfer-Encoding',
    'User-Agent',
    'webhook-id',
    'Webhook-Timestamp',
    'WEBHOOK-SIGNATURE',
  ])('refuses the reserved header %s', (name) => {
    const { sender } = open();
    const error = expectCode(
      () => sender.endpoints.add({ url: URL_A, headers: { [name]: 'x' } }),
      InvalidArgumentError,
      'ERR_INVALID_ARGUMENT',
    );
    expect((error as InvalidArgumentError).argument).toBe('headers');
    expect(error.message).toContain(name.toLowerCase());
    expect(sender.endpoints.list()).toEqual([]);
  });

  it('refuses bad header names and values, without echoing the value', () => {
    const { sender } = open();
    for (const headers of [
      { 'bad header': 'x' },
      { 'x-ok': 'secret-token\r\nx-injected: 1' },
      { 'x-ok': 'a\nb' },
      { 'x-ok': 'a\0b' },
      { 'x-ok': 5 },
      'x-ok: 1',
      ['x-ok'],
    ]) {
      const error = expectCode(
        () => sender.endpoints.add({ url: URL_A, headers } as never),
        InvalidArgumentError,
        'ERR_INVALID_ARGUMENT',
      );
      expect(error.message).not.toContain('secret-token');
    }
    expect(sender.endpoints.list()).toEqual([]);
  });

  it.each([
    ['an empty list', []],
    ['a string', 'order.*'],
    ['a bad pattern', ['order.']],
    ['a pattern with spaces', ['order created']],
    ['a partial wildcard', ['ord*']],
    ['a non-string', [1]],
    ['over 1000 patterns', Array.from({ length: 1001 }, (_, i) => `t${i}`)],
  ])('refuses events that are %s', (_label, events) => {
    const { sender } = open();
    const error = expectCode(
      () => sender.endpoints.add({ url: URL_A, events } as never),
      InvalidArgumentError,
      'ERR_INVALID_ARGUMENT',
    );
    expect((error as InvalidArgumentError).argument).toMatch(/^events(\[\d+\])?$/);
  });

  it('names the one bad pattern of a list, and shows it', () => {
    const { sender } = open();
    const error = expectCode(
      () => sender.endpoints.add({ url: URL_A, events: ['order.created', 'order.**'] }),
      InvalidArgumentError,
      'ERR_INVALID_ARGUMENT',
    );
    expect(error).toMatchObject({ argument: 'events[1]' });
    expect((error as Error).message).toBe(
      'Expected `events[1]` to be an event type or pattern (`order.created`, `order.*`, `*`), got `"order.**"` (string)',
    );
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['an empty tenant', { tenant: '' }, 'tenant'],
    ['a numeric tenant', { tenant: 1 }, 'tenant'],
    ['a long tenant', { tenant: 't'.repeat(256) }, 'tenant'],
    ['a long description', { description: 'd'.repeat(1001) }, 'description'],
    ['a numeric description', { description: 5 }, 'description'],
    ['array metadata', { metadata: [1] }, 'metadata'],
    ['class metadata', { metadata: new Date() }, 'metadata'],
    ['unserializable metadata', { metadata: { n: 1n } }, 'metadata'],
    ['a concurrency of 0', { concurrency: 0 }, 'concurrency'],
    ['a fractional concurrency', { concurrency: 1.5 }, 'concurrency'],
    ['a concurrency over 10000', { concurrency: 10_001 }, 'concurrency'],
    ['a string concurrency', { concurrency: '4' }, 'concurrency'],
    ['a bare number as rateLimit', { rateLimit: 5 }, 'rateLimit'],
    ['a rateLimit of 0 per second', { rateLimit: { perSecond: 0 } }, 'rateLimit'],
    ['a negative rateLimit', { rateLimit: { perSecond: -1 } }, 'rateLimit'],
    ['an infinite rateLimit', { rateLimit: { perSecond: Number.POSITIVE_INFINITY } }, 'rateLimit'],
    ['a rateLimit with an extra key', { rateLimit: { perSecond: 1, burst: 2 } }, 'rateLimit'],
    ['an unknown ordering', { ordering: 'lifo' }, 'ordering'],
    ['a null ordering', { ordering: null }, 'ordering'],
  ])('refuses %s', (_label, fields, argument) => {
    const { sender } = open();
    const error = expectCode(
      () => sender.endpoints.add({ url: URL_A, ...fields } as never),
      InvalidArgumentError,
      'ERR_INVALID_ARGUMENT',
    );
    expect((error as InvalidArgumentError).argument).toBe(argument);
    expect(sender.endpoints.list()).toEqual([]);
  });

  it('refuses an unknown property by name', () => {
    const { sender } = open();
    const error = expectCode(
      () => sender.endpoints.add({ url: URL_A, event: ['order.*'] } as never),
      InvalidArgumentError,
      'ERR_UNKNOWN_OPTION',
    );
    expect((error as InvalidArgumentError).argument).toBe('event');
    expect(error.message).toContain('`event`');
    expect(sender.endpoints.list()).toEqual([]);
  });

  it.each([
    ['null', null],
    ['a string', URL_A],
    ['an array', [URL_A]],
  ])('refuses an input that is %s', (_label, input) => {
    const { sender } = open();
    expectCode(() => sender.endpoints.add(input as never), InvalidArgumentError, 'ERR_INVALID_ARGUMENT');
  });
});

describe('endpoints.get and list', () => {
  it('list returns every endpoint, oldest first, disabled ones included', () => {
    const { sender, clock } = open();
    const a = sender.endpoints.add({ url: URL_A });
    clock.advance(10);
    const b = sender.endpoints.add({ url: URL_B });
    clock.advance(10);
    const c = sender.endpoints.add({ url: URL_A, tenant: 'acme' });
    sender.endpoints.disable(b.id);
    expect(sender.endpoints.list().map((e) => e.id)).toEqual([a.id, b.id, c.id]);
    expect(sender.endpoints.list()[1]!.enabled).toBe(false);
  });

  it('list is empty on a new database', () => {
    const { sender } = open();
    expect(sender.endpoints.list()).toEqual([]);
  });

  it('get returns a copy: changing it changes nothing stored', () => {
    const { sender } = open();
    const ep = sender.endpoints.add({ url: URL_A, events: ['a'] });
    const got = sender.endpoints.get(ep.id);
    got.events.push('b');
    got.url = URL_B;
    expect(sender.endpoints.get(ep.id)).toMatchObject({ url: URL_A, events: ['a'] });
  });
});

describe('endpoints.update', () => {
  it('changes the given fields only and moves updatedAt', () => {
    const { sender, clock } = open();
    const ep = sender.endpoints.add({ url: URL_A, description: 'before', headers: { 'x-a': '1' } });
    clock.advance(1_000);
    const updated = sender.endpoints.update(ep.id, { url: URL_B, events: ['order.*'], metadata: { v: 2 } });
    expect(updated).toMatchObject({
      id: ep.id,
      url: URL_B,
      events: ['order.*'],
      tenant: null,
      headers: { 'x-a': '1' },
      description: 'before',
      metadata: { v: 2 },
      enabled: true,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:01.000Z',
    });
    expect(updated.secret).toBe(ep.secret);
    expect(sender.endpoints.get(ep.id)).toEqual(updated);
  });

  it('sets and clears concurrency, rateLimit and ordering', () => {
    const { sender } = open();
    const ep = sender.endpoints.add({ url: URL_A });
    const set = sender.endpoints.update(ep.id, {
      concurrency: 2,
      rateLimit: { perSecond: 10 },
      ordering: 'fifo',
    });
    expect(set).toMatchObject({ concurrency: 2, rateLimit: { perSecond: 10 }, ordering: 'fifo' });
    expect(sender.endpoints.get(ep.id)).toEqual(set);
    const cleared = sender.endpoints.update(ep.id, { concurrency: null, rateLimit: null, ordering: 'none' });
    expect(cleared).toMatchObject({ concurrency: null, rateLimit: null, ordering: 'none' });
    expect(sender.endpoints.get(ep.id)).toEqual(cleared);
  });

  it('can clear tenant and description with null', () => {
    const { sender } = open();
    const ep = sender.endpoints.add({ url: URL_A, tenant: 'acme', description: 'x' });
    expect(sender.endpoints.update(ep.id, { tenant: null, description: null })).toMatchObject({
      tenant: null,
      description: null,
    });
  });

  it('an empty patch changes nothing but updatedAt', () => {
    const { sender, clock } = open();
    const ep = sender.endpoints.add({ url: URL_A });
    clock.advance(5);
    const updated = sender.endpoints.update(ep.id, {});
    expect({ ...updated, updatedAt: ep.updatedAt }).toEqual({ ...ep });
    expect(updated.updatedAt).toBe('2026-01-01T00:00:00.005Z');
  });

  it('a refused patch leaves the endpoint as it was', () => {
    const { sender } = open();
    const ep = sender.endpoints.add({ url: URL_A, events: ['a'] });
    expectCode(
      () => sender.endpoints.update(ep.id, { events: ['b'], url: 'ftp://example.com/' }),
      InvalidArgumentError,
      'ERR_INVALID_URL',
    );
    expectCode(
      () => sender.endpoints.update(ep.id, { headers: { host: 'evil' } }),
      InvalidArgumentError,
      'ERR_INVALID_ARGUMENT',
    );
    expect(sender.endpoints.get(ep.id)).toEqual(ep);
  });

  it.each(['secret', 'enabled', 'id', 'urls'])('refuses %s in a patch as unknown', (key) => {
    const { sender } = open();
    const ep = sender.endpoints.add({ url: URL_A });
    const error = expectCode(
      () => sender.endpoints.update(ep.id, { [key]: 'x' } as never),
      InvalidArgumentError,
      'ERR_UNKNOWN_OPTION',
    );
    expect((error as InvalidArgumentError).argument).toBe(key);
    expect(sender.endpoints.get(ep.id)).toEqual(ep);
  });
});

describe('endpoints.remove', () => {
  it('deletes the endpoint; its log stays and its pending deliveries fail', () => {
    const { sender, clock } = open();
    const a = sender.endpoints.add({ url: URL_A });
    const b = sender.endpoints.add({ url: URL_B });
    const ev = sender.emit('x', {});
    clock.advance(1_000);
    sender.endpoints.remove(a.id);
    expect(sender.endpoints.list().map((e) => e.id)).toEqual([b.id]);
    expectCode(() => sender.endpoints.get(a.id), NotFoundError, 'ERR_NOT_FOUND');
    const byEndpoint = Object.fromEntries(
      sender.deliveries.list({ eventId: ev.id }).items.map((d) => [d.endpointId, d]),
    );
    expect(byEndpoint[a.id]).toMatchObject({
      status: 'failed',
      lastError: 'endpoint removed',
      nextAttemptAt: null,
      updatedAt: '2026-01-01T00:00:01.000Z',
    });
    expect(byEndpoint[b.id]).toMatchObject({ status: 'pending' });
    expect(sender.emit('x', {}).deliveries).toBe(1);
  });

  it('a second remove is a NotFoundError', () => {
    const { sender } = open();
    const a = sender.endpoints.add({ url: URL_A });
    sender.endpoints.remove(a.id);
    expectCode(() => sender.endpoints.remove(a.id), NotFoundError, 'ERR_NOT_FOUND');
  });
});

describe('endpoints.disable and enable', () => {
  it('disable records the reason, skips the endpoint and fails its pending deliveries', () => {
    const { sender, clock } = open();
    const a = sender.endpoints.add({ url: URL_A });
    const pending = sender.emit('x', {});
    clock.advance(2_000);
    const disabled = sender.endpoints.disable(a.id, 'receiver retired');
    expect(disabled).toMatchObject({
      id: a.id,
      enabled: false,
      disabledReason: 'receiver retired',
      updatedAt: '2026-01-01T00:00:02.000Z',
    });
    expect(sender.endpoints.get(a.id)).toEqual(disabled);
    expect(sender.emit('x', {}).deliveries).toBe(0);
    expect(sender.deliveries.list({ eventId: pending.id }).items[0]).toMatchObject({
      status: 'failed',
      lastError: 'endpoint disabled: receiver retired',
      nextAttemptAt: null,
    });
    expect(sender.stats()).toMatchObject({ pending: 0, failed: 1 });
  });

  it('disable without a reason says "disabled"', () => {
    const { sender } = open();
    const a = sender.endpoints.add({ url: URL_A });
    expect(sender.endpoints.disable(a.id).disabledReason).toBe('disabled');
  });

  it.each([
    ['a number', 5],
    ['over 1000 characters', 'r'.repeat(1001)],
  ])('refuses a reason that is %s, and stays enabled', (_label, reason) => {
    const { sender } = open();
    const a = sender.endpoints.add({ url: URL_A });
    expectCode(
      () => sender.endpoints.disable(a.id, reason as never),
      InvalidArgumentError,
      'ERR_INVALID_ARGUMENT',
    );
    expect(sender.endpoints.get(a.id).enabled).toBe(true);
  });

  it('enable clears the reason and new events reach it again; failed deliveries stay failed', () => {
    const { sender, clock } = open();
    const a = sender.endpoints.add({ url: URL_A });
    const before = sender.emit('x', {});
    sender.endpoints.disable(a.id, 'maintenance');
    clock.advance(3_000);
    const enabled = sender.endpoints.enable(a.id);
    expect(enabled).toMatchObject({
      enabled: true,
      disabledReason: null,
      updatedAt: '2026-01-01T00:00:03.000Z',
    });
    expect(sender.emit('x', {}).deliveries).toBe(1);
    expect(sender.deliveries.list({ eventId: before.id }).items[0]!.status).toBe('failed');
  });

  it('enable on an enabled endpoint and disable on a disabled one are harmless', () => {
    const { sender } = open();
    const a = sender.endpoints.add({ url: URL_A });
    expect(sender.endpoints.enable(a.id).enabled).toBe(true);
    sender.endpoints.disable(a.id, 'one');
    expect(sender.endpoints.disable(a.id, 'two').disabledReason).toBe('two');
  });
});

describe('ids that do not exist', () => {
  const calls: [string, (s: WebhookSender, id: string) => unknown][] = [
    ['get', (s, id) => s.endpoints.get(id)],
    ['update', (s, id) => s.endpoints.update(id, { description: 'x' })],
    ['remove', (s, id) => s.endpoints.remove(id)],
    ['enable', (s, id) => s.endpoints.enable(id)],
    ['disable', (s, id) => s.endpoints.disable(id, 'why')],
    ['rotateSecret', (s, id) => s.endpoints.rotateSecret(id)],
  ];

  it.each(calls)('%s throws NotFoundError carrying the id', (_name, call) => {
    const { sender } = open();
    sender.endpoints.add({ url: URL_A });
    const error = expectCode(() => call(sender, 'ep_doesnotexist'), NotFoundError, 'ERR_NOT_FOUND');
    expect(error.endpointId).toBe('ep_doesnotexist');
    expect(error.message).toContain('ep_doesnotexist');
  });

  it.each(calls)('%s refuses an id that is not a string', (_name, call) => {
    const { sender } = open();
    for (const id of ['', 42, null, undefined]) {
      expectCode(() => call(sender, id as never), InvalidArgumentError, 'ERR_INVALID_ARGUMENT');
    }
  });
});

describe('endpoints.rotateSecret', () => {
  it('switches to a new secret and keeps the rest', () => {
    const { sender, clock } = open();
    const ep = sender.endpoints.add({ url: URL_A, events: ['a'] });
    clock.advance(1);
    const rotated = sender.endpoints.rotateSecret(ep.id);
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(ep.secret);
    expect(sender.endpoints.get(ep.id).secret).toBe(rotated.secret);
    expect({ ...rotated, updatedAt: ep.updatedAt }).toEqual({ ...ep });
    const given = generateSecret();
    expect(sender.endpoints.rotateSecret(ep.id, { secret: given, graceMs: 0 }).secret).toBe(given);
  });

  it('validates its options', () => {
    const { sender } = open();
    const ep = sender.endpoints.add({ url: URL_A });
    expectCode(
      () => sender.endpoints.rotateSecret(ep.id, { secret: 'nope' }),
      InvalidSecretError,
      'ERR_INVALID_SECRET',
    );
    expectCode(
      () => sender.endpoints.rotateSecret(ep.id, { graceMs: -1 }),
      InvalidArgumentError,
      'ERR_INVALID_ARGUMENT',
    );
    expectCode(
      () => sender.endpoints.rotateSecret(ep.id, { grace: 5 } as never),
      InvalidArgumentError,
      'ERR_UNKNOWN_OPTION',
    );
    expect(sender.endpoints.get(ep.id).secret).toBe(ep.secret);
  });
});

describe('several senders on one database file', () => {
  it('an endpoint added by A after B was created receives what B emits', () => {
    const { a, b } = twoSendersOnOneFile();
    // B has already loaded its (empty) endpoint cache.
    expect(b.emit('order.created', { n: 0 }).deliveries).toBe(0);
    const ep = a.endpoints.add({ url: URL_A, events: ['order.*'] });
    expect(b.endpoints.get(ep.id)).toEqual(ep);
    expect(b.endpoints.get(ep.id).secret).toBe(ep.secret);
    const ev = b.emit('order.created', { n: 1 });
    expect(ev.deliveries).toBe(1);
    expect(a.deliveries.list({ eventId: ev.id }).items.map((d) => d.endpointId)).toEqual([ep.id]);
  });

  it("B follows A's updates, disables, enables and removals", () => {
    const { a, b } = twoSendersOnOneFile();
    const ep = a.endpoints.add({ url: URL_A, events: ['x'] });
    expect(b.emit('x', {}).deliveries).toBe(1);
    a.endpoints.update(ep.id, { events: ['y'] });
    expect(b.emit('x', {}).deliveries).toBe(0);
    expect(b.emit('y', {}).deliveries).toBe(1);
    a.endpoints.disable(ep.id, 'paused');
    expect(b.emit('y', {}).deliveries).toBe(0);
    a.endpoints.enable(ep.id);
    expect(b.emit('y', {}).deliveries).toBe(1);
    a.endpoints.remove(ep.id);
    expect(b.emit('y', {}).deliveries).toBe(0);
    expect(() => b.endpoints.get(ep.id)).toThrow(NotFoundError);
    expect(() => b.emit('y', {}, { endpointIds: [ep.id] })).toThrow(NotFoundError);
  });

  it('both list the same endpoints', () => {
    const { a, b } = twoSendersOnOneFile();
    a.endpoints.add({ url: URL_A });
    b.endpoints.add({ url: URL_B });
    expect(a.endpoints.list()).toEqual(b.endpoints.list());
    expect(a.endpoints.list()).toHaveLength(2);
  });
});

describe('after close()', () => {
  it('every endpoints method is a SenderClosedError', async () => {
    const { sender } = open();
    const ep: Endpoint = sender.endpoints.add({ url: URL_A });
    await sender.close();
    const calls: [string, () => unknown][] = [
      ['endpoints.add', () => sender.endpoints.add({ url: URL_B })],
      ['endpoints.get', () => sender.endpoints.get(ep.id)],
      ['endpoints.list', () => sender.endpoints.list()],
      ['endpoints.update', () => sender.endpoints.update(ep.id, {})],
      ['endpoints.remove', () => sender.endpoints.remove(ep.id)],
      ['endpoints.enable', () => sender.endpoints.enable(ep.id)],
      ['endpoints.disable', () => sender.endpoints.disable(ep.id)],
      ['endpoints.rotateSecret', () => sender.endpoints.rotateSecret(ep.id)],
    ];
    for (const [name, call] of calls) {
      const error = expectCode(call, SenderClosedError, 'ERR_SENDER_CLOSED');
      expect(error.message).toContain(name);
    }
  });
});
