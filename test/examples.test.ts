import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecret, signWebhook } from '../src/index.js';
import { ensureBuilt } from './helpers/build.js';

// The example receivers, run as a user would run them: a child process with
// WEBHOOK_SECRET and PORT set, importing the built package by its name.

const root = fileURLToPath(new URL('..', import.meta.url));

interface Running {
  proc: ChildProcessWithoutNullStreams;
  lines: string[];
  url: string;
  waitForLine(match: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  stderr(): string;
}

async function start(script: string, env: Record<string, string>): Promise<Running> {
  const proc = spawn(process.execPath, [`examples/${script}`], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: 'pipe',
  });
  const lines: string[] = [];
  const watchers = new Set<{ match: (line: string) => boolean; resolve: (line: string) => void }>();
  let partial = '';
  let err = '';
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      for (const w of watchers) {
        if (w.match(line)) {
          watchers.delete(w);
          w.resolve(line);
        }
      }
    }
  });
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (chunk: string) => {
    err += chunk;
  });
  const waitForLine = (match: (line: string) => boolean, timeoutMs = 15_000) => {
    const seen = lines.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        watchers.delete(watcher);
        reject(new Error(`No matching line from ${script} within ${timeoutMs} ms; stderr: ${err}`));
      }, timeoutMs);
      const watcher = {
        match,
        resolve: (line: string) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      watchers.add(watcher);
      proc.once('exit', () => {
        if (!watchers.delete(watcher)) return;
        clearTimeout(timer);
        reject(new Error(`${script} exited; stderr: ${err}`));
      });
    });
  };
  // PORT=0: the system picks a free port, and the example prints the one it got.
  const listening = await waitForLine((line) => line.startsWith('listening on '));
  const port = /:(\d+)\//.exec(listening)![1];
  return { proc, lines, url: `http://127.0.0.1:${port}/webhooks`, waitForLine, stderr: () => err };
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
