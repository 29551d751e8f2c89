import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { WebhookVerificationError as StandardVerificationError, Webhook } from 'standardwebhooks';
import { describe, expect, it, vi } from 'vitest';
import {
  generateSecret,
  type SenderOptions,
  VERSION,
  verifyWebhook,
  type WebhookError,
  type WebhookSender,
} from '../src/index.js';
import { cleanupAfterEach } from './helpers/cleanups.js';
import { ManualClock } from './helpers/clock.js';
import { harness } from './helpers/harness.js';

// Signed requests end to end: a real sender posts to a real node:http receiver,
// and what arrives is checked with hookline's verifyWebhook and with the
// official `standardwebhooks` verifier, as a receiver would.

const cleanups = cleanupAfterEach();

const HOUR = 60 * 60 * 1000;

/** One request as the receiver saw it: headers and the raw body bytes. */
interface Hit {
  headers: Record<string, string>;
  raw: Buffer;
}

interface Recorder {
  url: string;
  hits: Hit[];
}

/** A node:http receiver on 127.0.0.1 that keeps the raw bytes; `status(n)` answers the n-th request. */
async function recorder(status: (n: number) => number = () => 200): Promise<Recorder> {
  const hits: Hit[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hits.push({ headers: req.headers as Record<string, string>, raw: Buffer.concat(chunks) });
      res.writeHead(status(hits.length), { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, hits };
}

const h = harness(cleanups);
const sender = (options: SenderOptions = {}): WebhookSender => h.sender({ retry: [], ...options });

/** A sender on a ManualClock whose slow poll never fires on its own. */
function clockedSender(options: SenderOptions = {}): { s: WebhookSender; clock: ManualClock } {
  const clock = new ManualClock();
  return { s: sender({ clock, pollInterval: 24 * HOUR, ...options }), clock };
}

/** hookline's verifier, as the receiver would call it at `atMs` (default: now). */
function ours(secret: string | string[], hit: Hit, atMs?: number) {
  return verifyWebhook({
    secret,
    headers: hit.headers,
    body: hit.raw,
    ...(atMs === undefined ? {} : { now: new Date(atMs) }),
  });
}

/**
 * The official verifier. It reads Date.now() for its 5-minute window, so for a
 * request signed on the ManualClock, Date alone is set to `atMs` for the
 * duration of this synchronous call.
 */
function standard(secret: string, hit: Hit, atMs?: number): unknown {
  const verify = () => new Webhook(secret).verify(hit.raw, hit.headers);
  if (atMs === undefined) return verify();
  vi.useFakeTimers({ toFake: ['Date'] });
  try {
    vi.setSystemTime(atMs);
    return verify();
  } finally {
    vi.useRealTimers();
  }
}

/** The `code` of the error `fn` throws (fails the test if it does not throw). */
function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as WebhookError).code;
  }
  throw new Error('expected a throw');
}

const signatures = (hit: Hit) => hit.headers['webhook-signature']!.split(' ');
const SIGNATURE = /^v1,[A-Za-z0-9+/]{43}=$/;

describe('a request from a real sender', () => {
  it('verifies with verifyWebhook and with the official standardwebhooks package', async () => {
    const r = await recorder();
    const s = sender();
    const ep = s.endpoints.add({ url: r.url }); // generated secret
    const payload = { id: 42, total: 1999, lines: [{ sku: 'a-1', qty: 2 }] };
    const ev = s.emit('order.created', payload);
    await s.drain();

    expect(r.hits).toHaveLength(1);
    const hit = r.hits[0]!;
    expect(signatures(hit)).toHaveLength(1);
    expect(signatures(hit)[0]).toMatch(SIGNATURE);
    const expected = { id: ev.id, type: 'order.created', timestamp: ev.createdAt, data: payload };
    expect(ours(ep.secret, hit)).toEqual(expected);
    expect(standard(ep.secret, hit)).toEqual(expected);

    // And a different secret is refused by both.
    const other = generateSecret();
    expect(codeOf(() => ours(other, hit))).toBe('ERR_VERIFY_NO_MATCH');
    expect(() => standard(other, hit)).toThrow(StandardVerificationError);
  });

  it('says who sends it: user-agent hookline/<version>', async () => {
    const r = await recorder();
    const s = sender();
    s.endpoints.add({ url: r.url });
    s.emit('order.created', {});
    await s.drain();
    const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(VERSION).toBe(pkg.version);
    expect(r.hits[0]!.headers['user-agent']).toBe(`hookline/${VERSION}`);
  });
});

