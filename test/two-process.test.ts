import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebhookSender } from '../src/index.js';
import { ensureBuilt } from './helpers/build.js';
import { type Child, startChild } from './helpers/child.js';
import { type Receiver, startReceiver } from './helpers/receiver.js';
import { tempDir } from './helpers/tmp.js';

// Two live processes on one SQLite file: claims are atomic, so together they
// deliver every event, and no event twice.

const EVENTS = 500;
const tmp = tempDir();
const children: Child[] = [];
let receiver: Receiver;

beforeAll(() => ensureBuilt(), 180_000);
afterAll(async () => {
  for (const child of children) child.proc.kill('SIGKILL');
  await receiver?.close();
  tmp.cleanup();
});

it('two senders on one file deliver every event exactly once', async () => {
  // Slow enough answers that both processes are at work at the same time.
  receiver = await startReceiver((_req, res) => {
    setTimeout(() => res.writeHead(200).end(), 10);
  });
  const file = tmp.file();
  const setup = new WebhookSender({ database: file, allowPrivateNetworks: true, autoStart: false });
  // The endpoint's concurrency is shared by both processes: room for each one's 8 slots.
  setup.endpoints.add({ url: receiver.url, concurrency: 16 });
  const emitted = new Set<string>();
  for (let i = 0; i < EVENTS; i++) emitted.add(setup.emit('two.process', { i }).id);
  await setup.close();

  const started = performance.now();
  const pair = [0, 1].map(() =>
    startChild({ mode: 'serve', database: file, pollInterval: 50, concurrency: 8 }),
  );
  children.push(...pair);
  await Promise.all(pair.map((child) => child.waitForLine((line) => line === 'ready')));
  for (const child of pair) child.send('start');
  const reports = await Promise.all(
    pair.map(async (child) =>
      JSON.parse((await child.waitForLine((l) => l.startsWith('done '), 45_000)).slice(5)),
    ),
  );
  for (const child of pair) expect(await child.exited).toEqual({ code: 0, signal: null });

  const ids = receiver.requests.map((r) => r.headers['webhook-id'] as string);
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  const twice = [...counts].filter(([, n]) => n > 1);
  expect(twice).toEqual([]);
  expect(ids).toHaveLength(EVENTS);
  expect(new Set(ids)).toEqual(emitted);
  // Both took part.
  expect(reports[0].delivered + reports[1].delivered).toBe(EVENTS);
  expect(reports[0].delivered).toBeGreaterThan(0);
  expect(reports[1].delivered).toBeGreaterThan(0);

  const check = new WebhookSender({ database: file, autoStart: false });
  try {
    expect(check.stats()).toMatchObject({ succeeded: EVENTS, pending: 0, sending: 0, failed: 0 });
    const page = check.deliveries.list({ limit: 1000 });
    expect(page.items.every((d) => d.attemptCount === 1)).toBe(true);
  } finally {
    await check.close();
  }
  console.info(
    `two-process: ${EVENTS} events in ${Math.round(performance.now() - started)} ms, ` +
      `split ${reports[0].delivered}/${reports[1].delivered}`,
  );
}, 60_000);
