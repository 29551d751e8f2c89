export { WebhookError, type WebhookErrorContext } from './base.js';
export {
  InvalidArgumentError,
  InvalidOptionError,
  InvalidPayloadError,
  NotFoundError,
  SenderClosedError,
} from './input.js';
export { SchemaVersionError, StoreError } from './store.js';
