import type { MessagePort } from 'node:worker_threads';
import type { WebhookError } from '../../shared/errors/base.js';
import type { LookupFunction } from '../../shared/lookup.js';
import { invalidRetryDelay, type RetryFunction } from '../../shared/retry.js';
import type { AttemptTracer } from '../trace-port.js';
import { type FromWorker, RetryAnswer, retrySlot, type ToWorker, type WireError } from './protocol.js';

/** How long an attempt waits for the application's retry function, in ms. */
const RETRY_ANSWER_MS = 30_000;

/**
 * The application's retry function, called on its thread. The worker waits
 * for the answer (an attempt's verdict needs it), so a retry function costs a
 * round trip to the application's thread, during which this worker does nothing else.
 */
export function hostRetry(port: MessagePort, slot: SharedArrayBuffer): RetryFunction {
  const { state, delay, text } = retrySlot(slot);
  return (context) => {
    Atomics.store(state, 0, 0);
    port.postMessage({ t: 'retry', context } satisfies FromWorker);
    if (Atomics.wait(state, 0, 0, RETRY_ANSWER_MS) === 'timed-out') {
      throw new Error(
        `it did not answer within ${RETRY_ANSWER_MS / 1000} s (is the application's thread blocked?)`,
      );
    }
    const message = Buffer.from(text.subarray(0, state[2])).toString('utf8');
    switch (state[1]) {
      case RetryAnswer.none:
        return null;
      case RetryAnswer.delay:
        return delay[0]!;
      case RetryAnswer.threw:
        throw new Error(message);
      default:
        throw invalidRetryDelay(message, context);
    }
  };
}

/**
 * The application's `lookup`, called on its thread. Its answer comes back as it
 * gave it and goes to the SSRF guard (`guardedLookup`, the only caller), which
 * reads every shape a resolver may answer and checks each address.
 */
export function hostLookup(port: MessagePort): {
  lookup: LookupFunction;
  answer: (message: Extract<ToWorker, { t: 'lookup' }>) => void;
} {
  let nextId = 1;
  const pending = new Map<number, Parameters<LookupFunction>[2]>();
  const lookup: LookupFunction = (hostname, options, callback) => {
    const id = nextId++;
    pending.set(id, callback);
    port.postMessage({
      t: 'lookup',
      id,
      hostname,
      family: familyNumber(options.family),
    } satisfies FromWorker);
  };
  const answer = ({ id, error, address, family }: Extract<ToWorker, { t: 'lookup' }>) => {
    const callback = pending.get(id);
    pending.delete(id);
    const failure = error === null ? null : Object.assign(new Error(error.message), { code: error.code });
    (callback as ((...args: unknown[]) => void) | undefined)?.(failure, address, family);
  };
  return { lookup, answer };
}

/**
 * The application's tracing, on its thread: an attempt's span is started there before the request
 * (one message round trip, during which this attempt waits and the others go on) and ended after.
 */
export function hostTracer(port: MessagePort): {
  tracer: AttemptTracer;
  answer: (message: Extract<ToWorker, { t: 'span' }>) => void;
} {
  let nextId = 1;
  const pending = new Map<number, (headers: Record<string, string>) => void>();
  const tracer: AttemptTracer = {
    start(start) {
      const id = nextId++;
      const started = new Promise<Record<string, string>>((resolve) => pending.set(id, resolve));
      port.postMessage({ t: 'span', id, start } satisfies FromWorker);
      return started.then((headers) => ({
        headers,
        end: (end) => port.postMessage({ t: 'span-end', id, end } satisfies FromWorker),
      }));
    },
  };
  const answer = ({ id, headers }: Extract<ToWorker, { t: 'span' }>) => {
    pending.get(id)?.(headers);
    pending.delete(id);
  };
  return { tracer, answer };
}

/** Calls the application's lookup for the worker and posts its answer back, as it gave it. */
export function answerLookup(
  lookup: LookupFunction,
  post: (message: ToWorker) => void,
  { id, hostname, family }: Extract<FromWorker, { t: 'lookup' }>,
): void {
  const reply = (error: NodeJS.ErrnoException | null, address?: unknown, answered?: unknown) => {
    const failure = error ? { code: error.code, message: error.message } : null;
    try {
      post({ t: 'lookup', id, error: failure, address, family: answered });
    } catch {
      // Not data (it cannot be copied to the worker): the guard refuses it as no address list.
      post({ t: 'lookup', id, error: failure, address: null, family: null });
    }
  };
  try {
    lookup(hostname, { all: true, family }, reply as never);
  } catch (error) {
    reply(error as NodeJS.ErrnoException, []);
  }
}

/** A WebhookError as it crosses to the application's thread (its class does not). */
export function toWire(error: unknown): WireError {
  const e = error as WebhookError;
  const wire: WireError = { code: e?.code ?? 'ERR_DISPATCH', message: e?.message ?? String(error) };
  if (e?.endpointId !== undefined) wire.endpointId = e.endpointId;
  if (e?.deliveryId !== undefined) wire.deliveryId = e.deliveryId;
  if (e?.eventId !== undefined) wire.eventId = e.eventId;
  return wire;
}

function familyNumber(family: number | 'IPv4' | 'IPv6' | undefined): number {
  if (family === 'IPv4') return 4;
  if (family === 'IPv6') return 6;
  return family ?? 0;
}