describe('webhook-id and webhook-timestamp', () => {
  it('the id is the event id on the first try, the retry and a replay; the timestamp is that of each attempt', async () => {
    const r = await recorder((n) => (n === 1 ? 500 : 200));
    const { s, clock } = clockedSender({ retry: (ctx) => (ctx.attempt === 1 ? 10 * HOUR : null) });
    const secret = generateSecret();
    s.endpoints.add({ url: r.url, secret });

    const t0 = clock.now();
    const ev = s.emit('order.created', { id: 7 });
    await s.drain();
    expect(r.hits).toHaveLength(1);
    clock.advance(10 * HOUR);
    await s.drain();
    expect(r.hits).toHaveLength(2);
    const t1 = clock.now();
    const [first, second] = r.hits as [Hit, Hit];

    // Same id, same bytes; the timestamp (and so the signature) is the attempt's own.
    expect(first.headers['webhook-id']).toBe(ev.id);
    expect(second.headers['webhook-id']).toBe(ev.id);
    expect(second.raw.equals(first.raw)).toBe(true);
    expect(first.headers['webhook-timestamp']).toBe(String(Math.floor(t0 / 1000)));
    expect(second.headers['webhook-timestamp']).toBe(String(Math.floor(t1 / 1000)));
    expect(second.headers['webhook-signature']).not.toBe(first.headers['webhook-signature']);

    // Each attempt verifies at the time it was sent.
    expect(ours(secret, first, t0).id).toBe(ev.id);
    expect(standard(secret, first, t0)).toMatchObject({ id: ev.id });
    expect(ours(secret, second, t1).id).toBe(ev.id);
    expect(standard(secret, second, t1)).toMatchObject({ id: ev.id });
    // Had the retry re-sent attempt 1's headers, it would now be 10 h too old.
    expect(codeOf(() => ours(secret, first, t1))).toBe('ERR_VERIFY_TOO_OLD');
    expect(() => standard(secret, first, t1)).toThrow(/too old/);

    const [item] = s.deliveries.list().items;
    expect(s.deliveries.get(item!.id)).toMatchObject({ status: 'succeeded', attemptCount: 2 });

    // A replay is a new delivery of the same event: same webhook-id, same body, fresh timestamp.
    clock.advance(60_000);
    const t2 = clock.now();
    expect(s.events.replay(ev.id)).toBe(1);
    await s.drain();
    expect(r.hits).toHaveLength(3);
    const replayed = r.hits[2]!;
    expect(replayed.headers['webhook-id']).toBe(ev.id);
    expect(replayed.raw.equals(first.raw)).toBe(true);
    expect(replayed.headers['webhook-timestamp']).toBe(String(Math.floor(t2 / 1000)));
    expect(ours(secret, replayed, t2).id).toBe(ev.id);
    expect(standard(secret, replayed, t2)).toMatchObject({ id: ev.id });
  });
});

describe('the signed body', () => {
  it('is the exact bytes sent: the raw bytes verify, a re-serialized body does not', async () => {
    const r = await recorder();
    const s = sender();
    const secret = generateSecret();
    s.endpoints.add({ url: r.url, secret });
    const payload = { z: 1, a: { y: 'é € 🚀', b: [3, 1.5, null, true] }, m: 'line\nbreak "quoted"' };
    s.emit('order.created', payload);
    await s.drain();
    const hit = r.hits[0]!;

    expect(ours(secret, hit).data).toEqual(payload);
    expect(ours(secret, { ...hit, raw: Buffer.from(hit.raw.toString('utf8')) }).data).toEqual(payload);
    expect(standard(secret, hit)).toMatchObject({ data: payload });

    // What a framework hands over after parsing: the same JSON value, other bytes.
    const parsed = JSON.parse(hit.raw.toString('utf8'));
    const sortKeys = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(sortKeys)
        : typeof v === 'object' && v !== null
          ? Object.fromEntries(
              Object.keys(v)
                .sort()
                .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
            )
          : v;
    const reserialized = [JSON.stringify(parsed, null, 2), JSON.stringify(sortKeys(parsed))];
    for (const text of reserialized) {
      expect(JSON.parse(text)).toEqual(parsed);
      const forged = { ...hit, raw: Buffer.from(text) };
      expect(codeOf(() => ours(secret, forged))).toBe('ERR_VERIFY_NO_MATCH');
      expect(() => standard(secret, forged)).toThrow(/No matching signature/);
    }
    // Bytes read with the wrong charset (latin1) and written back as UTF-8.
    const misread = { ...hit, raw: Buffer.from(hit.raw.toString('latin1'), 'utf8') };
    expect(misread.raw.equals(hit.raw)).toBe(false);
    expect(codeOf(() => ours(secret, misread))).toBe('ERR_VERIFY_NO_MATCH');
    expect(() => standard(secret, misread)).toThrow(/No matching signature/);
  });
});

