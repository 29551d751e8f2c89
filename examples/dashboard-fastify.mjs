// The dashboard mounted under /ops in a Fastify 5 application. The dashboard is a node:http
// handler: an onRequest hook hands it the raw request and response (`reply.hijack()`), before
// Fastify parses the body, after the application checked who is asking.
//
// Run it (in this repo, after `npm run build`; in your app, after `npm install hookline fastify`):
//
//   HOOKLINE_DB=webhooks.db DASHBOARD_TOKEN=... PORT=3000 node examples/dashboard-fastify.mjs
import Fastify from 'fastify';
import { WebhookSender } from 'hookline';
import { dashboard } from 'hookline/dashboard';

const token = process.env.DASHBOARD_TOKEN ?? '';
if (token === '') {
  console.error('Set DASHBOARD_TOKEN');
  process.exit(1);
}
const sender = new WebhookSender({ database: process.env.HOOKLINE_DB ?? 'webhooks.db' });
const ops = dashboard({ sender, basePath: '/ops', authorize: () => true });
const app = Fastify();

app.addHook('onRequest', (request, reply, done) => {
  if (request.url !== '/ops' && !request.url.startsWith('/ops/')) return done();
  const cookie = /(?:^|;\s*)session=([^;]+)/.exec(request.headers.cookie ?? '')?.[1];
  if (request.headers.authorization !== `Bearer ${token}` && cookie !== token) {
    reply.code(401).send('log in first');
    return;
  }
  reply.hijack();
  ops(request.raw, reply.raw);
});

const address = await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
console.log(`listening on ${address}/ops/`);
process.on('SIGTERM', () => void app.close().then(() => sender.close()));
