import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { signWebhook } from '../src/receiver/sign.js';
import { verifyWebhook } from '../src/receiver/verify.js';
import { WebhookError } from '../src/shared/errors/base.js';
import { InvalidArgumentError } from '../src/shared/errors/input.js';
import { InvalidSecretError } from '../src/shared/errors/secret.js';
import { WebhookVerificationError } from '../src/shared/errors/verification.js';
import { generateSecret, parseSecret } from '../src/shared/secret.js';
import { signPayload } from '../src/shared/signature.js';

const NOW = 1_750_000_000;
const body = JSON.stringify({
  id: 'evt_1',
  type: 'order.created',
  timestamp: '2025-06-15T15:06:40.000Z',
  data: { id: 42, note: 'héllo ✓' },
});

function secretOf(bytes: number): string {
  return `whsec_${randomBytes(bytes).toString('base64')}`;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

function expectCode(fn: () => unknown, code: string): WebhookError {
  const error = thrown(fn);
  expect(error).toBeInstanceOf(WebhookError);
  expect((error as WebhookError).code).toBe(code);
  return error as WebhookError;
}

function expectVerifyCode(fn: () => unknown, code: string): void {
  expect(expectCode(fn, code)).toBeInstanceOf(WebhookVerificationError);
}

describe('interoperability with the official standardwebhooks package', () => {
  it('accepts what signWebhook produces', () => {
    const secret = generateSecret();
    const headers = signWebhook({ id: 'msg_1', body, secret });
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
    expect(new Webhook(secret).verify(Buffer.from(body), { ...headers })).toEqual(JSON.parse(body));
  });

  it('produces the same signature as the official package', () => {
    const secret = generateSecret();
    const date = new Date(NOW * 1000);
    const ours = signWebhook({ id: 'msg_1', timestamp: date, body, secret })['webhook-signature'];
    expect(ours).toBe(new Webhook(secret).sign('msg_1', date, body));
    expect(signPayload(parseSecret(secret), 'msg_1', NOW, Buffer.from(body))).toBe(ours);
  });

  it('verifies what the official package signs', () => {
    const secret = generateSecret();
    const date = new Date(NOW * 1000 + 123);
    const signature = new Webhook(secret).sign('msg_official', date, body);
    const headers = {
      'webhook-id': 'msg_official',
      'webhook-timestamp': String(NOW),
      'webhook-signature': signature,
    };
    const event = verifyWebhook({ secret, headers, body, now: NOW });
    expect(event).toEqual(JSON.parse(body));
    expect(event.type).toBe('order.created');
  });

  it('accepts the official package with a 24-byte (Svix-sized) secret', () => {
    const secret = secretOf(24);
    const headers = signWebhook({ id: 'msg_24', body, secret });
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
    expect(verifyWebhook({ secret, headers, body }).id).toBe('evt_1');
  });
});

describe('secret rotation', () => {
  it('signs once per secret, in order, and each receiver verifies', () => {
    const oldSecret = generateSecret();
    const newSecret = generateSecret();
    const headers = signWebhook({ id: 'msg_rot', timestamp: NOW, body, secret: [oldSecret, newSecret] });
    const signatures = headers['webhook-signature'].split(' ');
    expect(signatures).toEqual([
      signPayload(parseSecret(oldSecret), 'msg_rot', NOW, body),
      signPayload(parseSecret(newSecret), 'msg_rot', NOW, body),
    ]);
    expect(verifyWebhook({ secret: oldSecret, headers, body, now: NOW }).id).toBe('evt_1');
    expect(verifyWebhook({ secret: newSecret, headers, body, now: NOW }).id).toBe('evt_1');
  });

  it('is accepted by the official package holding either secret', () => {
    const oldSecret = generateSecret();
    const newSecret = generateSecret();
    const headers = signWebhook({ id: 'msg_rot', body, secret: [oldSecret, newSecret] });
    expect(new Webhook(oldSecret).verify(body, { ...headers })).toEqual(JSON.parse(body));
    expect(new Webhook(newSecret).verify(body, { ...headers })).toEqual(JSON.parse(body));
  });

  it('lets a receiver hold several secrets', () => {
    const [a, b, c] = [generateSecret(), generateSecret(), generateSecret()];
    const headers = signWebhook({ id: 'msg_rot', timestamp: NOW, body, secret: b });
    expect(verifyWebhook({ secret: [a, b], headers, body, now: NOW }).id).toBe('evt_1');
    expectVerifyCode(() => verifyWebhook({ secret: [a, c], headers, body, now: NOW }), 'ERR_VERIFY_NO_MATCH');
  });
});

describe('verifyWebhook rejections', () => {
  const secret = generateSecret();
  const headers = signWebhook({ id: 'msg_1', timestamp: NOW, body, secret });

  it('accepts the untouched request', () => {
    expect(verifyWebhook({ secret, headers, body, now: NOW })).toEqual(JSON.parse(body));
  });

  it('rejects a tampered body', () => {
    const tampered = body.replace('42', '43');
    expectVerifyCode(
      () => verifyWebhook({ secret, headers, body: tampered, now: NOW }),
      'ERR_VERIFY_NO_MATCH',
    );
  });

  it('rejects a re-serialized body', () => {
    const reserialized = JSON.stringify(JSON.parse(body), null, 2);
    expectVerifyCode(
      () => verifyWebhook({ secret, headers, body: reserialized, now: NOW }),
      'ERR_VERIFY_NO_MATCH',
    );
  });

  it('rejects a wrong secret, id or timestamp', () => {
    expectVerifyCode(
      () => verifyWebhook({ secret: generateSecret(), headers, body, now: NOW }),
      'ERR_VERIFY_NO_MATCH',
    );
    expectVerifyCode(
      () => verifyWebhook({ secret, headers: { ...headers, 'webhook-id': 'msg_2' }, body, now: NOW }),
      'ERR_VERIFY_NO_MATCH',
    );
    expectVerifyCode(
      () =>
        verifyWebhook({
          secret,
          headers: { ...headers, 'webhook-timestamp': String(NOW + 1) },
          body,
          now: NOW,
        }),
      'ERR_VERIFY_NO_MATCH',
    );
  });

  it('enforces the tolerance in both directions, inclusive of the limit', () => {
    expect(verifyWebhook({ secret, headers, body, now: NOW + 300 }).id).toBe('evt_1');
    expect(verifyWebhook({ secret, headers, body, now: NOW - 300 }).id).toBe('evt_1');
    expectVerifyCode(() => verifyWebhook({ secret, headers, body, now: NOW + 301 }), 'ERR_VERIFY_TOO_OLD');
    expectVerifyCode(() => verifyWebhook({ secret, headers, body, now: NOW - 301 }), 'ERR_VERIFY_TOO_NEW');
    expectVerifyCode(
      () => verifyWebhook({ secret, headers, body, now: new Date((NOW + 301) * 1000) }),
      'ERR_VERIFY_TOO_OLD',
    );
    expect(verifyWebhook({ secret, headers, body, now: NOW + 301, toleranceSeconds: 600 }).id).toBe('evt_1');
  });

  it('rejects a timestamp signed 301 s ago or 301 s ahead', () => {
    const old = signWebhook({ id: 'msg_1', timestamp: NOW - 301, body, secret });
    const ahead = signWebhook({ id: 'msg_1', timestamp: NOW + 301, body, secret });
    expectVerifyCode(() => verifyWebhook({ secret, headers: old, body, now: NOW }), 'ERR_VERIFY_TOO_OLD');
    expectVerifyCode(() => verifyWebhook({ secret, headers: ahead, body, now: NOW }), 'ERR_VERIFY_TOO_NEW');
  });

  it('rejects a millisecond or non-integer timestamp', () => {
    const key = parseSecret(secret);
    const ms = NOW * 1000;
    const msHeaders = {
      'webhook-id': 'msg_1',
      'webhook-timestamp': String(ms),
      'webhook-signature': signPayload(key, 'msg_1', ms, body),
    };
    expectVerifyCode(
      () => verifyWebhook({ secret, headers: msHeaders, body, now: NOW }),
      'ERR_VERIFY_BAD_TIMESTAMP',
    );
    for (const bad of [`${NOW}.5`, `-${NOW}`, `${NOW}abc`, '1e9', 'now']) {
      expectVerifyCode(
        () => verifyWebhook({ secret, headers: { ...headers, 'webhook-timestamp': bad }, body, now: NOW }),
        'ERR_VERIFY_BAD_TIMESTAMP',
      );
    }
  });

  it('rejects each missing or empty header', () => {
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const) {
      const missing: Record<string, string> = { ...headers };
      delete missing[name];
      const error = thrown(() => verifyWebhook({ secret, headers: missing, body, now: NOW }));
      expect(error).toBeInstanceOf(WebhookVerificationError);
      expect((error as WebhookVerificationError).code).toBe('ERR_VERIFY_MISSING_HEADER');
      expect((error as Error).message).toContain(name);
      expectVerifyCode(
        () => verifyWebhook({ secret, headers: { ...headers, [name]: '' }, body, now: NOW }),
        'ERR_VERIFY_MISSING_HEADER',
      );
    }
    // No signature header of either set: the message names the Standard Webhooks header hookline
    // sends, and says the svix-* fallback is missing too.
    for (const none of [{}, new Headers({ 'content-type': 'application/json' })]) {
      const error = thrown(() => verifyWebhook({ secret, headers: none, body, now: NOW }));
      expect((error as WebhookVerificationError).code).toBe('ERR_VERIFY_MISSING_HEADER');
      expect((error as Error).message).toBe(
        'The `webhook-id` header is missing (nor is there a `svix-id` header)',
      );
    }
  });

  it('ignores signatures of other versions', () => {
    const digest = headers['webhook-signature'].slice('v1,'.length);
    for (const signature of [`v2,${digest}`, `v1a,${digest}`, digest, `v2,${digest} v1b,${digest}`]) {
      expectVerifyCode(
        () =>
          verifyWebhook({ secret, headers: { ...headers, 'webhook-signature': signature }, body, now: NOW }),
        'ERR_VERIFY_NO_MATCH',
      );
    }
    const mixed = `v2,${digest} v1,${'A'.repeat(43)}= ${headers['webhook-signature']}`;
    expect(
      verifyWebhook({ secret, headers: { ...headers, 'webhook-signature': mixed }, body, now: NOW }).id,
    ).toBe('evt_1');
  });

  it('rejects a truncated or padded signature without throwing from timingSafeEqual', () => {
    const signature = headers['webhook-signature'];
    for (const bad of [signature.slice(0, -1), `${signature}A`, 'v1,', 'v1']) {
      expectVerifyCode(
        () => verifyWebhook({ secret, headers: { ...headers, 'webhook-signature': bad }, body, now: NOW }),
        'ERR_VERIFY_NO_MATCH',
      );
    }
  });

  it('rejects a correctly signed body that is not a JSON object', () => {
    for (const text of ['not json', '{"id":', '[1,2]', 'null', '42']) {
      const signed = signWebhook({ id: 'msg_1', timestamp: NOW, body: text, secret });
      expectVerifyCode(
        () => verifyWebhook({ secret, headers: signed, body: text, now: NOW }),
        'ERR_VERIFY_BAD_BODY',
      );
    }
  });

  it('refuses an invalid secret when signing', () => {
    for (const bad of ['nope', 'whsec_', secretOf(16), `whsec_${'!'.repeat(44)}`]) {
      const error = expectCode(() => signWebhook({ id: 'msg_1', body, secret: bad }), 'ERR_INVALID_SECRET');
      expect(error).toBeInstanceOf(InvalidSecretError);
    }
    const error = expectCode(
      () => signWebhook({ id: 'msg_1', body, secret: [generateSecret(), 'whsec_bad'] }),
      'ERR_INVALID_SECRET',
    );
    expect((error as InvalidSecretError).argument).toBe('secret[1]');
    expect(error.message).toContain('secret[1]');
  });

  it('refuses an invalid secret when verifying, before looking at the request', () => {
    const bad = secretOf(16);
    const error = thrown(() => verifyWebhook({ secret: bad, headers, body, now: NOW }));
    expect(error).toBeInstanceOf(WebhookVerificationError);
    expect((error as WebhookVerificationError).code).toBe('ERR_VERIFY_BAD_SECRET');
    expect((error as Error).message).not.toContain(bad);
    expect(JSON.stringify(error)).not.toContain(bad.slice('whsec_'.length));
    expectVerifyCode(
      () => verifyWebhook({ secret: bad, headers: {}, body, now: NOW }),
      'ERR_VERIFY_BAD_SECRET',
    );
    expectVerifyCode(() => verifyWebhook({ secret: [], headers, body, now: NOW }), 'ERR_VERIFY_BAD_SECRET');
    expectVerifyCode(
      () => verifyWebhook({ secret: [secret, 'whsec_x'], headers, body, now: NOW }),
      'ERR_VERIFY_BAD_SECRET',
    );
  });
});

