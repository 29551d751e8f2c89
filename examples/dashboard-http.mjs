// The dashboard mounted under /ops in a plain node:http server, behind the application's own login
// (HTTP Basic here): everyone logged in may look, only the admin may press the buttons.
//
// Run it (in this repo, after `npm run build`; in your app, after `npm install hookline`):
//
//   HOOKLINE_DB=webhooks.db DASHBOARD_PASSWORD=... PORT=3000 node examples/dashboard-http.mjs
//
// then open http://localhost:3000/ops/ (user `admin` or `viewer`, that password).
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { WebhookSender } from 'hookline';
import { dashboard } from 'hookline/dashboard';

const password = process.env.DASHBOARD_PASSWORD ?? '';
if (password === '') {
  console.error('Set DASHBOARD_PASSWORD');
  process.exit(1);
}
const sender = new WebhookSender({ database: process.env.HOOKLINE_DB ?? 'webhooks.db' });

/** The user of a request with the right Basic credentials, or null. */
function userOf(req) {
  const [scheme, encoded] = (req.headers.authorization ?? '').split(' ');
  if (scheme !== 'Basic' || encoded === undefined) return null;
  const text = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  const [user, given] = [text.slice(0, colon), Buffer.from(text.slice(colon + 1))];
  const ok = given.length === Buffer.byteLength(password) && timingSafeEqual(given, Buffer.from(password));
  return ok && (user === 'admin' || user === 'viewer') ? user : null;
}

const ops = dashboard({
  sender,
  basePath: '/ops',
  // Called for every page ('view') and every button ('retry', 'recover', 'replay', 'enable', 'disable').
  authorize: (req, action) => action === 'view' || userOf(req) === 'admin',
});

const server = http.createServer((req, res) => {
  if (req.url === '/ops' || req.url.startsWith('/ops/')) {
    if (userOf(req) === null) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="webhooks"' }).end();
      return;
    }
    return ops(req, res);
  }
  res.writeHead(404).end();
});
server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}/ops/`);
});
process.on('SIGTERM', () => server.close(() => void sender.close()));
