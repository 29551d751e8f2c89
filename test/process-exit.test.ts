import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookSender } from '../src/index.js';
import { PgWebhookSender } from '../src/postgres.js';
import { distEntry, ensureBuilt } from './helpers/build.js';
import { type Child, spawnLines } from './helpers/child.js';
import { dropSchema, PG_URL, probePostgres, uniqueSchema } from './helpers/postgres.js';
import { type Receiver, startReceiver } from './helpers/receiver.js';
import { tempDir } from './helpers/tmp.js';

// Nothing of hookline keeps a process alive by itself: a script that emits and
// never calls close() ends when its own work ends, and what it emitted is still
// in the outbox for the next start. (The checkpoint worker's port once held such
// a process open forever.)

const tmp = tempDir();
const probe = await probePostgres();
const schemas: string[] = [];
const children: Child[] = [];
let receiver: Receiver;

beforeAll(async () => {
  ensureBuilt();
  receiver = await startReceiver();
}, 180_000);
afterAll(async () => {
  for (const child of children) child.proc.kill('SIGKILL');
  await receiver.close();
  for (const schema of schemas) await dropSchema(schema);
  tmp.cleanup();
});

/** Runs, as a file (as a user's script is: under `node -e` the same program exited even before the fix), a script that emits once and never closes. */
function emitAndLeave(construct: string, emit: string, then = ''): Child {
  const source = `
import { WebhookSender } from ${JSON.stringify(distEntry)};
import { PgWebhookSender } from ${JSON.stringify(distEntry.replace(/index\.js$/, 'postgres.js'))};
const sender = ${construct};
console.log((${emit}).id);
// The script's own work goes on a moment: long enough for every thread, connection and timer
// hookline starts to be up (a script that ends at once can exit before a worker's port is open).
await new Promise((resolve) => setTimeout(resolve, 500));
${then}
`;
  const script = tmp.file(`emit-${children.length}.mjs`);
  fs.writeFileSync(script, source);
  const child = spawnLines([script], { label: 'the emitting script', timeoutMs: 20_000 });
  children.push(child);
  return child;
}

/** The child's exit, or a failure naming what it was still waiting for after 20 s. */
async function exitOf(child: Child): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      child.proc.kill('SIGKILL');
      reject(new Error(`the script did not exit by itself within 20 s; stderr: ${child.stderr()}`));
    }, 20_000);
  });
  try {
    return await Promise.race([child.exited, hung]);
  } finally {
    clearTimeout(timer);
  }
}

describe('a script that emits and never calls close()', () => {
  it.each([
    ['with the dispatcher stopped (autoStart: false)', { autoStart: false }],
    ['with the dispatcher running', {}],
  ])('exits by itself %s, and the event is delivered on the next start', async (_name, options) => {
    const file = tmp.file(`exit-${Object.keys(options).length}.db`);
    const setup = new WebhookSender({ database: file, allowPrivateNetworks: true, autoStart: false });
    setup.endpoints.add({ url: receiver.url });
    await setup.close();

    const config = { database: file, allowPrivateNetworks: true, ...options };
    const child = emitAndLeave(
      `new WebhookSender(${JSON.stringify(config)})`,
      `sender.emit('order.created', { id: 1 })`,
    );
    const id = await child.waitForLine((line) => line.startsWith('evt_'));
    expect(await exitOf(child)).toEqual({ code: 0, signal: null });
    expect(child.stderr()).toBe('');

    const next = new WebhookSender({ database: file, allowPrivateNetworks: true });
    try {
      await next.drain();
      expect(next.stats()).toMatchObject({ pending: 0, sending: 0, failed: 0 });
    } finally {
      await next.close();
    }
    expect(receiver.requests.map((r) => r.headers['webhook-id'])).toContain(id);
  });
});