describe('verifyWebhook inputs', () => {
  const secret = generateSecret();
  const headers = signWebhook({ id: 'msg_1', timestamp: NOW, body, secret });

  it('reads a fetch Headers object', () => {
    expect(verifyWebhook({ secret, headers: new Headers(headers), body, now: NOW }).id).toBe('evt_1');
  });

  it('reads header names in any case', () => {
    const mixed = {
      'Webhook-Id': headers['webhook-id'],
      'WEBHOOK-TIMESTAMP': headers['webhook-timestamp'],
      'webhook-Signature': headers['webhook-signature'],
    };
    expect(verifyWebhook({ secret, headers: mixed, body, now: NOW }).id).toBe('evt_1');
    expect(verifyWebhook({ secret, headers: new Headers(mixed), body, now: NOW }).id).toBe('evt_1');
  });

  it('falls back to svix-* header names', () => {
    const svix = {
      'svix-id': headers['webhook-id'],
      'svix-timestamp': headers['webhook-timestamp'],
      'svix-signature': headers['webhook-signature'],
    };
    expect(verifyWebhook({ secret, headers: svix, body, now: NOW }).id).toBe('evt_1');
    expect(verifyWebhook({ secret, headers: new Headers(svix), body, now: NOW }).id).toBe('evt_1');
    const { 'svix-id': _, ...noId } = svix;
    expectVerifyCode(
      () => verifyWebhook({ secret, headers: noId, body, now: NOW }),
      'ERR_VERIFY_MISSING_HEADER',
    );
    // Some svix-* headers and no webhook-* ones: the svix set is the one read, and named.
    expect((thrown(() => verifyWebhook({ secret, headers: noId, body, now: NOW })) as Error).message).toBe(
      'The `svix-id` header is missing',
    );
  });

  it('accepts repeated signature headers (array values, or joined by Headers)', () => {
    const other = signWebhook({ id: 'msg_1', timestamp: NOW, body, secret: generateSecret() })[
      'webhook-signature'
    ];
    const asArray = { ...headers, 'webhook-signature': [other, headers['webhook-signature']] };
    expect(verifyWebhook({ secret, headers: asArray, body, now: NOW }).id).toBe('evt_1');
    const joined = new Headers([
      ['webhook-id', headers['webhook-id']],
      ['webhook-timestamp', headers['webhook-timestamp']],
      ['webhook-signature', headers['webhook-signature']],
      ['webhook-signature', other],
    ]);
    expect(verifyWebhook({ secret, headers: joined, body, now: NOW }).id).toBe('evt_1');
  });

  it('accepts a Buffer or a Uint8Array body', () => {
    expect(verifyWebhook({ secret, headers, body: Buffer.from(body), now: NOW }).id).toBe('evt_1');
    expect(verifyWebhook({ secret, headers, body: new TextEncoder().encode(body), now: NOW }).id).toBe(
      'evt_1',
    );
    // A view into a larger buffer must be read from its own offset only.
    const bytes = Buffer.from(`xxxx${body}yyyy`);
    const view = new Uint8Array(bytes.buffer, bytes.byteOffset + 4, bytes.length - 8);
    expect(verifyWebhook({ secret, headers, body: view, now: NOW })).toEqual(JSON.parse(body));
  });

  it('signs a Buffer body the same as its string', () => {
    const fromBuffer = signWebhook({ id: 'msg_1', timestamp: NOW, body: Buffer.from(body), secret });
    expect(fromBuffer).toEqual(headers);
  });

  it('throws InvalidArgumentError for arguments of the wrong type', () => {
    const parsed = JSON.parse(body) as string;
    for (const fn of [
      () => verifyWebhook({ secret, headers, body: parsed, now: NOW }),
      () => verifyWebhook({ secret, headers, body, now: Date.now() }),
      () => verifyWebhook({ secret, headers, body, toleranceSeconds: -1 }),
      () => verifyWebhook({ secret, headers: null as unknown as Headers, body }),
    ]) {
      expect(thrown(fn)).toBeInstanceOf(InvalidArgumentError);
    }
  });
});

