import { EventEmitter } from 'node:events';
import { WebhookError } from '../shared/errors/base.js';
import { InvalidArgumentError } from '../shared/errors/input.js';
import { describe } from '../shared/validate.js';
import type { Notify, SenderEvents } from './notices.js';

// A record, not a list: adding an event to SenderEvents does not compile until it is listed here.
const EVENT_NAMES: Record<keyof SenderEvents, true> = {
  attempt: true,
  delivered: true,
  retrying: true,
  failed: true,
  'endpoint.disabled': true,
  'endpoint.circuit': true,
  error: true,
};
const SENDER_EVENTS = new Set<string>(Object.keys(EVENT_NAMES));

type Listener<K extends keyof SenderEvents> = (...args: SenderEvents[K]) => void;

/** A misspelt event name would never fire: refuse it, and a listener that is not a function. */
function checkListener(name: unknown, listener: unknown): string {
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
 * The senders' typed events: validated subscription, and a `notify` for the
 * dispatcher. A listener that throws must not break the dispatcher: its error
 * becomes an 'error' event; an 'error' nobody listens to becomes a process
 * warning. Once `dropErrors()` is true, errors are dropped (the PostgreSQL
 * sender: a background step still in flight when close() ended, a poll say,
 * may find the pool gone, which is not news).
 */
export class SenderBus {
  readonly #emitter = new EventEmitter();

  /** Told after a listener is added or removed (a worker engine sends over only what is heard). */
  listenersChanged: () => void = () => {};

  constructor(private readonly dropErrors: () => boolean = () => false) {}

  on<K extends keyof SenderEvents>(name: K, listener: Listener<K>): void {
    this.#emitter.on(checkListener(name, listener), listener as (...args: unknown[]) => void);
    this.listenersChanged();
  }

  once<K extends keyof SenderEvents>(name: K, listener: Listener<K>): void {
    this.#emitter.once(checkListener(name, listener), listener as (...args: unknown[]) => void);
    this.listenersChanged();
  }

  off<K extends keyof SenderEvents>(name: K, listener: Listener<K>): void {
    this.#emitter.off(checkListener(name, listener), listener as (...args: unknown[]) => void);
    this.listenersChanged();
  }

  /** The events someone listens to now. */
  heard(): (keyof SenderEvents)[] {
    return this.#emitter.eventNames() as (keyof SenderEvents)[];
  }

  /** Whether anyone listens: the dispatcher skips building notices nobody reads. */
  listening = (name: keyof SenderEvents): boolean => this.#emitter.listenerCount(name) > 0;

  notify: Notify = (name, ...args) => {
    const bus = this.#emitter;
    if (name === 'error') {
      if (this.dropErrors()) return;
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
      this.notify('error', wrapped);
    }
  };
}
