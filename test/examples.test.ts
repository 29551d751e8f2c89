import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecret, signWebhook, WebhookSender } from '../src/index.js';
import { ensureBuilt } from './helpers/build.js';
import { type Child, spawnLines } from './helpers/child.js';
import { tempDir } from './helpers/tmp.js';

// The example receivers, run as a user would run them: a child process with
// WEBHOOK_SECRET and PORT set, importing the built package by its name.

const root = fileURLToPath(new URL('..', import.meta.url));

interface Running extends Child {
  url: string;
}

async function start(script: string, env: Record<string, string>): Promise<Running> {
  const child = spawnLines([`examples/${script}`], { cwd: root, env, label: script, timeoutMs: 15_000 });
  // PORT=0: the system picks a free port, and the example prints the one it got.
  const listening = await child.waitForLine((line) => line.startsWith('listening on '));
  const port = /:(\d+)\//.exec(listening)![1];
  return { ...child, url: `http://127.0.0.1:${port}/webhooks` };
}

let counter = 0;
/** A webhook body as hookline sends it, with a fresh id. */
function webhookBody(): { id: string; body: string } {
  const id = `evt_example_${process.pid}_${++counter}`;
  const body = JSON.stringify({
    id,
    type: 'order.created',
    timestamp: new Date().toISOString(),
    data: { id: 42, note: 'é €' },
  });
  return { id, body };
}

async function post(url: string, body: string, headers: Record<string, string>) {
  const res = await fetch(url, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
  });
  return { status: res.status, text: await res.text() };
}

describe.each(['receiver-http.mjs', 'receiver-express.mjs'])('examples/%s', (script) => {
  const secret = generateSecret();
  const nextSecret = generateSecret();
  let r: Running;

  beforeAll(async () => {
    ensureBuilt();
    // Two secrets, as during a rotation: a request signed with either is accepted.
    r = await start(script, { PORT: '0', WEBHOOK_SECRET: `${secret} ${nextSecret}` });
  }, 240_000);

  afterAll(async () => {
    if (r === undefined || r.proc.exitCode !== null) return;
    const exited = new Promise((resolve) => r.proc.once('exit', resolve));
    r.proc.kill('SIGTERM');
    await exited;
  });

  const processed = (id: string) => r.lines.filter((line) => line.startsWith(`processed ${id} `)).length;

  it('answers 204 to a signed request and processes it', async () => {
    const { id, body } = webhookBody();
    const res = await post(r.url, body, signWebhook({ id, body, secret }));
    expect(res.status).toBe(204);
    expect(await r.waitForLine((line) => line.startsWith(`processed ${id} `))).toBe(
      `processed ${id} order.created`,
    );
  });

  it('accepts either secret while they rotate', async () => {
    const { id, body } = webhookBody();
    const res = await post(r.url, body, signWebhook({ id, body, secret: nextSecret }));
    expect(res.status).toBe(204);
    await r.waitForLine((line) => line.startsWith(`processed ${id} `));
  });

  it('answers 400 to a wrong signature, a changed body or a stale timestamp, and processes none', async () => {
    const wrong = webhookBody();
    const bad = await post(r.url, wrong.body, signWebhook({ ...wrong, secret: generateSecret() }));
    expect(bad).toEqual({ status: 400, text: 'ERR_VERIFY_NO_MATCH' });

    const changed = webhookBody();
    const headers = signWebhook({ ...changed, secret });
    const tampered = await post(r.url, changed.body.replace('"id":42', '"id":43'), headers);
    expect(tampered).toEqual({ status: 400, text: 'ERR_VERIFY_NO_MATCH' });

    const stale = webhookBody();
    const old = Math.floor(Date.now() / 1000) - 600;
    const late = await post(r.url, stale.body, signWebhook({ ...stale, secret, timestamp: old }));
    expect(late).toEqual({ status: 400, text: 'ERR_VERIFY_TOO_OLD' });

    const unsigned = webhookBody();
    expect((await post(r.url, unsigned.body, {})).status).toBe(400);

    // Work runs in order: once a later good request is processed, none of these was.
    const good = webhookBody();
    expect((await post(r.url, good.body, signWebhook({ ...good, secret }))).status).toBe(204);
    await r.waitForLine((line) => line.startsWith(`processed ${good.id} `));
    for (const { id } of [wrong, changed, stale, unsigned]) expect(processed(id)).toBe(0);
  });

  it('acknowledges a duplicate webhook-id but processes it once', async () => {
    const { id, body } = webhookBody();
    // The first delivery, then a retry of the same event: same id and body, fresh signature.
    expect((await post(r.url, body, signWebhook({ id, body, secret }))).status).toBe(204);
    const retryAt = Math.floor(Date.now() / 1000) + 1;
    expect((await post(r.url, body, signWebhook({ id, body, secret, timestamp: retryAt }))).status).toBe(204);
    expect((await post(r.url, body, signWebhook({ id, body, secret: nextSecret }))).status).toBe(204);

    const later = webhookBody();
    expect((await post(r.url, later.body, signWebhook({ ...later, secret }))).status).toBe(204);
    await r.waitForLine((line) => line.startsWith(`processed ${later.id} `));
    expect(processed(id)).toBe(1);
  });

  it('has written nothing to stderr', () => {
    expect(r.stderr()).toBe('');
  });
});

