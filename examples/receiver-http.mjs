// A webhook receiver on plain node:http: verifies the Standard Webhooks
// signature, ignores duplicates, answers at once and does the work afterwards.
//
// Run it (in this repo, after `npm run build`; in your app, after `npm install hookline`):
//
//   WEBHOOK_SECRET=whsec_... PORT=3000 node examples/receiver-http.mjs
//
// then register http://localhost:3000/webhooks as an endpoint with that secret.
// While a secret rotates, set WEBHOOK_SECRET to both, space-separated: either verifies.
import http from 'node:http';
import { verifyWebhook } from 'hookline';

const secrets = (process.env.WEBHOOK_SECRET ?? '').split(/\s+/).filter(Boolean);
if (secrets.length === 0) {
  console.error('Set WEBHOOK_SECRET to the endpoint secret (whsec_...)');
  process.exit(1);
}
const port = Number(process.env.PORT ?? 3000);
const MAX_BODY_BYTES = 1024 * 1024;

// Delivery is at-least-once: the same event can arrive twice (a retry after a
// lost answer, a replay). webhook-id is the same every time, so remember it.
// In memory and bounded here; in production use your database (a table with
// webhook-id as its primary key, written in the same transaction as the work).
const MAX_SEEN = 10_000;
const seen = new Set();
function firstTime(id) {
  if (seen.has(id)) return false;
  seen.add(id);
  // A Set iterates in insertion order: drop the oldest id.
  if (seen.size > MAX_SEEN) seen.delete(seen.values().next().value);
  return true;
}

async function handle(event) {
  // The real work: update the order, send the e-mail...
  console.log(`processed ${event.id} ${event.type}`);
}

const server = http.createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/webhooks') {
    res.writeHead(404).end();
    return;
  }
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  });
  req.on('end', () => {
    if (size > MAX_BODY_BYTES) {
      res.writeHead(413).end();
      return;
    }
    let event;
    try {
      // The raw bytes, exactly as received: a parsed and re-serialized body no longer matches.
      event = verifyWebhook({ secret: secrets, headers: req.headers, body: Buffer.concat(chunks) });
    } catch (error) {
      // A WebhookVerificationError: ERR_VERIFY_NO_MATCH, ERR_VERIFY_TOO_OLD, ...
      res.writeHead(400, { 'content-type': 'text/plain' }).end(error.code ?? 'bad request');
      return;
    }
    // Only after verifying: an unsigned request must not be able to mark an id as seen.
    const isNew = firstTime(event.id);
    // Answer first: the sender waits for this answer (15 s by default) and
    // retries on a timeout, so slow work here would cause duplicate deliveries.
    res.writeHead(204).end();
    if (!isNew) return; // a duplicate: acknowledged, not processed again
    // Work that fails now is not retried by the sender (it got its 204). In
    // production, store the event or queue a job before answering, and work from there.
    setImmediate(() => {
      handle(event).catch((error) => console.error(`failed ${event.id}:`, error));
    });
  });
});

server.listen(port, () => {
  console.log(`listening on http://localhost:${server.address().port}/webhooks`);
});