describe("a script that awaits a sender's event, on either engine", () => {
  // Work due now keeps the process up, as an inline engine's requests do: a script awaiting the
  // 'delivered' of what it emitted gets it, rather than ending with the await unsettled (exit 13).
  it.each(['worker', 'inline'])("stays up for the 'delivered' of its emit (engine: '%s')", async (engine) => {
    const slow = await startReceiver((_req, res) => {
      setTimeout(() => res.writeHead(200).end(), 800);
    });
    try {
      const file = tmp.file(`delivered-${engine}.db`);
      const setup = new WebhookSender({ database: file, allowPrivateNetworks: true, autoStart: false });
      setup.endpoints.add({ url: slow.url });
      await setup.close();
      const config = { database: file, allowPrivateNetworks: true, engine };
      const child = emitAndLeave(
        `new WebhookSender(${JSON.stringify(config)})`,
        `sender.emit('order.created', { id: 1 })`,
        `await new Promise((resolve) => sender.on('delivered', resolve)); console.log('done');`,
      );
      await child.waitForLine((line) => line.startsWith('evt_'));
      expect(await exitOf(child)).toEqual({ code: 0, signal: null });
      expect(child.lines.at(-1)).toBe('done');
    } finally {
      await slow.close();
    }
  });
});

describe('a script that awaits drain() or close()', () => {
  // Between its requests nothing of the sender holds the process (its timers are unref'd): a
  // rate limit of 2/s spaces 3 deliveries over a second with nothing in flight in the gaps,
  // and without a hold the process would end there with the await unsettled (exit code 13).
  it.each([
    ['drain() while a rate limit spaces the deliveries', 'await sender.drain(); console.log("done");', 3],
    // The bucket holds a second's worth: two go out at once, close() waits for both, the third stays pending.
    ['close() with attempts in flight', 'await sender.close(); console.log("done");', 2],
  ])('stays up for %s', async (_name, then, succeeded) => {
    const slow = await startReceiver((_req, res) => {
      setTimeout(() => res.writeHead(200).end(), 300);
    });
    try {
      const file = tmp.file(`await-${succeeded}.db`);
      const setup = new WebhookSender({ database: file, allowPrivateNetworks: true, autoStart: false });
      setup.endpoints.add({ url: slow.url, rateLimit: { perSecond: 2 } });
      await setup.close();
      const config = { database: file, allowPrivateNetworks: true, timeout: 5000 };
      const emit = Array.from({ length: 3 }, (_, i) => `sender.emit('order.created', { i: ${i} })`).join(
        ', ',
      );
      const child = emitAndLeave(`new WebhookSender(${JSON.stringify(config)})`, `[${emit}][0]`, then);
      await child.waitForLine((line) => line.startsWith('evt_'));
      expect(await exitOf(child)).toEqual({ code: 0, signal: null });
      expect(child.lines.at(-1)).toBe('done');
      const check = new WebhookSender({ database: file, autoStart: false });
      // Waited for: the 200s were recorded before the process ended.
      expect(check.stats()).toMatchObject({ succeeded, pending: 3 - succeeded, sending: 0 });
      await check.close();
    } finally {
      await slow.close();
    }
  });
});

describe.skipIf(!probe.available)(`a PostgreSQL script that never calls close() (${probe.reason})`, () => {
  it('exits by itself (idle pooled connections and the LISTEN connection do not hold it), and the event is delivered on the next start', async () => {
    const schema = uniqueSchema('exit');
    schemas.push(schema);
    const config = { connectionString: PG_URL, schema, allowPrivateNetworks: true };
    const setup = new PgWebhookSender({ ...config, autoStart: false });
    await setup.endpoints.add({ url: receiver.url });
    await setup.close();

    const child = emitAndLeave(
      `new PgWebhookSender(${JSON.stringify(config)})`,
      `await sender.emit('order.created', { id: 2 })`,
    );
    const id = await child.waitForLine((line) => line.startsWith('evt_'));
    expect(await exitOf(child)).toEqual({ code: 0, signal: null });
    expect(child.stderr()).toBe('');

    const next = new PgWebhookSender(config);
    try {
      await next.drain();
      expect(await next.stats()).toMatchObject({ pending: 0, sending: 0, failed: 0 });
    } finally {
      await next.close();
    }
    expect(receiver.requests.map((r) => r.headers['webhook-id'])).toContain(id);
  });
});
