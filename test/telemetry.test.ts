import { type Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { InvalidOptionError, WebhookSender } from '../src/index.js';
import { distEntry, ensureBuilt } from './helpers/build.js';
import { spawnLines } from './helpers/child.js';
import { otelKit } from './helpers/otel.js';
import { kit, postgresStore, sqliteStore, sqliteWorkerStore } from './helpers/stores.js';
import { tempDir } from './helpers/tmp.js';

// OpenTelemetry with the real SDK (in-memory exporters) handed to senders through `telemetry`:
// the spans of an emit and its attempts, the traceparent a receiver gets, and the metrics; on
// both stores and both engines. The first test checks that nothing of it loads without it.

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

describe('without OpenTelemetry', () => {
  it('loads nothing of it and sends no traceparent (a child process with nothing registered)', async () => {
    ensureBuilt();
    const script = `
      import http from 'node:http';
      import { createRequire } from 'node:module';
      const { WebhookSender } = await import(${JSON.stringify(distEntry)});
      let headers;
      const server = http.createServer((req, res) => { headers = req.headers; res.end(); });
      await new Promise((r) => server.listen(0, '127.0.0.1', r));
      const s = new WebhookSender({ database: ':memory:', allowPrivateNetworks: true });
      s.endpoints.add({ url: 'http://127.0.0.1:' + server.address().port + '/' });
      s.emit('a', {});
      await s.drain();
      await s.close();
      server.close();
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((m) => m.includes('@opentelemetry'));
      console.log(JSON.stringify({ loaded, traceparent: headers.traceparent ?? null }));
    `;
    const child = spawnLines(['--input-type=module', '-e', script], { label: 'no-otel', timeoutMs: 20_000 });
    const line = await child.waitForLine((l) => l.startsWith('{'));
    expect(JSON.parse(line)).toEqual({ loaded: [], traceparent: null });
    expect(await child.exited).toEqual({ code: 0, signal: null });
  });

  it('refuses a telemetry option that is not one', () => {
    expect(
      () => new WebhookSender({ database: ':memory:', telemetry: { tracerProvider: 1 } } as never),
    ).toThrow(InvalidOptionError);
    expect(() => new WebhookSender({ database: ':memory:', telemetry: { other: 1 } } as never)).toThrow(
      /telemetry\.other/,
    );
    expect(() => new WebhookSender({ database: ':memory:', telemetry: 'on' } as never)).toThrow(
      InvalidOptionError,
    );
  });
});

const stores = [sqliteStore(), sqliteWorkerStore(), postgresStore()];

describe.each(stores.map((s) => [s.name, s] as const))('traces and metrics on %s', (_name, store) => {
  const k = kit(store);
  afterEach(() => k.cleanup());
  const otel = otelKit();
  afterAll(async () => {
    await store.dispose();
    await otel.shutdown();
  });

  it.skipIf(!store.available)(
    'emit is a producer span in the caller context; each attempt a client span under it, carried to the receiver',
    async () => {
      const traceparents: string[] = [];
      let answer = 500;
      const r = await k.receiver((request, res) => {
        traceparents.push(request.headers.traceparent as string);
        res.writeHead(answer).end();
        answer = 200;
      });
      const before = otel.spans().length;
      const s = await k.sender({
        retry: [0],
        telemetry: { tracerProvider: otel.tracerProvider, meterProvider: otel.meterProvider },
      });
      const ep = await s.endpoints.add({ url: `${r.url}?token=secret-in-query` });
      const tracer = otel.tracerProvider.getTracer('the application');
      const event = await tracer.startActiveSpan('POST /orders', async (request: Span) => {
        try {
          return await s.emit('order.created', { id: 1 });
        } finally {
          request.end();
        }
      });
      await s.drain();
      for (let i = 0; i < 100 && otel.spans().length < before + 4; i++)
        await new Promise((x) => setTimeout(x, 20));
      const spans = otel.spans().slice(before);
      const request = spans.find((sp) => sp.name === 'POST /orders')!;
      const send = spans.find((sp) => sp.name === 'send order.created')!;
      const attempts = spans.filter((sp) => sp.name === 'POST' && sp.kind === SpanKind.CLIENT);
      expect(send.kind).toBe(SpanKind.PRODUCER);
      expect(send.spanContext().traceId).toBe(request.spanContext().traceId);
      expect(send.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
      expect(send.attributes).toMatchObject({
        'messaging.system': 'hookline',
        'messaging.operation.type': 'send',
        'messaging.destination.name': 'order.created',
        'messaging.message.id': event.id,
      });
      expect(attempts).toHaveLength(2);
      for (const [i, attempt] of attempts.entries()) {
        expect(attempt.spanContext().traceId).toBe(send.spanContext().traceId);
        expect(attempt.parentSpanContext?.spanId).toBe(send.spanContext().spanId);
        expect(attempt.links.map((l) => l.context.spanId)).toEqual([send.spanContext().spanId]);
        expect(attempt.attributes).toMatchObject({
          'http.request.method': 'POST',
          'url.full': `${r.url}`,
          'server.address': '127.0.0.1',
          'http.response.status_code': i === 0 ? 500 : 200,
          'hookline.event.id': event.id,
          'hookline.event.type': 'order.created',
          'hookline.endpoint.id': ep.id,
          'hookline.attempt': i + 1,
        });
        expect(JSON.stringify(attempt.attributes)).not.toContain('secret-in-query');
        // The receiver continues the trace under this very span.
        const [, traceId, spanId] = TRACEPARENT.exec(traceparents[i]!)!;
        expect([traceId, spanId]).toEqual([attempt.spanContext().traceId, attempt.spanContext().spanId]);
      }
      expect(attempts[0]!.attributes['error.type']).toBe('500');
      expect(attempts[0]!.status.code).toBe(SpanStatusCode.ERROR);
      expect(attempts[1]!.attributes['error.type']).toBeUndefined();
      expect(attempts[1]!.attributes['http.request.resend_count']).toBe(1);
      expect(attempts[1]!.status.code).toBe(SpanStatusCode.UNSET);
    },
  );

  it.skipIf(!store.available)(
    "the gauges: pending deliveries, the oldest one's age, open circuits, in flight",
    async () => {
      const metered = otelKit();
      try {
        const s = await k.sender({ autoStart: false, telemetry: { meterProvider: metered.meterProvider } });
        await s.endpoints.add({ url: 'https://example.com/hooks' });
        await s.emit('order.created', { n: 1 });
        await s.emit('order.created', { n: 2 });
        await new Promise((x) => setTimeout(x, 30));
        expect(await metered.metric('hookline.deliveries.pending')).toEqual([[{}, 2]]);
        const age = (await metered.metric('hookline.deliveries.oldest_pending_age'))[0]?.[1] as number;
        expect(age).toBeGreaterThan(0.01);
        expect(age).toBeLessThan(60);
        expect(await metered.metric('hookline.endpoints.open_circuits')).toEqual([[{}, 0]]);
        expect(await metered.metric('hookline.attempts.in_flight')).toEqual([[{}, 0]]);
        expect((await metered.descriptor('hookline.deliveries.oldest_pending_age'))?.unit).toBe('s');
      } finally {
        await metered.shutdown();
      }
    },
  );

  it.skipIf(!store.available)(
    'counts attempts by endpoint and outcome, their durations, events, and reads the gauges',
    async () => {
      const ok = await k.receiver();
      const down = await k.receiver((_req, res) => res.writeHead(503).end());
      const metered = otelKit();
      try {
        const s = await k.sender({
          retry: [],
          circuitBreaker: false,
          telemetry: { meterProvider: metered.meterProvider },
        });
        const good = await s.endpoints.add({ url: ok.url, events: ['order.*'] });
        const bad = await s.endpoints.add({ url: down.url, events: ['user.*'] });
        await s.emit('order.created', { n: 1 });
        await s.emit('order.created', { n: 2 });
        await s.emit('user.created', { n: 3 });
        await s.drain();
        // A worker's notices come over batched: give the last ones a moment to arrive.
        for (let i = 0; i < 100; i++) {
          const counted = (await metered.metric('hookline.attempts')).reduce(
            (n, [, v]) => n + (v as number),
            0,
          );
          if (counted === 3) break;
          await new Promise((x) => setTimeout(x, 20));
        }
        expect(await metered.metric('hookline.attempts')).toEqual(
          expect.arrayContaining([
            [{ 'hookline.endpoint.id': good.id, 'hookline.outcome': 'succeeded' }, 2],
            [{ 'hookline.endpoint.id': bad.id, 'hookline.outcome': 'failed', 'error.type': '503' }, 1],
          ]),
        );
        const durations = await metered.metric('hookline.attempt.duration');
        expect(durations.reduce((n, [, v]) => n + (v as { count: number }).count, 0)).toBe(3);
        expect((await metered.descriptor('hookline.attempt.duration'))?.unit).toBe('s');
        expect(await metered.metric('hookline.events.emitted')).toEqual(
          expect.arrayContaining([
            [{ 'hookline.event.type': 'order.created' }, 2],
            [{ 'hookline.event.type': 'user.created' }, 1],
          ]),
        );
        expect(await metered.metric('hookline.deliveries.pending')).toEqual([[{}, 0]]);
        expect(await metered.metric('hookline.attempts.in_flight')).toEqual([[{}, 0]]);
      } finally {
        await metered.shutdown();
      }
    },
  );
});

describe('the trace context stored with the event', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  it('links a retry made by another sender, later, to the emit; propagate: false sends no traceparent', async () => {
    const otel = otelKit();
    const headers: (string | undefined)[] = [];
    const { startReceiver } = await import('./helpers/receiver.js');
    const r = await startReceiver((request, res) => {
      headers.push(request.headers.traceparent as string | undefined);
      res.end();
    });
    const file = tmp.file('later.db');
    const telemetry = { tracerProvider: otel.tracerProvider };
    const first = new WebhookSender({
      database: file,
      autoStart: false,
      allowPrivateNetworks: true,
      telemetry,
    });
    first.endpoints.add({ url: r.url });
    const event = first.emit('order.created', { id: 1 });
    await first.close();
    const send = otel.spans().find((sp) => sp.name === 'send order.created')!;
    const later = new WebhookSender({
      database: file,
      allowPrivateNetworks: true,
      engine: 'inline',
      telemetry: { ...telemetry, propagate: false },
    });
    await later.drain();
    await later.close();
    await r.close();
    const attempt = otel.spans().find((sp) => sp.name === 'POST')!;
    expect(attempt.attributes['hookline.event.id']).toBe(event.id);
    expect(attempt.spanContext().traceId).toBe(send.spanContext().traceId);
    expect(attempt.parentSpanContext?.spanId).toBe(send.spanContext().spanId);
    expect(headers).toEqual([undefined]);
    await otel.shutdown();
  });
});

describe('the global providers', () => {
  it('are enough, with no option; telemetry: false records nothing even then', async () => {
    const { metrics, trace } = await import('@opentelemetry/api');
    const otel = otelKit();
    trace.setGlobalTracerProvider(otel.tracerProvider);
    metrics.setGlobalMeterProvider(otel.meterProvider);
    const { startReceiver } = await import('./helpers/receiver.js');
    const r = await startReceiver();
    try {
      const s = new WebhookSender({ database: ':memory:', allowPrivateNetworks: true });
      s.endpoints.add({ url: r.url });
      s.emit('order.created', {});
      await s.drain();
      await s.close();
      expect(otel.spans().map((sp) => sp.name)).toEqual(['send order.created', 'POST']);
      expect(await otel.metric('hookline.events.emitted')).toEqual([
        [{ 'hookline.event.type': 'order.created' }, 1],
      ]);
      expect(r.requests[0]!.headers.traceparent).toMatch(TRACEPARENT);

      const off = new WebhookSender({ database: ':memory:', allowPrivateNetworks: true, telemetry: false });
      off.endpoints.add({ url: r.url });
      off.emit('order.created', {});
      await off.drain();
      await off.close();
      expect(otel.spans()).toHaveLength(2);
      expect(r.requests[1]!.headers.traceparent).toBeUndefined();
      expect(await otel.metric('hookline.events.emitted')).toEqual([
        [{ 'hookline.event.type': 'order.created' }, 1],
      ]);
    } finally {
      trace.disable();
      metrics.disable();
      await r.close();
      await otel.shutdown();
    }
  });
});

describe('a provider that throws', () => {
  it('costs neither the emit nor the delivery: ERR_TELEMETRY is emitted and both go on', async () => {
    const { startReceiver } = await import('./helpers/receiver.js');
    const r = await startReceiver();
    const broken = {
      getTracer: () => {
        throw new Error('tracer exploded');
      },
    };
    const meterProvider = {
      getMeter: () => {
        throw new Error('meter exploded');
      },
    };
    const errors: string[] = [];
    const s = new WebhookSender({
      database: ':memory:',
      allowPrivateNetworks: true,
      telemetry: { tracerProvider: broken, meterProvider },
    });
    s.on('error', (error) => errors.push(`${error.code} ${error.message}`));
    try {
      s.endpoints.add({ url: r.url });
      const event = s.emit('order.created', {});
      expect(event.id).toMatch(/^evt_/);
      await s.drain();
      expect(r.requests).toHaveLength(1);
      expect(r.requests[0]!.headers.traceparent).toBeUndefined();
      expect(errors).toContain('ERR_TELEMETRY OpenTelemetry failed: tracer exploded');
      expect(errors).toContain('ERR_TELEMETRY OpenTelemetry failed: meter exploded');
      expect((await s.deliveries.list()).items[0]).toMatchObject({ status: 'succeeded' });
    } finally {
      await s.close();
      await r.close();
    }
  });
});
