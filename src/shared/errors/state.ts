import { WebhookError } from './base.js';
/** `drain()` was called on a sender that was never started (`autoStart: false` and no `start()`). */
export class NotStartedError extends WebhookError {
  override name = 'NotStartedError';
  constructor() {
    super(
      'ERR_NOT_STARTED',
      'The sender is not delivering: call `sender.start()` first (it was created with `autoStart: false`)',
    );
  }
}
