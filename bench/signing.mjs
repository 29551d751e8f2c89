// Signing cost per attempt: what buildHeaders pays to sign a 1 KB body with one
// secret, and with two while a secret rotates, next to the public signWebhook()
// (which also parses and checks the secret on every call) and a bare
// node:crypto HMAC of the body, the floor. Median over several runs of N calls.
import { createHmac } from 'node:crypto';
import { generateSecret, signWebhook } from 'hookline';
import { fmt, median, payloadOfKb, quick } from './lib.mjs';

const N = quick ? 1_000 : 100_000;
const RUNS = quick ? 3 : 7;

// The body exactly as the dispatcher builds it around a 1 KB payload.
const id = 'evt_2Yq8x9ZkP3mN7vB4cT1wQ';
const body = `{"id":${JSON.stringify(id)},"type":"order.created","timestamp":"${new Date().toISOString()}","data":${JSON.stringify(payloadOfKb(1))}}`;
const secrets = [generateSecret(), generateSecret()];
// The dispatcher parses each endpoint's secret once (endpoint cache), not per attempt.
const keys = secrets.map((s) => Buffer.from(s.slice('whsec_'.length), 'base64'));

// signPayload() is internal, so its two lines are repeated here as they are in src/shared/signature.ts.
const signPayload = (key, timestamp) =>
  `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest().toString('base64')}`;

let sink = 0;
const cases = [
  ['node:crypto createHmac of the body (floor)', () => createHmac('sha256', keys[0]).update(body).digest()],
  [
    'buildHeaders signing, 1 signature',
    () => {
      const timestamp = Math.floor(Date.now() / 1000);
      return signPayload(keys[0], timestamp);
    },
  ],
  [
    'buildHeaders signing, 2 signatures (rotating)',
    () => {
      const timestamp = Math.floor(Date.now() / 1000);
      return `${signPayload(keys[0], timestamp)} ${signPayload(keys[1], timestamp)}`;
    },
  ],
  ['signWebhook(), 1 secret (parses it per call)', () => signWebhook({ id, body, secret: secrets[0] })],
  ['signWebhook(), 2 secrets', () => signWebhook({ id, body, secret: secrets })],
];

/** µs per call over `n` calls. */
function run(fn, n) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) sink += fn().length;
  return Number(process.hrtime.bigint() - start) / 1000 / n;
}

// Warm up every case, then interleave the runs so drift (turbo, other load) hits all alike.
for (const [, fn] of cases) run(fn, Math.max(100, N / 10));
const samples = cases.map(() => []);
for (let r = 0; r < RUNS; r++) {
  cases.forEach(([, fn], i) => {
    samples[i].push(run(fn, N));
  });
}

console.log(
  `\nsigning (body ${Buffer.byteLength(body)} bytes; median of ${RUNS} runs x ${N} calls; Node ${process.version})`,
);
console.log('| case | µs/call (median) | min | max | calls/s |');
console.log('|---|---:|---:|---:|---:|');
cases.forEach(([name], i) => {
  const s = samples[i];
  const m = median(s);
  console.log(
    `| ${name} | ${fmt(m, 2)} | ${fmt(Math.min(...s), 2)} | ${fmt(Math.max(...s), 2)} | ${fmt(1e6 / m, 0)} |`,
  );
});
if (sink === -1) console.log(sink); // keeps the results alive
