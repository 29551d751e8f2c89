import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { type DashboardAction, type DashboardOptions, dashboard } from '../src/dashboard/index.js';
import { WebhookSender } from '../src/index.js';
import { PgWebhookSender } from '../src/postgres.js';
import { dropSchema, PG_URL, probePostgres, uniqueSchema } from './helpers/postgres.js';
import { type Receiver, startReceiver } from './helpers/receiver.js';
import { tempDir } from './helpers/tmp.js';

// The dashboard's handler mounted in real servers on 127.0.0.1, read with fetch: what it renders,
// what it refuses, and what a hostile payload or receiver can make it send.

const tmp = tempDir();
let files = 0;
const freshFile = () => tmp.file(`dashboard-${++files}.db`);
const closers: (() => unknown)[] = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  tmp.cleanup();
});

const HOSTILE = '<script>window.pwned=1</script><img src=x onerror=alert(1)>"\'`';

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => server.close(resolve)));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A sender with a failed delivery whose payload and response are hostile, and a dashboard on it. */
async function setup(options: Omit<DashboardOptions, 'sender'> = {}, mount = '/ops') {
  const hostile: Receiver = await startReceiver((_req, res) =>
    res.writeHead(500, { 'x-note': HOSTILE, 'x-api-key': 'receiver-secret-value' }).end(HOSTILE),
  );
  closers.push(() => hostile.close());
  const sender = new WebhookSender({
    database: freshFile(),
    allowPrivateNetworks: true,
    retry: [],
    circuitBreaker: false,
    engine: 'inline',
  });
  closers.push(() => sender.close());
  const ep = sender.endpoints.add({
    url: hostile.url,
    headers: { authorization: 'Bearer app-credential', 'x-team': HOSTILE },
    description: HOSTILE,
  });
  const event = sender.emit('order.created', { note: HOSTILE, nested: { html: HOSTILE } });
  await sender.drain();
  const [delivery] = sender.deliveries.list().items;
  const handler = dashboard({ sender, basePath: mount, ...options });
  const base = await listen(http.createServer((req, res) => handler(req, res)));
  return { sender, ep, event, delivery: delivery!, url: `${base}${mount}`, hostile };
}

const get = (url: string, headers: Record<string, string> = {}) =>
  fetch(url, { headers, redirect: 'manual' });

/** The CSRF cookie and token of a page, as a browser would hold them. */
async function formToken(pageUrl: string) {
  const res = await get(pageUrl);
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  const token = /name="csrf" value="([^"]+)"/.exec(await res.text())?.[1];
  return { cookie, token };
}

function post(url: string, form: Record<string, string>, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: 'POST',
    body: new URLSearchParams(form).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    redirect: 'manual',
  });
}