describe('signWebhook', () => {
  const secret = generateSecret();

  it('defaults the timestamp to now, in whole seconds', () => {
    const before = Math.floor(Date.now() / 1000);
    const headers = signWebhook({ id: 'msg_1', body, secret });
    const after = Math.floor(Date.now() / 1000);
    expect(headers['webhook-timestamp']).toMatch(/^\d+$/);
    const timestamp = Number(headers['webhook-timestamp']);
    expect(timestamp).toBeGreaterThanOrEqual(before);
    expect(timestamp).toBeLessThanOrEqual(after);
    expect(headers['webhook-id']).toBe('msg_1');
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
  });

  it('accepts a Date timestamp, truncated to seconds', () => {
    const headers = signWebhook({ id: 'msg_1', timestamp: new Date(NOW * 1000 + 999), body, secret });
    expect(headers['webhook-timestamp']).toBe(String(NOW));
  });

  it('refuses bad arguments with InvalidArgumentError', () => {
    const cases: Array<[string, () => unknown]> = [
      ['id', () => signWebhook({ id: '', body, secret })],
      ['id', () => signWebhook({ id: 'a b', body, secret })],
      ['id', () => signWebhook({ id: 'a\r\nx-evil: 1', body, secret })],
      ['id', () => signWebhook({ id: 42 as unknown as string, body, secret })],
      ['timestamp', () => signWebhook({ id: 'msg_1', timestamp: Date.now(), body, secret })],
      ['timestamp', () => signWebhook({ id: 'msg_1', timestamp: 1.5, body, secret })],
      ['timestamp', () => signWebhook({ id: 'msg_1', timestamp: -1, body, secret })],
      ['timestamp', () => signWebhook({ id: 'msg_1', timestamp: new Date(Number.NaN), body, secret })],
      ['body', () => signWebhook({ id: 'msg_1', body: { a: 1 } as unknown as string, secret })],
      ['secret', () => signWebhook({ id: 'msg_1', body, secret: [] })],
    ];
    for (const [argument, fn] of cases) {
      const error = thrown(fn);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).code).toBe('ERR_INVALID_ARGUMENT');
      expect((error as InvalidArgumentError).argument).toBe(argument);
    }
  });
});

