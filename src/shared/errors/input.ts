import { WebhookError, type WebhookErrorContext } from './base.js';
import type { ErrorCode } from './codes.js';
/** An option passed to `new WebhookSender()` is unknown or has a bad value. */
export class InvalidOptionError extends WebhookError {
  override name = 'InvalidOptionError';
  readonly option: string;
  constructor(option: string, message: string) {
    super('ERR_INVALID_OPTION', message);
    this.option = option;
  }
}

/** An argument of a method is missing, of the wrong type, or out of range. */
export class InvalidArgumentError extends WebhookError {
  override name = 'InvalidArgumentError';
  readonly argument: string;
  constructor(
    argument: string,
    message: string,
    code: ErrorCode = 'ERR_INVALID_ARGUMENT',
    context?: WebhookErrorContext,
  ) {
    super(code, message, context);
    this.argument = argument;
  }
}

/** The payload cannot be turned into JSON, or its JSON is larger than `maxPayloadBytes`. */
export class InvalidPayloadError extends WebhookError {
  override name = 'InvalidPayloadError';
  constructor(
    code: 'ERR_PAYLOAD_NOT_SERIALIZABLE' | 'ERR_PAYLOAD_TOO_LARGE',
    message: string,
    cause?: unknown,
  ) {
    super(code, message, { cause });
  }
}

/** An id (endpoint, event, delivery) does not exist in the database. */
export class NotFoundError extends WebhookError {
  override name = 'NotFoundError';
  constructor(kind: 'endpoint' | 'event' | 'delivery', id: string) {
    super(
      'ERR_NOT_FOUND',
      `No ${kind} with id \`${id}\``,
      kind === 'endpoint' ? { endpointId: id } : kind === 'event' ? { eventId: id } : { deliveryId: id },
    );
  }
}

/** A method was called after `close()`. */
export class SenderClosedError extends WebhookError {
  override name = 'SenderClosedError';
  constructor(method: string) {
    super('ERR_SENDER_CLOSED', `Cannot call \`${method}\` after the sender was closed`);
  }
}
