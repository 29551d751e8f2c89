import type { EventEmitter } from 'node:events';
import type { Notify } from '../dispatch/notices.js';
import { WebhookError } from '../errors/base.js';
import { InvalidArgumentError } from '../errors/input.js';
import { describe } from '../validate.js';

const SENDER_EVENTS = new Set<string>([
  'attempt',
  'delivered',
  'retrying',
  'failed',
  'endpoint.disabled',
  'error',
]);

/** A misspelt event name would never fire: refuse it, and a listener that is not a function. */
export function checkListener(name: unknown, listener: unknown): string {
  if (typeof name !== 'string' || !SENDER_EVENTS.has(name)) {
    throw new InvalidArgumentError(
      'name',
      `Expected an event name (${[...SENDER_EVENTS].join(', ')}), got ${describe(name)}`,
    );
  }
  if (typeof listener !== 'function') {
    throw new InvalidArgumentError(
      'listener',
      `Expected \`listener\` to be a function, got ${describe(listener)}`,
    );
  }
  return name;
}

/**
 * The sender's `notify`: emits on `bus`. A listener that throws must not break
 * the dispatcher: its error becomes an 'error' event; an 'error' nobody listens
 * to becomes a process warning. Once `closed()`, errors are dropped: a
 * background step still in flight when close() ended (a poll, say) may find the
 * pool gone, which is not news.
 */
export function createNotify(bus: EventEmitter, closed: () => boolean): Notify {
  const notify: Notify = (name, ...args) => {
    if (name === 'error') {
      if (closed()) return;
      if (bus.listenerCount('error') === 0) {
        process.emitWarning(args[0] as WebhookError);
        return;
      }
      try {
        bus.emit('error', ...args);
      } catch (error) {
        process.emitWarning(error as Error);
      }
      return;
    }
    if (bus.listenerCount(name) === 0) return;
    try {
      bus.emit(name, ...args);
    } catch (error) {
      const wrapped = new WebhookError(
        'ERR_LISTENER',
        `A '${name}' listener threw: ${(error as Error)?.message ?? String(error)}`,
        { cause: error },
      );
      notify('error', wrapped);
    }
  };
  return notify;
}
