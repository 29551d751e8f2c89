import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboard } from '../src/dashboard/index.js';
import { WebhookSender } from '../src/index.js';
import { startReceiver } from './helpers/receiver.js';
import { tempDir } from './helpers/tmp.js';

// The dashboard in a real browser: Debian's Chromium (`apt-get install chromium`, which .ci/run
// does through .ci/browser.sh) driven by playwright-core, which downloads no browser of its own.

const CHROMIUM = process.env.HOOKLINE_CHROMIUM ?? '/usr/bin/chromium';
const HOSTILE = '<script>window.pwned=1</script><img src=x onerror=window.pwned=2>';
const tmp = tempDir();
let browser: Browser;

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM}: install Debian's package (bash .ci/browser.sh, or apt-get install chromium), or set HOOKLINE_CHROMIUM`,
    );
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  tmp.cleanup();
});

describe('the dashboard in Chromium', () => {
  it('overview, event search, a delivery, retry and its new attempt; a hostile payload stays text', async () => {
    let status = 500;
    const receiver = await startReceiver((_req, res) =>
      res.writeHead(status).end(status === 200 ? 'thanks' : HOSTILE),
    );
    const sender = new WebhookSender({
      database: tmp.file('browser.db'),
      allowPrivateNetworks: true,
      retry: [],
      circuitBreaker: false,
      engine: 'inline',
    });
    const server = http.createServer(dashboard({ sender, basePath: '/ops', authorize: () => true }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ops`;
    const page = await browser.newPage();
    const dialogs: string[] = [];
    const errors: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('response', (r) => {
      if (r.status() >= 400) errors.push(`${r.status()} ${r.url()}`);
    });
    try {
      sender.endpoints.add({ url: receiver.url, events: ['order.*'] });
      const event = sender.emit('order.created', { note: HOSTILE });
      sender.emit('user.created', { other: true });
      await sender.drain();

      await page.goto(`${base}/`);
      await expect.poll(() => page.locator('h1').textContent()).toBe('Overview');
      expect(await page.locator('figure.chart svg').count()).toBe(2);
      expect(await page.locator('figure.chart rect.fail').count()).toBeGreaterThan(0);

      await page.click('nav >> text=Events');
      await page.fill('input[name=type]', 'order.created');
      await page.click('form.search button');
      const rows = page.locator('tbody tr');
      expect(await rows.count()).toBe(1);
      await page.click(`a:text("${event.id}")`);
      expect(await page.locator('pre.payload').textContent()).toContain(HOSTILE);

      await page.click('tbody a[href*="/deliveries/"]');
      expect(await page.locator('dd .status').first().textContent()).toBe('failed');
      expect(await page.locator('pre.body').textContent()).toBe(HOSTILE);
      expect(await page.locator('img').count()).toBe(0);

      status = 200;
      await page.click('button:text("Retry now")');
      expect(await page.locator('.flash').textContent()).toBe('The delivery is scheduled now.');
      await sender.drain();
      await page.reload();
      expect(await page.locator('section.attempt h2').allTextContents()).toEqual([
        expect.stringMatching(/^Attempt 1 · 500 · /),
        expect.stringMatching(/^Attempt 2 · 200 · /),
      ]);
      expect(await page.locator('dd .status').first().textContent()).toBe('succeeded');

      // Nothing of the hostile text ran: no script, no handler, no dialog; the CSP had nothing to block.
      expect(await page.evaluate(() => (globalThis as { pwned?: number }).pwned)).toBeUndefined();
      expect(dialogs).toEqual([]);
      expect(errors, errors.join('\n')).toEqual([]);
    } finally {
      await page.close();
      server.close();
      await sender.close();
      await receiver.close();
    }
  });
});
