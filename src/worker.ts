// The delivery engine's worker thread (`engine: 'worker'`): its own connection to the database file,
// the claim loop, the attempts, the result writes. The sender on the application's thread talks to it
// over messages (src/engine/worker/protocol.ts).
import { parentPort, workerData } from 'node:worker_threads';
import type { Notify, SenderEvents } from './engine/notices.js';
import { hostLookup, hostRetry, hostTracer, toWire } from './engine/worker/hooks.js';
import type { FromWorker, ToWorker, WorkerConfig } from './engine/worker/protocol.js';
import { resolveOptions } from './shared/options.js';

const port = parentPort!;
const config = workerData as WorkerConfig;
const post = (message: FromWorker) => port.postMessage(message);

let heard = new Set(config.heard);
let out: [keyof SenderEvents, unknown][] = [];
let flushQueued = false;
let reportedInFlight = 0;
let inFlight = () => 0;
// Events go over batched, once per turn of this thread's event loop.
const flush = () => {
  flushQueued = false;
  reportedInFlight = inFlight();
  const events = out;
  out = [];
  post({ t: 'events', events, inFlight: reportedInFlight });
};
const queueFlush = () => {
  if (flushQueued) return;
  flushQueued = true;
  setImmediate(flush);
};
const notify: Notify = (name, ...args) => {
  out.push([name, name === 'error' ? toWire(args[0]) : args[0]]);
  queueFlush();
};

const lookups = config.hostLookup ? hostLookup(port) : null;
const spans = config.hostTrace ? hostTracer(port) : null;
// The store is the worker's own (config.store); `database` here is only what `resolveOptions` needs.
const o = resolveOptions({
  ...config.options,
  database: ':memory:',
  engine: 'inline',
  retry: config.retry === 'host' ? hostRetry(port, config.retrySlot) : config.retry,
  lookup: lookups?.lookup,
  autoStart: false,
});
/** Builds the engine on the worker's own connection, then serves the sender's messages. */
async function main(): Promise<void> {
  const bus = { listening: (name: keyof SenderEvents) => heard.has(name), notify };
  const built =
    config.store.kind === 'sqlite'
      ? (await import('./worker/sqlite.js')).sqliteWorkerEngine(
          config.store.file,
          config.store.tablePrefix,
          config.store.gate,
          { options: o, bus, tracer: spans?.tracer },
        )
      : (await import('./worker/postgres.js')).postgresWorkerEngine(
          config.store.connection,
          config.store.schema,
          { options: o, bus, tracer: spans?.tracer },
        );
  const { engine } = built;
  inFlight = () => engine.inFlightCount;
  // A crashed worker's attempts are not in flight any more: its rows go back now, not when their leases end.
  if (config.takeOver !== null) await built.release(config.takeOver);
  // stats().inFlight on the application's thread follows this one's, a few times a second.
  setInterval(() => {
    if (engine.inFlightCount !== reportedInFlight) queueFlush();
  }, 100).unref();

  port.on('message', (message: ToWorker) => {
    switch (message.t) {
      case 'due':
        for (const [endpointId, at] of message.due) engine.scheduled(endpointId ?? undefined, at);
        if (message.queued) engine.queued();
        sayWhenIdle(message.seq);
        return;
      case 'reset':
        engine.resetHealth(message.endpointId);
        return;
      case 'heard':
        heard = new Set(message.heard);
        return;
      case 'drain':
        void engine.drain().then(() => {
          flush();
          post({ t: 'drained', id: message.id });
        });
        return;
      case 'close':
        void (async () => {
          await engine.close(message.timeout);
          flush();
          await built.close();
          post({ t: 'closed' });
          port.close();
        })();
        return;
      case 'lookup':
        lookups?.answer(message);
        return;
      case 'span':
        spans?.answer(message);
        return;
    }
  });

  /**
   * Tells the host once nothing is due now and nothing is in flight, as of the latest due hints
   * (it then lets the process exit). One watch at a time: a steady stream of hints adds none.
   */
  let latestSeq = 0;
  let watching = false;
  const sayWhenIdle = (seq: number) => {
    latestSeq = Math.max(latestSeq, seq);
    if (watching) return;
    watching = true;
    // Idle as of the hints applied when this watch began: hints that came during it get a watch of their own.
    const covered = latestSeq;
    void engine.drain().then(() => {
      watching = false;
      if (latestSeq > covered) return sayWhenIdle(latestSeq);
      // The events first: once the host hears `idle` it lets the process exit, and a 'delivered'
      // still on its way would be lost to a script awaiting it.
      flush();
      post({ t: 'idle', seq: covered });
    });
  };

  engine.start();
  post({ t: 'ready', owner: built.owner });
  sayWhenIdle(0);
}

void main();
