import type { LookupAddress } from 'node:dns';
import type { MessagePort } from 'node:worker_threads';
import { WebhookError } from '../../shared/errors/base.js';
import type { LookupFunction } from '../../shared/lookup.js';
import type { RetryFunction } from '../../shared/retry.js';
import type { FromWorker, ToWorker, WireError } from './protocol.js';

/** How long an attempt waits for the application's retry function, in ms. */
const RETRY_ANSWER_MS = 30_000;

/**
 * The application's retry function, called on its thread. The worker waits
 * for the answer (an attempt's verdict needs it), so a retry function costs a
 * round trip to the application's thread, during which this worker does nothing else.
 */
export function hostRetry(port: MessagePort, slot: SharedArrayBuffer): RetryFunction {
  const header = new Int32Array(slot, 0, 4);
  const delay = new Float64Array(slot, 16, 1);
  const text = new Uint8Array(slot, 24);
  return (context) => {
    Atomics.store(header, 0, 0);
    port.postMessage({ t: 'retry', context } satisfies FromWorker);
    if (Atomics.wait(header, 0, 0, RETRY_ANSWER_MS) === 'timed-out') {
      throw new Error(
        `it did not answer within ${RETRY_ANSWER_MS / 1000} s (is the application's thread blocked?)`,
      );
    }
    const message = Buffer.from(text.subarray(0, header[2])).toString('utf8');
    switch (header[1]) {
      case 0:
        return null;
      case 1:
        return delay[0]!;
      case 2:
        throw new Error(message);
      default:
        throw new WebhookError(
          'ERR_INVALID_RETRY_DELAY',
          `The retry function returned ${message}; expected a delay in ms >= 0 or null. The delivery is given up`,
          { endpointId: context.endpointId, deliveryId: context.deliveryId, eventId: context.event.id },
        );
    }
  };
}

/** The application's `lookup`, called on its thread; its answer is checked here by the SSRF guard. */
export function hostLookup(port: MessagePort): {
  lookup: LookupFunction;
  answer: (message: Extract<ToWorker, { t: 'lookup' }>) => void;
} {
  let nextId = 1;
  const pending = new Map<number, (error: Error | null, address: LookupAddress[]) => void>();
  const lookup: LookupFunction = (hostname, options, callback) => {
    const id = nextId++;
    pending.set(id, (error, list) => {
      if (error !== null) callback(error, '', 0);
      else if (options.all) callback(null, list);
      else if (list[0] === undefined)
        callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
      else callback(null, list[0].address, list[0].family);
    });
    port.postMessage({
      t: 'lookup',
      id,
      hostname,
      family: familyNumber(options.family),
    } satisfies FromWorker);
  };
  const answer = (message: Extract<ToWorker, { t: 'lookup' }>) => {
    const done = pending.get(message.id);
    pending.delete(message.id);
    const error =
      message.error === null
        ? null
        : Object.assign(new Error(message.error.message), { code: message.error.code });
    done?.(error, message.address);
  };
  return { lookup, answer };
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