describe('hookline/dashboard', () => {
  it('renders every page with a strict CSP and escapes every value from payloads and receivers', async () => {
    const { url, ep, event, delivery } = await setup();
    const pages = [
      '/',
      '/endpoints',
      `/endpoints/${ep.id}`,
      '/events',
      '/events?type=order.created',
      `/events/${event.id}`,
      '/deliveries',
      '/deliveries?status=failed',
      `/deliveries/${delivery.id}`,
    ];
    for (const path of pages) {
      const res = await get(`${url}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-security-policy')).toBe(
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      );
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      const body = await res.text();
      // No markup of the hostile text survives: it is all entities.
      expect(body, path).not.toContain('<script>window');
      expect(body, path).not.toContain('<img src=x');
      expect(body, path).not.toMatch(/onerror=alert\(1\)>/);
      expect(body, path).not.toContain('<script');
      // Secrets never rendered: the signing secret, the application's and the receiver's credentials.
      expect(body).not.toContain(ep.secret);
      expect(body).not.toContain('app-credential');
      expect(body).not.toContain('receiver-secret-value');
    }
    const page = await (await get(`${url}/deliveries/${delivery.id}`)).text();
    expect(page).toContain(
      '&lt;script&gt;window.pwned=1&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&#96;',
    );
    expect(page).toContain('x-api-key: [redacted]');
    const payload = await (await get(`${url}/events/${event.id}`)).text();
    expect(payload).toContain('&quot;note&quot;: &quot;&lt;script&gt;');
    const css = await get(`${url}/assets/dashboard.css`);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
  });

  it('is read-only without authorize: no form is drawn and every POST is refused', async () => {
    const { url, sender, delivery } = await setup();
    const page = await (await get(`${url}/deliveries/${delivery.id}`)).text();
    expect(page).not.toContain('<form class="inline" method="post"');
    expect(page).toContain('read-only');
    const res = await post(`${url}/deliveries/${delivery.id}/retry`, { csrf: 'x' });
    expect(res.status).toBe(403);
    expect(sender.deliveries.get(delivery.id).status).toBe('failed');
  });

  it('runs an action only with the CSRF token of its cookie, from its own origin, when authorize allows it', async () => {
    const asked: DashboardAction[] = [];
    let allowRetry = false;
    const { url, sender, delivery, event, ep } = await setup({
      authorize: (_req, action) => {
        asked.push(action);
        return action !== 'retry' || allowRetry;
      },
    });
    const retry = `${url}/deliveries/${delivery.id}/retry`;
    const { cookie, token } = await formToken(`${url}/deliveries/${delivery.id}`);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(asked).toEqual(['view']);

    // No token, a wrong one, a token without its cookie, another site's origin: refused, nothing done.
    expect((await post(retry, {}, { cookie })).status).toBe(403);
    // A wrong token: its last character changed (to another one: a token may end with either).
    const wrong = `${token!.slice(0, -1)}${token!.endsWith('A') ? 'B' : 'A'}`;
    expect((await post(retry, { csrf: wrong }, { cookie })).status).toBe(403);
    expect((await post(retry, { csrf: token! })).status).toBe(403);
    expect((await post(retry, { csrf: token! }, { cookie, origin: 'https://evil.example' })).status).toBe(
      403,
    );
    // authorize says no.
    expect((await post(retry, { csrf: token! }, { cookie })).status).toBe(403);
    expect(sender.deliveries.get(delivery.id).status).toBe('failed');

    allowRetry = true;
    const done = await post(retry, { csrf: token! }, { cookie, origin: new URL(url).origin });
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe(`/ops/deliveries/${delivery.id}?done=retried`);
    expect(sender.deliveries.get(delivery.id).status).not.toBe('failed');
    await sender.drain();
    expect(sender.deliveries.get(delivery.id).attemptCount).toBe(2);
    const flash = await (await get(`${url}/deliveries/${delivery.id}?done=retried`)).text();
    expect(flash).toContain('The delivery is scheduled now.');

    const replayed = await post(`${url}/events/${event.id}/replay`, { csrf: token! }, { cookie });
    expect(replayed.headers.get('location')).toBe(`/ops/events/${event.id}?done=replayed&n=1`);
    const disabled = await post(`${url}/endpoints/${ep.id}/disable`, { csrf: token! }, { cookie });
    expect(disabled.status).toBe(303);
    expect(sender.endpoints.get(ep.id).enabled).toBe(false);
    await post(`${url}/endpoints/${ep.id}/enable`, { csrf: token! }, { cookie });
    expect(sender.endpoints.get(ep.id).enabled).toBe(true);
    expect(asked.filter((a) => a !== 'view')).toEqual(['retry', 'retry', 'replay', 'disable', 'enable']);
  });

  it('recovers an endpoint from a form, and refuses a view authorize denies', async () => {
    let viewer = true;
    const { url, sender, ep } = await setup({ authorize: (_req, action) => action !== 'view' || viewer });
    const { cookie, token } = await formToken(`${url}/endpoints/${ep.id}`);
    const res = await post(
      `${url}/endpoints/${ep.id}/recover`,
      { csrf: token!, since: '2000-01-01T00:00' },
      { cookie },
    );
    expect(res.headers.get('location')).toBe(`/ops/endpoints/${ep.id}?done=recovered&n=1`);
    expect(sender.stats().failed).toBe(0);
    await sender.drain();
    expect(sender.deliveries.list().items[0]).toMatchObject({ status: 'failed', attemptCount: 2 });
    viewer = false;
    expect((await get(`${url}/`)).status).toBe(403);
  });

  it('answers 404 for an unknown id or page and 400 for a bad filter, without a stack', async () => {
    const { url } = await setup();
    expect((await get(`${url}/deliveries/dlv_999`)).status).toBe(404);
    expect((await get(`${url}/events/evt_nope`)).status).toBe(404);
    expect((await get(`${url}/nowhere`)).status).toBe(404);
    expect((await get(`${url}/events/%E0%A4%A`)).status).toBe(404);
    const bad = await get(`${url}/deliveries/not-an-id`);
    expect([400, 404]).toContain(bad.status);
    expect(await bad.text()).not.toMatch(/at .*\.ts:\d+/);
    const search = await get(`${url}/events?id=evt_x`);
    expect(search.status).toBe(303);
    expect(search.headers.get('location')).toBe('/ops/events/evt_x');
    // Outside its basePath it is not there.
    expect((await get(url.replace('/ops', '/elsewhere'))).status).toBe(404);
  });

  it('mounts in Express under app.use(prefix), behind its body parser', async () => {
    const sender = new WebhookSender({ database: freshFile(), autoStart: false, retry: [] });
    closers.push(() => sender.close());
    const ep = sender.endpoints.add({ url: 'https://example.com/hooks' });
    const app = express();
    app.use(express.urlencoded({ extended: false }));
    app.use('/admin/webhooks', dashboard({ sender, authorize: () => true }));
    const base = await listen(http.createServer(app));
    const page = await get(`${base}/admin/webhooks/endpoints`);
    expect(page.status).toBe(200);
    const text = await page.text();
    expect(text).toContain(`href="/admin/webhooks/endpoints/${ep.id}"`);
    expect(text).toContain('href="/admin/webhooks/assets/dashboard.css"');
    const cookie = page.headers.get('set-cookie')!.split(';')[0]!;
    expect(page.headers.get('set-cookie')).toContain('Path=/admin/webhooks; HttpOnly; SameSite=Strict');
    const token = /name="csrf" value="([^"]+)"/.exec(text)![1]!;
    const res = await post(`${base}/admin/webhooks/endpoints/${ep.id}/disable`, { csrf: token }, { cookie });
    expect(res.status).toBe(303);
    expect(sender.endpoints.get(ep.id).enabled).toBe(false);
  });
});

const postgres = await probePostgres();
describe.skipIf(!postgres.available)(
  `hookline/dashboard on PostgreSQL${postgres.available ? '' : ` (skipped: ${postgres.reason})`}`,
  () => {
    it('renders the overview and a delivery of a PgWebhookSender', async () => {
      const schema = uniqueSchema('dash');
      const pool = new pg.Pool({ connectionString: PG_URL });
      const receiver = await startReceiver((_req, res) => res.writeHead(200).end('fine'));
      const sender = new PgWebhookSender({ pool, schema, allowPrivateNetworks: true });
      try {
        await sender.endpoints.add({ url: receiver.url });
        await sender.emit('order.created', { n: 1 });
        await sender.drain();
        const [delivery] = (await sender.deliveries.list()).items;
        const handler = dashboard({ sender });
        const base = await listen(http.createServer((req, res) => handler(req, res)));
        const overview = await (await get(`${base}/`)).text();
        expect(overview).toContain('success rate, last hour');
        expect(overview).toMatch(/<title>[^<]*1 succeeded/);
        const page = await (await get(`${base}/deliveries/${delivery!.id}`)).text();
        expect(page).toContain('fine');
      } finally {
        await sender.close();
        await receiver.close();
        await pool.end();
        await dropSchema(schema);
      }
    });
  },
);
