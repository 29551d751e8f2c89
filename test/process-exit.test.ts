import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookSender } from '../src/index.js';
import { PgWebhookSender } from '../src/postgres/index.js';
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
function emitAndLeave(construct: string, emit: string): Child {
  const source = `
import { WebhookSender } from ${JSON.stringify(distEntry)};
import { PgWebhookSender } from ${JSON.stringify(distEntry.replace(/index\.js$/, 'postgres.js'))};
const sender = ${construct};
console.log((${emit}).id);
// The script's own work goes on a moment: long enough for every thread, connection and timer
// hookline starts to be up (a script that ends at once can exit before a worker's port is open).
await new Promise((resolve) => setTimeout(resolve, 500));
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