describe('secret rotation', () => {
  it('during the grace both secrets verify (two signatures); after it only the new one', async () => {
    const r = await recorder();
    const { s, clock } = clockedSender();
    const oldSecret = generateSecret();
    const newSecret = generateSecret();
    const ep = s.endpoints.add({ url: r.url, secret: oldSecret });

    s.emit('order.created', { n: 0 });
    await s.drain();
    expect(signatures(r.hits[0]!)).toHaveLength(1);

    const graceMs = HOUR;
    const rotated = s.endpoints.rotateSecret(ep.id, { secret: newSecret, graceMs });
    expect(rotated.secret).toBe(newSecret);

    // In the grace: two space-separated v1 signatures; either secret alone verifies.
    const during = async (n: number) => {
      s.emit('order.created', { n });
      await s.drain();
      const hit = r.hits[n]!;
      const now = clock.now();
      expect(signatures(hit)).toHaveLength(2);
      for (const sig of signatures(hit)) expect(sig).toMatch(SIGNATURE);
      for (const secret of [oldSecret, newSecret]) {
        expect(ours(secret, hit, now).data).toEqual({ n });
        expect(standard(secret, hit, now)).toMatchObject({ data: { n } });
      }
      expect(ours([oldSecret, newSecret], hit, now).data).toEqual({ n });
    };
    await during(1);
    clock.advance(graceMs - 1000);
    await during(2);

    // Past the grace: one signature, the new secret's.
    clock.advance(2000);
    s.emit('order.created', { n: 3 });
    await s.drain();
    const after = r.hits[3]!;
    const now = clock.now();
    expect(signatures(after)).toHaveLength(1);
    expect(ours(newSecret, after, now).data).toEqual({ n: 3 });
    expect(standard(newSecret, after, now)).toMatchObject({ data: { n: 3 } });
    expect(codeOf(() => ours(oldSecret, after, now))).toBe('ERR_VERIFY_NO_MATCH');
    expect(() => standard(oldSecret, after, now)).toThrow(/No matching signature/);
    // A receiver still configured with both (its own transition) keeps accepting.
    expect(ours([oldSecret, newSecret], after, now).data).toEqual({ n: 3 });
  });

  it('graceMs: 0 drops the old secret at once', async () => {
    const r = await recorder();
    const { s, clock } = clockedSender();
    const oldSecret = generateSecret();
    const ep = s.endpoints.add({ url: r.url, secret: oldSecret });
    const rotated = s.endpoints.rotateSecret(ep.id, { graceMs: 0 });
    const newSecret = rotated.secret;
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(oldSecret);

    s.emit('order.created', { n: 1 });
    await s.drain();
    const hit = r.hits[0]!;
    const now = clock.now();
    expect(signatures(hit)).toHaveLength(1);
    expect(ours(newSecret, hit, now).data).toEqual({ n: 1 });
    expect(standard(newSecret, hit, now)).toMatchObject({ data: { n: 1 } });
    expect(codeOf(() => ours(oldSecret, hit, now))).toBe('ERR_VERIFY_NO_MATCH');
    expect(() => standard(oldSecret, hit, now)).toThrow(/No matching signature/);
  });
});

