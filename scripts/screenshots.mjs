// Takes the dashboard screenshots under docs/ (README shows one): a sender on a fresh file delivers to
// three receivers on 127.0.0.1 (one healthy, one failing with a body, one refusing connections), the
// last day's chart is filled with made-up minute counts, and Debian's Chromium (playwright-core)
// photographs the main pages. `npm run build && node scripts/screenshots.mjs`.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { chromium } from 'playwright-core';
import { dashboard } from '../dist/dashboard.js';
import { WebhookSender } from '../dist/index.js';

const out = path.join(import.meta.dirname, '..', 'docs');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hookline-shots-'));
const file = path.join(dir, 'webhooks.db');
const listen = (server) => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
const ok = await listen(http.createServer((_req, res) => res.writeHead(200).end('{"received":true}')));
const down = await listen(
  http.createServer((_req, res) =>
    res
      .writeHead(503, { 'content-type': 'application/json', 'retry-after': '120' })
      .end('{"error":"maintenance"}'),
  ),
);
const url = (server, p) => `http://127.0.0.1:${server.address().port}${p}`;

const sender = new WebhookSender({ database: file, allowPrivateNetworks: true, retry: [], engine: 'inline' });
const shop = sender.endpoints.add({
  url: url(ok, '/webhooks'),
  events: ['order.*'],
  tenant: 'acme',
  description: 'ACME shop',
});
const crm = sender.endpoints.add({
  url: url(down, '/hooks'),
  events: ['customer.*', 'order.created'],
  tenant: 'acme',
});
sender.endpoints.add({ url: 'http://127.0.0.1:9/gone', events: ['invoice.*'], tenant: 'acme' });
for (let i = 1; i <= 12; i++) {
  sender.emit('order.created', { orderId: 1000 + i, total: 19.99 * i, currency: 'EUR' }, { tenant: 'acme' });
  if (i % 3 === 0)
    sender.emit('customer.updated', { customerId: 70 + i, email: `c${i}@example.com` }, { tenant: 'acme' });
  if (i % 4 === 0) sender.emit('invoice.paid', { invoiceId: `INV-${i}` }, { tenant: 'acme' });
}
await sender.drain();
await sender.close();

// The chart of a day: a made-up daily curve, a few retries, an incident in the afternoon.
const db = new Database(file);
const now = Date.now();
const add = db.prepare(
  `INSERT INTO hookline_activity (minute, succeeded, retrying, failed) VALUES (?, ?, ?, ?)
   ON CONFLICT (minute) DO UPDATE SET succeeded = succeeded + excluded.succeeded`,
);
db.transaction(() => {
  const last = Math.floor(now / 60_000);
  for (let m = last - 1439; m <= last; m++) {
    const hour = ((m % 1440) / 60) % 24;
    const base = Math.round(40 + 30 * Math.sin(((hour - 8) / 24) * 2 * Math.PI) + (m % 7));
    const incident = m > last - 200 && m < last - 170;
    add.run(
      m,
      incident ? Math.round(base / 3) : base,
      incident ? 14 : m % 11 === 0 ? 2 : 0,
      incident ? 4 : m % 97 === 0 ? 1 : 0,
    );
  }
})();
db.close();

const app = new WebhookSender({ database: file, autoStart: false, migrate: false });
const handler = dashboard({ sender: app, basePath: '/ops', authorize: () => true });
const server = await listen(http.createServer(handler));
const base = url(server, '/ops');
const [failed] = app.deliveries.list({ status: 'failed', endpointId: crm.id }).items;

const browser = await chromium.launch({
  executablePath: process.env.HOOKLINE_CHROMIUM ?? '/usr/bin/chromium',
});
const page = await browser.newPage({ viewport: { width: 1180, height: 760 }, colorScheme: 'light' });
const shots = [
  ['dashboard-overview.png', '/'],
  ['dashboard-endpoints.png', '/endpoints'],
  ['dashboard-endpoint.png', `/endpoints/${shop.id}`],
  ['dashboard-events.png', '/events?type=order.created'],
  ['dashboard-delivery.png', `/deliveries/${failed.id}`],
];
for (const [name, p] of shots) {
  await page.goto(`${base}${p}`);
  await page.screenshot({ path: path.join(out, name), fullPage: false });
  console.log(`docs/${name}`);
}
await browser.close();
server.close();
ok.close();
down.close();
await app.close();
fs.rmSync(dir, { recursive: true, force: true });