// The dashboard examples: the same dashboard behind each server's own login, over a real file.
const dashboards: [string, Record<string, string>, Record<string, string>][] = [
  [
    'dashboard-http.mjs',
    { DASHBOARD_PASSWORD: 'pw-for-the-test' },
    { authorization: `Basic ${Buffer.from('admin:pw-for-the-test').toString('base64')}` },
  ],
  [
    'dashboard-express.mjs',
    { DASHBOARD_TOKEN: 'token-for-the-test' },
    { authorization: 'Bearer token-for-the-test' },
  ],
  [
    'dashboard-fastify.mjs',
    { DASHBOARD_TOKEN: 'token-for-the-test' },
    { authorization: 'Bearer token-for-the-test' },
  ],
];

describe.each(dashboards)('examples/%s', (script, env, login) => {
  const tmp = tempDir();
  const file = tmp.file(`${script}.db`);
  let r: Child;
  let base: string;
  let endpointId: string;

  beforeAll(async () => {
    ensureBuilt();
    const sender = new WebhookSender({ database: file, autoStart: false });
    endpointId = sender.endpoints.add({ url: 'https://example.com/hooks' }).id;
    sender.emit('order.created', { id: 1 });
    await sender.close();
    r = spawnLines([`examples/${script}`], {
      cwd: root,
      env: { ...env, PORT: '0', HOOKLINE_DB: file },
      label: script,
      timeoutMs: 15_000,
    });
    const listening = await r.waitForLine((line) => line.startsWith('listening on '));
    base = listening.slice('listening on '.length).replace(/\/$/, '');
  }, 240_000);

  afterAll(async () => {
    if (r !== undefined && r.proc.exitCode === null) {
      const exited = new Promise((resolve) => r.proc.once('exit', resolve));
      r.proc.kill('SIGTERM');
      await exited;
    }
    tmp.cleanup();
  });

  it('asks for the login first, then shows the pages and runs an action with its CSRF token', async () => {
    expect((await fetch(`${base}/`)).status).toBe(401);
    const page = await fetch(`${base}/endpoints/${endpointId}`, { headers: login });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(`<h1>Endpoint ${endpointId}</h1>`);
    const cookie = page.headers.get('set-cookie')!.split(';')[0]!;
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
    const res = await fetch(`${base}/endpoints/${endpointId}/disable`, {
      method: 'POST',
      body: new URLSearchParams({ csrf }).toString(),
      headers: { ...login, cookie, 'content-type': 'application/x-www-form-urlencoded' },
      redirect: 'manual',
    });
    expect(res.status).toBe(303);
    const check = new WebhookSender({ database: file, autoStart: false, migrate: false });
    expect(check.endpoints.get(endpointId).enabled).toBe(false);
    await check.close();
    expect(r.stderr()).toBe('');
  });
});

describe('examples/demo.mjs (npm run demo)', () => {
  it('delivers with a retry, prints the log and the dashboard URL, and ends off a terminal', async () => {
    ensureBuilt();
    const demo = spawnLines(['examples/demo.mjs'], { cwd: root, label: 'demo.mjs', timeoutMs: 30_000 });
    const line = await demo.waitForLine((l) => l.startsWith('dashboard: '));
    expect(line).toMatch(/^dashboard: http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(await demo.exited).toEqual({ code: 0, signal: null });
    expect(demo.lines.filter((l) => / delivered after 2 attempts$/.test(l))).toHaveLength(3);
    expect(demo.stderr()).toBe('');
  }, 60_000);
});

describe('examples/telemetry.mjs', () => {
  it('prints the emit and attempt spans, the traceparent the receiver got, and the metrics', async () => {
    ensureBuilt();
    const run = spawnLines(['examples/telemetry.mjs'], {
      cwd: root,
      label: 'telemetry.mjs',
      timeoutMs: 30_000,
    });
    expect(await run.exited).toEqual({ code: 0, signal: null });
    const out = run.lines.join('\n');
    const [, traceId, spanId] = /receiver: traceparent 00-([0-9a-f]{32})-([0-9a-f]{16})-01/.exec(out)!;
    expect(out).toContain("name: 'send order.created'");
    expect(out).toContain(`traceId: '${traceId}'`);
    expect(out).toContain(`id: '${spanId}'`);
    expect(out).toContain("name: 'hookline.attempts'");
    expect(out).toContain("'hookline.outcome': 'succeeded'");
    expect(out).not.toContain('not-in-the-span');
    expect(run.stderr()).toBe('');
  }, 60_000);
});