describe('secrets stay out of', () => {
  /** The secret and its base64 part: neither may show up. */
  const needles = (secret: string) => [secret, secret.slice('whsec_'.length)];
  const expectAbsent = (haystack: string, secrets: string[]) => {
    for (const secret of secrets)
      for (const needle of needles(secret)) expect(haystack).not.toContain(needle);
  };

  it('the delivery log, the emitted events, stats() and endpoints.list()', async () => {
    const flaky = await recorder((n) => (n === 1 ? 500 : 200));
    const down = await recorder(() => 500);
    const broken = await recorder(() => 500);
    let brokenId = '';
    const s = sender({
      retry: (ctx) => {
        if (ctx.endpointId === brokenId) throw new Error('this retry function is broken');
        return ctx.attempt < 2 ? 0 : null;
      },
    });
    const notices: [string, unknown][] = [];
    let settled: () => void;
    const allSettled = new Promise<void>((resolve) => {
      settled = resolve;
    });
    let finals = 0;
    for (const name of ['attempt', 'delivered', 'retrying', 'failed', 'error'] as const) {
      s.on(name, (payload: unknown) => {
        notices.push([name, payload]);
        if ((name === 'delivered' || name === 'failed') && ++finals === 3) settled();
      });
    }

    const secrets = [generateSecret(), generateSecret(), generateSecret()];
    const a = s.endpoints.add({ url: flaky.url, secret: secrets[0] });
    s.endpoints.add({ url: down.url, secret: secrets[1] });
    brokenId = s.endpoints.add({ url: broken.url, secret: secrets[2] }).id;
    // Rotating keeps the previous secret live too: both are signing now.
    secrets.push(s.endpoints.rotateSecret(a.id, { graceMs: HOUR }).secret);

    const ev = s.emit('order.created', { id: 1 });
    await allSettled;
    await s.drain();
    expect(new Set(notices.map(([name]) => name))).toEqual(
      new Set(['attempt', 'delivered', 'retrying', 'failed', 'error']),
    );
    expect(signatures(flaky.hits[0]!)).toHaveLength(2);

    const deliveries = s.deliveries.list().items;
    expect(deliveries).toHaveLength(3);
    const attempts = deliveries.map((d) => s.deliveries.get(d.id));
    expect(attempts.flatMap((d) => d.attempts)).toHaveLength(5);
    expectAbsent(JSON.stringify(attempts), secrets);
    expectAbsent(JSON.stringify(deliveries), secrets);
    expectAbsent(JSON.stringify(notices), secrets);
    expectAbsent(inspect(notices, { depth: 10 }), secrets);
    expectAbsent(JSON.stringify(s.stats()), secrets);
    expectAbsent(JSON.stringify(s.events.get(ev.id)), secrets);

    // The endpoint still has its secret, for its owner; serialized, it is left out.
    const list = s.endpoints.list();
    expect(list.map((e) => e.secret).sort()).toEqual([secrets[1], secrets[2], secrets[3]].sort());
    expectAbsent(JSON.stringify(list), secrets);
    expectAbsent(JSON.stringify(s.endpoints.get(a.id)), secrets);
    expectAbsent(inspect(list), secrets);
  });

  it('the errors thrown by add and rotateSecret for a bad secret', async () => {
    const s = sender();
    const ep = s.endpoints.add({ url: 'http://127.0.0.1:9/hook' });
    const bad = [
      `whsec_${randomBytes(16).toString('base64')}`, // too short
      generateSecret().replace(/=$/, ''), // padding missing
      `whsec_${randomBytes(32).toString('base64url')}-_`, // base64url
      `whsec_${randomBytes(16).toString('base64')} ${randomBytes(16).toString('base64')}`, // whitespace
      `sk_live_${randomBytes(24).toString('hex')}`, // no prefix
    ];
    for (const secret of bad) {
      for (const call of [
        () => s.endpoints.add({ url: 'http://127.0.0.1:9/other', secret }),
        () => s.endpoints.rotateSecret(ep.id, { secret }),
      ]) {
        let thrown: unknown;
        try {
          call();
        } catch (error) {
          thrown = error;
        }
        const error = thrown as WebhookError;
        expect(error.code).toBe('ERR_INVALID_SECRET');
        const needle = secret.replace(/^(whsec_|sk_live_)/, '');
        for (const text of [
          JSON.stringify(error),
          error.message,
          String(error),
          error.stack,
          inspect(error),
        ]) {
          expect(text).not.toContain(needle);
          for (const part of needle.split(' ')) expect(text).not.toContain(part);
        }
      }
    }
    // Nothing was changed by the refused calls.
    expect(s.endpoints.list()).toHaveLength(1);
    expect(s.endpoints.get(ep.id).secret).toBe(ep.secret);
  });
});
