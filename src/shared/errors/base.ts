import type { ErrorCode } from './codes.js';
/** Context a library error may carry. Never holds secrets. */
export interface WebhookErrorContext {
  endpointId?: string;
  deliveryId?: string;
  eventId?: string;
  cause?: unknown;
}

/**
 * Base class of every error hookline throws or emits. `code` is stable across
 * releases: branch on it, not on the message.
 */
export class WebhookError extends Error {
  override name = 'WebhookError';
  readonly code: ErrorCode;
  declare readonly endpointId?: string;
  declare readonly deliveryId?: string;
  declare readonly eventId?: string;

  constructor(code: ErrorCode, message: string, context: WebhookErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.code = code;
    if (context.endpointId !== undefined) this.endpointId = context.endpointId;
    if (context.deliveryId !== undefined) this.deliveryId = context.deliveryId;
    if (context.eventId !== undefined) this.eventId = context.eventId;
  }

  /** A plain, secret-free view for logs: the cause is reduced to its name, code and message. */
  toJSON(): Record<string, unknown> {
    const json: Record<string, unknown> = { name: this.name, code: this.code, message: this.message };
    if (this.endpointId !== undefined) json.endpointId = this.endpointId;
    if (this.deliveryId !== undefined) json.deliveryId = this.deliveryId;
    if (this.eventId !== undefined) json.eventId = this.eventId;
    if (this.cause instanceof Error) {
      const cause = this.cause as Error & { code?: unknown };
      json.cause = { name: cause.name, code: cause.code, message: cause.message };
    }
    return json;
  }
}
