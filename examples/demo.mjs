// The whole path in one program: a receiver on localhost that fails the first
// try, a sender that emits, retries and delivers, and the log of every attempt.
// Run it with `npm run demo`; it ends with the dashboard's URL.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { verifyWebhook, WebhookSender } from 'hookline';
import { dashboard } from 'hookline/dashboard';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hookline-demo-'));
const seen = new Map();

// The receiver: verifies the signature, fails the first request of each event, accepts the retry.
const receiver = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const event = verifyWebhook({
      secret: endpoint.secret,
      headers: req.headers,
      body: Buffer.concat(chunks),
    });
    const tries = (seen.get(event.id) ?? 0) + 1;
    seen.set(event.id, tries);
    const status = tries === 1 ? 503 : 200;
    console.log(`  receiver: ${event.type} ${event.id} try ${tries} -> ${status}`);
    res.writeHead(status).end(status === 200 ? 'thanks' : 'busy, try later');
  });
});
await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${receiver.address().port}/webhooks`;

const sender = new WebhookSender({
  database: path.join(dir, 'webhooks.db'),
  allowPrivateNetworks: true, // the receiver is on localhost
  retry: [300, 1000], // short delays for the demo; the default is Svix's schedule over 27 h
});
const endpoint = sender.endpoints.add({ url, events: ['order.*'], description: 'demo receiver' });
console.log(`endpoint ${endpoint.id} -> ${url}`);

sender.on('retrying', (n) =>
  console.log(`  sender: ${n.deliveryId} failed (${n.statusCode}), retry at ${n.nextAttemptAt}`),
);
let settled = 0;
const allSettled = new Promise((resolve) => {
  const done = () => ++settled === 3 && resolve();
  sender.on('delivered', (n) => {
    console.log(`  sender: ${n.deliveryId} delivered after ${n.attempts} attempts`);
    done();
  });
  sender.on('failed', (n) => {
    console.log(`  sender: ${n.deliveryId} gave up after ${n.attempts} attempts`);
    done();
  });
});

for (const id of [1, 2, 3]) {
  const event = sender.emit('order.created', { orderId: id, total: 10 * id });
  console.log(`emitted ${event.type} ${event.id} to ${event.deliveries} endpoint(s)`);
}

// drain() waits for what is due now; the retries are scheduled later, so wait for the outcomes.
await allSettled;

console.log('\nthe log:');
for (const delivery of sender.deliveries.list({ endpointId: endpoint.id }).items.reverse()) {
  const { attempts } = sender.deliveries.get(delivery.id);
  console.log(`${delivery.id} ${delivery.eventType} ${delivery.status}`);
  for (const a of attempts) {
    console.log(
      `  attempt ${a.number}: HTTP ${a.statusCode} in ${a.durationMs} ms, body ${JSON.stringify(a.responseBody)}`,
    );
  }
}
console.log('\nstats:', sender.stats());

// The same outbox in the dashboard (hookline/dashboard), with its buttons: on a terminal it stays up
// until Ctrl-C; elsewhere (CI, a pipe) the demo ends here.
const ops = dashboard({ sender, authorize: () => true });
const board = http.createServer((req, res) => ops(req, res));
await new Promise((resolve) => board.listen(Number(process.env.DASHBOARD_PORT ?? 0), '127.0.0.1', resolve));
console.log(`\ndashboard: http://127.0.0.1:${board.address().port}/`);
if (process.stdout.isTTY) {
  console.log('(open it in a browser; Ctrl-C to stop)');
  await new Promise((resolve) => process.once('SIGINT', resolve));
}

board.close();
await sender.close();
receiver.close();
fs.rmSync(dir, { recursive: true, force: true });