describe('parseSecret', () => {
  it('accepts 24 to 64 bytes and returns the key bytes', () => {
    for (const bytes of [24, 32, 33, 64]) {
      const raw = randomBytes(bytes);
      expect(parseSecret(`whsec_${raw.toString('base64')}`).equals(raw)).toBe(true);
    }
  });

  it('refuses 23 and 65 bytes, naming the length', () => {
    for (const bytes of [23, 65]) {
      const error = expectCode(() => parseSecret(secretOf(bytes)), 'ERR_INVALID_SECRET');
      expect(error.message).toContain(`${bytes} bytes`);
    }
  });

  it('refuses a missing prefix, bad base64 and non-strings', () => {
    const encoded = randomBytes(32).toString('base64');
    const bad = [
      encoded,
      `WHSEC_${encoded}`,
      `whsec ${encoded}`,
      'whsec_',
      `whsec_${encoded} `,
      `whsec_ ${encoded}`,
      `whsec_${encoded}\n`,
      `whsec_${randomBytes(33).toString('base64url')}-_`,
      `whsec_${encoded.replace(/=+$/, '')}`,
      `whsec_${encoded}=`,
      `whsec_${encoded.slice(0, 20)}=${encoded.slice(21)}`,
      `whsec_${encoded.slice(0, 10)}*${encoded.slice(11)}`,
      `whsec_${encoded.slice(0, 42)}B=`,
    ];
    for (const secret of bad) {
      expect(thrown(() => parseSecret(secret))).toBeInstanceOf(InvalidSecretError);
    }
    expectCode(() => parseSecret(42 as unknown as string), 'ERR_INVALID_SECRET');
  });

  it('uses the argument name in messages', () => {
    const error = expectCode(() => parseSecret('nope', 'endpoint.secret'), 'ERR_INVALID_SECRET');
    expect(error.message).toContain('endpoint.secret');
    expect((error as InvalidSecretError).argument).toBe('endpoint.secret');
  });

  it('never puts the secret in the message or the JSON form', () => {
    const encoded = randomBytes(40).toString('base64');
    for (const secret of [
      encoded,
      `whsec_${encoded} `,
      secretOf(23),
      secretOf(65),
      `whsec_${encoded.replace(/=+$/, '')}`,
      `whsec_${encoded}\n`,
    ]) {
      const error = thrown(() => parseSecret(secret)) as InvalidSecretError;
      expect(error).toBeInstanceOf(InvalidSecretError);
      const body64 = secret.replace(/^whsec_/, '').trim();
      for (const text of [error.message, JSON.stringify(error), String(error.stack)]) {
        expect(text).not.toContain(secret);
        expect(text).not.toContain(body64);
        expect(text).not.toContain(body64.slice(0, 8));
      }
    }
  });
});

describe('generateSecret', () => {
  it('round-trips through parseSecret as 32 random bytes', () => {
    const secret = generateSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(parseSecret(secret)).toHaveLength(32);
    expect(generateSecret()).not.toBe(secret);
  });
});
