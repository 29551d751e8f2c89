// A webhook receiver on Express 5: verifies the Standard Webhooks signature,
// ignores duplicates, answers at once and does the work afterwards.
//
// Run it (in this repo, after `npm run build`; in your app, after
// `npm install hookline express`):
//
//   WEBHOOK_SECRET=whsec_... PORT=3000 node examples/receiver-express.mjs
//
// then register http://localhost:3000/webhooks as an endpoint with that secret.
// While a secret rotates, set WEBHOOK_SECRET to both, space-separated: either verifies.
import express from 'express';
import { verifyWebhook } from 'hookline';

const secrets = (process.env.WEBHOOK_SECRET ?? '').split(/\s+/).filter(Boolean);
if (secrets.length === 0) {
  console.error('Set WEBHOOK_SECRET to the endpoint secret (whsec_...)');
  process.exit(1);
}
const port = Number(process.env.PORT ?? 3000);

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

const app = express();

// express.raw, not express.json: the signature covers the exact bytes sent.
// express.json() would hand over a parsed object, and serializing it again
// (other spacing, key order, escaping) gives other bytes, which no longer
// match. raw() leaves req.body as the Buffer received. Mount it on this route
// only, before any app-wide JSON parser can consume the body.
app.post('/webhooks', express.raw({ type: 'application/json', limit: '1mb' }), (req, res) => {
  // Without a JSON content type raw() does not run and req.body is undefined.
  if (!Buffer.isBuffer(req.body)) {
    res.status(400).type('text/plain').send('expected an application/json body');
    return;
  }
  let event;
  try {
    event = verifyWebhook({ secret: secrets, headers: req.headers, body: req.body });
  } catch (error) {
    // A WebhookVerificationError: ERR_VERIFY_NO_MATCH, ERR_VERIFY_TOO_OLD, ...
    res
      .status(400)
      .type('text/plain')
      .send(error.code ?? 'bad request');
    return;
  }
  // Only after verifying: an unsigned request must not be able to mark an id as seen.
  const isNew = firstTime(event.id);
  // Answer first: the sender waits for this answer (15 s by default) and
  // retries on a timeout, so slow work here would cause duplicate deliveries.
  res.status(204).end();
  if (!isNew) return; // a duplicate: acknowledged, not processed again
  // Work that fails now is not retried by the sender (it got its 204). In
  // production, store the event or queue a job before answering, and work from there.
  setImmediate(() => {
    handle(event).catch((error) => console.error(`failed ${event.id}:`, error));
  });
});

const server = app.listen(port, (error) => {
  if (error) throw error;
  console.log(`listening on http://localhost:${server.address().port}/webhooks`);
});
