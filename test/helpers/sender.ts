import { expect } from 'vitest';
import { type SenderOptions, WebhookError, WebhookSender } from '../../src/index.js';
import { cleanupAfterEach } from './cleanups.js';
import { ManualClock } from './clock.js';
import { tempDir } from './tmp.js';
/** Run in reverse order after each test of the file that imports this module. */
export const cleanups = cleanupAfterEach();

export const T0 = Date.parse('2026-01-01T00:00:00.000Z');
export const URL_A = 'https://a.example.com/hook';
export const URL_B = 'https://b.example.com/hook';

/** A sender on `:memory:` that never starts, on a ManualClock at T0; closed after the test. */
export function open(options: SenderOptions = {}): { sender: WebhookSender; clock: ManualClock } {
  const clock = new ManualClock(T0);
  const sender = new WebhookSender({ database: ':memory:', autoStart: false, clock, ...options });
  cleanups.push(() => sender.close());
  return { sender, clock };
}

/** What `fn` throws; fails the test when it does not throw. */
export function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

/** Asserts `fn` throws a WebhookError of class `type` with `code`. */
export function expectCode(fn: () => unknown, type: Function, code: string): WebhookError {
  const error = catchError(fn);
  expect(error).toBeInstanceOf(type);
  expect(error).toBeInstanceOf(WebhookError);
  expect((error as WebhookError).code).toBe(code);
  return error as WebhookError;
}

/** Two senders (never started) on one temporary database file; both closed, and the file removed, after the test. */
export function twoSendersOnOneFile(): { a: WebhookSender; b: WebhookSender } {
  const tmp = tempDir();
  cleanups.push(tmp.cleanup);
  const a = new WebhookSender({ database: tmp.file(), autoStart: false });
  const b = new WebhookSender({ database: tmp.file(), autoStart: false });
  cleanups.push(
    () => a.close(),
    () => b.close(),
  );
  return { a, b };
}
