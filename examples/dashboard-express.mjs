// The dashboard mounted under /ops in an Express 5 application, after the application's own
// authentication middleware (a bearer token here): the dashboard sees only logged-in users and asks
// `authorize` whether this one may press a button.
//
// Run it (in this repo, after `npm run build`; in your app, after `npm install hookline express`):
//
//   HOOKLINE_DB=webhooks.db DASHBOARD_TOKEN=... PORT=3000 node examples/dashboard-express.mjs
import express from 'express';
import { WebhookSender } from 'hookline';
import { dashboard } from 'hookline/dashboard';

const token = process.env.DASHBOARD_TOKEN ?? '';
if (token === '') {
  console.error('Set DASHBOARD_TOKEN');
  process.exit(1);
}
const sender = new WebhookSender({ database: process.env.HOOKLINE_DB ?? 'webhooks.db' });
const app = express();
// The application's own body parser may run first: the dashboard reads the form it parsed.
app.use(express.urlencoded({ extended: false }));

function login(req, res, next) {
  const cookie = /(?:^|;\s*)session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
  if (req.headers.authorization === `Bearer ${token}` || cookie === token) return next();
  res.status(401).send('log in first');
}

// Express strips /ops from req.url and keeps it in req.baseUrl: no basePath is needed.
app.use('/ops', login, dashboard({ sender, authorize: () => true }));

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}/ops/`);
});
process.on('SIGTERM', () => server.close(() => void sender.close()));
